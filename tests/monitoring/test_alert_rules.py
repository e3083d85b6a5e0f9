"""The LLM_MONITOR_ALERTS grammar: every metric and option parses; malformed rules say what and where."""

from __future__ import annotations

import re

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.config import load_settings
from llm_monitor_sdk.monitoring import build_processors
from llm_monitor_sdk.monitoring.rules import (
    CALL_METRICS,
    DEFAULT_MIN_CALLS,
    AlertRule,
    format_duration,
    parse_rule,
    parse_rules,
)

CONTRACT_EXAMPLE = (
    "latency_p99_ms>4000 over 5m min_calls=50 owner=search runbook=https://runbooks.example/llm-latency; "
    "error_rate>0.02 over 5m by=provider; "
    "consecutive_errors>=5 over 10m by=provider name=provider-down severity=critical; "
    "cost_usd.zscore>3 over 1h; eval.grounding<0.7 over 1h"
)


def test_the_contract_example_parses() -> None:
    latency, errors, down, cost, grounding = parse_rules(CONTRACT_EXAMPLE)
    assert (latency.metric, latency.op, latency.threshold, latency.window_s) == (
        "latency_p99_ms",
        ">",
        4000,
        300,
    )
    assert latency.min_calls == 50 and latency.owner == "search"
    assert latency.runbook == "https://runbooks.example/llm-latency"
    assert errors.by == "provider" and errors.min_calls == DEFAULT_MIN_CALLS
    assert errors.cooldown_s == 300 and errors.for_s == 0 and errors.severity == "warning"
    assert errors.name == "error_rate>0.02 over 5m by=provider"  # default: the rule text
    assert (down.name, down.severity, down.op, down.window_s) == ("provider-down", "critical", ">=", 600)
    assert cost.zscore and cost.info.base == "cost_usd" and cost.baseline_s == 24 * 3600
    assert cost.baseline_windows == 24 and cost.min_baseline_windows == 12
    assert grounding.info.population == "evaluation" and grounding.info.source == "grounding"


@pytest.mark.parametrize("metric", [*CALL_METRICS])
def test_every_call_metric_and_its_zscore_parse(metric: str) -> None:
    threshold = "0.5" if metric.endswith("_rate") else "10"
    rule = parse_rule(f"{metric} >= {threshold} over 90s")
    assert rule.metric == metric and rule.window_s == 90
    if metric != "consecutive_errors":
        z = parse_rule(f"{metric}.zscore>3 over 1m baseline=30m")
        assert z.zscore and z.baseline_windows == 30


@pytest.mark.parametrize(
    ("metric", "population", "source", "measure"),
    [
        ("eval.grounding", "evaluation", "grounding", "mean"),
        ("eval.json_valid.fail_rate", "evaluation", "json_valid", "rate"),
        ("eval.my.dotted-name", "evaluation", "my.dotted-name", "mean"),
        ("feedback.user_rating", "feedback", "user_rating", "mean"),
        ("feedback.thumbs.fail_rate", "feedback", "thumbs", "rate"),
        ("guardrail.pii.block_rate", "guardrail", "pii", "rate"),
    ],
)
def test_source_metrics(metric: str, population: str, source: str, measure: str) -> None:
    rule = parse_rule(f"{metric}<0.5 over 1h")
    assert (rule.info.population, rule.info.source, rule.info.measure) == (population, source, measure)
    assert parse_rule(f"{metric}.zscore<-3 over 1h").zscore


def test_every_option() -> None:
    rule = parse_rule(
        "error_rate >= 0.01 over 2h by=tenant min_calls=100 for=5m cooldown=1h severity=info "
        "name=\"tenant errors\" owner='billing team' runbook=https://wiki.example/r?id=1 max_groups=50"
    )
    assert rule.by == "tenant" and rule.min_calls == 100 and rule.for_s == 300 and rule.cooldown_s == 3600
    assert rule.severity == "info" and rule.name == "tenant errors" and rule.owner == "billing team"
    assert rule.runbook == "https://wiki.example/r?id=1" and rule.max_groups == 50
    assert 'name="tenant errors"' in rule.describe()
    for by in ("provider", "model", "feature", "tenant", "user", "prompt_name", "variant"):
        assert parse_rule(f"calls>1 over 1d by={by}").by == by
    assert parse_rule("calls>1 over 1.5m").window_s == 90
    assert parse_rule("error_rate>0.1 over 10s for=0").for_s == 0


def test_rules_from_a_list_and_objects() -> None:
    rules = parse_rules(
        ["calls>1 over 1m", "calls>2 over 1m; calls>3 over 1m", parse_rule("calls>4 over 1m")]
    )
    assert [r.threshold for r in rules] == [1, 2, 3, 4]
    assert parse_rules(None) == [] and parse_rules(" ; ") == []
    assert isinstance(rules[0], AlertRule)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (30, 300, 5400, 7200, 86400, 1.5)] == [
        "30s",
        "5m",
        "90m",
        "2h",
        "1d",
        "1.5s",
    ]


# (rule, the word or position the error must point at, and a phrase it must contain)
MALFORMED = [
    ("eror_rate>0.02 over 5m", "position 1 ('eror_rate')", "did you mean 'error_rate'"),
    ("error_rate>>0.02 over 5m", "position 12 ('>0.02')", "expected a number"),
    ("error_rate=0.02 over 5m", "position 11", "expected a comparison"),
    ("error_rate 0.02 over 5m", "position 12", "expected a comparison"),
    ("error_rate>abc over 5m", "('abc')", "expected a number"),
    ("error_rate>2 over 5m", "('2')", "fraction between 0 and 1"),
    ("error_rate>0.02 in 5m", "('in')", "expected 'over'"),
    ("error_rate>0.02 over", "at the end of the rule", "expected a window"),
    ("error_rate>0.02 over 5 minutes", "('5')", "duration like 30s"),
    ("error_rate>0.02 over 0s", "('0s')", "longer than 0s"),
    ("error_rate>0.02 over 5m by=country", "('country')", "by= must be one of"),
    ("error_rate>0.02 over 5m bye=provider", "('bye')", "did you mean 'by'"),
    ("error_rate>0.02 over 5m min_calls=many", "('many')", "whole number"),
    ("error_rate>0.02 over 5m min_calls=0", "('0')", "at least 1"),
    ("error_rate>0.02 over 5m for=soon", "('soon')", "duration"),
    ("error_rate>0.02 over 5m cooldown=-1m", "('-1m')", "duration"),
    ("error_rate>0.02 over 5m severity=urgent", "('urgent')", "severity= must be one of"),
    ("error_rate>0.02 over 5m runbook=wiki/page", "('wiki/page')", "http"),
    ("error_rate>0.02 over 5m baseline=1d", "('1d')", "only applies to .zscore"),
    ("cost_usd.zscore>3 over 1h baseline=2h", "('2h')", "at least 3 windows"),
    ("consecutive_errors.zscore>3 over 1h", "('consecutive_errors.zscore')", "no .zscore"),
    ("calls>10 over 5m min_calls=5", "('5')", "does not apply to calls"),
    ("error_rate>0.02 over 5m by=provider by=model", "('by')", "given twice"),
    ('error_rate>0.02 over 5m name="unclosed', "('\"unclosed')", "never closed"),
    ("error_rate>0.02 over 5m owner=", "('owner=')", "needs a value"),
    ("error_rate>0.02 over 5m provider", "('provider')", "NAME=VALUE"),
    ("eval.>0.5 over 1h", "('eval.')", "eval.NAME"),
    ("guardrail.pii>0.5 over 1h", "('guardrail.pii')", "guardrail.NAME.block_rate"),
    (">0.5 over 1h", "position 1", "expected a metric"),
]


@pytest.mark.parametrize(("rule", "where", "phrase"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_rule_names_the_variable_the_rule_and_what_is_wrong(
    rule: str, where: str, phrase: str
) -> None:
    text = f"calls>1 over 1m; {rule}"
    with pytest.raises(ValueError) as info:
        parse_rules(text)
    message = str(info.value)
    assert message.startswith("LLM_MONITOR_ALERTS: ")
    assert repr(rule) in message  # the rule itself, not the whole variable
    assert where in message, message
    assert phrase in message, message


def test_two_rules_with_one_name_are_rejected() -> None:
    with pytest.raises(ValueError, match="two rules are named 'x'"):
        parse_rules("calls>1 over 1m name=x; calls>2 over 1m name=x")


def test_instrument_rejects_a_malformed_rule_and_switches_nothing_on() -> None:
    with pytest.raises(ValueError) as info:
        lm.instrument(
            providers=[], processors=build_processors(load_settings(alerts="error_rate>0.02 over 5 m"))
        )
    assert "LLM_MONITOR_ALERTS" in str(info.value) and "'error_rate>0.02 over 5 m'" in str(info.value)
    assert lm.get_monitor() is None


def test_the_environment_variable_is_what_build_processors_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MONITOR_ALERTS", "calls>1 over 1m; error_rate>0.5 over 1m")
    processors = build_processors(load_settings())
    assert [p.name for p in processors] == ["prompt_changes", "alerts"]
    assert len(processors[1].rules) == 2
    monkeypatch.setenv("LLM_MONITOR_ALERTS", "calls>1 over 1m; error_rate>0.5 ovr 1m")
    with pytest.raises(ValueError, match=re.escape("LLM_MONITOR_ALERTS: rule 'error_rate>0.5 ovr 1m'")):
        build_processors(load_settings())
