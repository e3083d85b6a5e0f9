"""The ``LLM_MONITOR_ALERTS`` grammar: rules parsed once, with errors that say what is wrong and where.

A rule is ``METRIC OP THRESHOLD over WINDOW [OPTION=VALUE ...]`` and rules are separated by ``;``
(the full grammar, with an example per metric, is in ``docs/alerts.md``)::

    latency_p99_ms>4000 over 5m min_calls=50 owner=search runbook=https://runbooks.example/llm
    error_rate > 0.02 over 5m by=provider
    consecutive_errors>=5 over 10m by=provider name=provider-down severity=critical
    cost_usd.zscore>3 over 1h
    eval.grounding<0.7 over 1h

A malformed rule raises ``ValueError`` naming ``LLM_MONITOR_ALERTS``, the rule, and the position
(1-based, within the rule) and word that is wrong, e.g.
``LLM_MONITOR_ALERTS: rule 'eror_rate>0.02 over 5m': unknown metric 'eror_rate' at position 1
(did you mean 'error_rate'?)``.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .classify import GROUP_FIELDS

#: The environment variable the rules come from (named in every error).
VARIABLE = "LLM_MONITOR_ALERTS"
#: Rate and percentile rules are not judged on fewer calls in the window (``min_calls=``).
DEFAULT_MIN_CALLS = 20
#: A ``.zscore`` rule's baseline, in windows, when ``baseline=`` is not given.
DEFAULT_BASELINE_WINDOWS = 24
#: Fewest baseline windows ``baseline=`` may hold.
MIN_BASELINE_WINDOWS = 3
#: Groups one rule keeps (``max_groups=``): the most recently active ones; the excess is counted.
DEFAULT_MAX_GROUPS = 1000
SEVERITIES = ("info", "warning", "critical")
#: ``by=`` dimensions.
GROUP_BY = tuple(GROUP_FIELDS)
OPTIONS = (
    "by",
    "min_calls",
    "for",
    "cooldown",
    "baseline",
    "severity",
    "name",
    "owner",
    "runbook",
    "max_groups",
)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_METRIC_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/\-]*")
_OP_RE = re.compile(r">=|<=|>|<|==|=|!=")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([smhd])")
_WORD_RE = re.compile(r"\S+")
_OPTION_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_SOURCE_NAME_RE = re.compile(r"[A-Za-z0-9_.:/\-]+")
_URL_RE = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class MetricInfo:
    """What a metric name means: which records it reads and how the window's value is computed.

    ``population`` is ``calls`` (``llm_call`` records that are not judge calls), ``evaluation``,
    ``feedback`` or ``guardrail``; ``source`` is the evaluator, feedback or guardrail name;
    ``measure`` is one of ``percentile``, ``rate``, ``count``, ``per_s``, ``sum``, ``mean``,
    ``streak``; ``field`` is what it measures (``latency``, ``errors``, ``cost``, ``score``, ...);
    ``gated`` says whether ``min_calls`` applies.
    """

    base: str
    population: str
    measure: str
    field: str
    quantile: float | None = None
    source: str | None = None
    gated: bool = False
    unit: str = ""


def _call_metrics() -> dict[str, MetricInfo]:
    metrics: dict[str, MetricInfo] = {}
    for measurement in ("latency", "ttft"):
        for q in (50, 90, 99):
            name = f"{measurement}_p{q}_ms"
            metrics[name] = MetricInfo(
                name, "calls", "percentile", measurement, float(q), gated=True, unit="ms"
            )
    for name, fld in (
        ("error_rate", "errors"),
        ("timeout_rate", "timeouts"),
        ("rate_limit_rate", "rate_limits"),
        ("content_filter_rate", "content_filtered"),
        ("blocked_rate", "blocked"),
    ):
        metrics[name] = MetricInfo(name, "calls", "rate", fld, gated=True)
    metrics["calls"] = MetricInfo("calls", "calls", "count", "calls")
    metrics["calls_per_s"] = MetricInfo("calls_per_s", "calls", "per_s", "calls", unit="/s")
    metrics["cost_usd"] = MetricInfo("cost_usd", "calls", "sum", "cost", unit="USD")
    metrics["cost_per_call_usd"] = MetricInfo(
        "cost_per_call_usd", "calls", "mean", "cost", gated=True, unit="USD"
    )
    for name in ("input_tokens", "output_tokens", "total_tokens"):
        metrics[name] = MetricInfo(name, "calls", "sum", name)
    metrics["consecutive_errors"] = MetricInfo("consecutive_errors", "calls", "streak", "errors")
    return metrics


#: Metrics over calls, by name (``eval.NAME``, ``feedback.NAME`` and ``guardrail.NAME.block_rate``
#: are parsed from their pattern).
CALL_METRICS: dict[str, MetricInfo] = _call_metrics()
#: Every metric name pattern, as the docs and error messages list them.
METRIC_PATTERNS: tuple[str, ...] = (
    *CALL_METRICS,
    "eval.NAME",
    "eval.NAME.fail_rate",
    "feedback.NAME",
    "feedback.NAME.fail_rate",
    "guardrail.NAME.block_rate",
)


def metric_info(metric: str) -> tuple[MetricInfo, bool] | None:
    """``(info, zscore)`` for a metric name as written in a rule, or ``None`` when it is not one."""
    base, zscore = metric, False
    if base.endswith(".zscore"):
        base, zscore = base[: -len(".zscore")], True
    info = CALL_METRICS.get(base)
    if info is not None:
        return info, zscore
    head, _, rest = base.partition(".")
    if head in ("eval", "feedback") and rest:
        population = "evaluation" if head == "eval" else "feedback"
        if rest.endswith(".fail_rate"):
            source, measure, fld = rest[: -len(".fail_rate")], "rate", "fails"
        else:
            source, measure, fld = rest, "mean", "score"
        if source and _SOURCE_NAME_RE.fullmatch(source):
            return MetricInfo(base, population, measure, fld, source=source, gated=True), zscore
        return None
    if head == "guardrail" and rest.endswith(".block_rate"):
        source = rest[: -len(".block_rate")]
        if source and _SOURCE_NAME_RE.fullmatch(source):
            return MetricInfo(base, "guardrail", "rate", "blocked", source=source, gated=True), zscore
    return None


@dataclass(frozen=True)
class AlertRule:
    """One parsed alert rule (build it with :func:`parse_rule` or :func:`parse_rules`).

    Times are in seconds. ``cooldown_s`` defaults to the window; ``baseline_s`` is set for
    ``.zscore`` rules only (default 24 windows); ``name`` defaults to the rule text.
    """

    text: str
    metric: str
    info: MetricInfo
    zscore: bool
    op: str
    threshold: float
    window_s: float
    by: str | None = None
    min_calls: int = DEFAULT_MIN_CALLS
    for_s: float = 0.0
    cooldown_s: float = 0.0
    baseline_s: float | None = None
    severity: str = "warning"
    name: str = ""
    owner: str | None = None
    runbook: str | None = None
    max_groups: int = DEFAULT_MAX_GROUPS
    compare: Callable[[Any, Any], bool] = field(default=operator.gt, repr=False, compare=False)

    @property
    def baseline_windows(self) -> int:
        """How many past windows a ``.zscore`` rule compares with (0 for other rules)."""
        if self.baseline_s is None:
            return 0
        return int(self.baseline_s / self.window_s + 1e-9)

    @property
    def min_baseline_windows(self) -> int:
        """Baseline windows a ``.zscore`` rule needs before it may fire: half its baseline, at least
        five (all of them when the baseline is shorter)."""
        n = self.baseline_windows
        return min(n, max(5, (n + 1) // 2))

    def describe(self) -> str:
        """The rule in canonical form, every option spelled out (``llm-monitor alerts check``)."""
        parts = [
            f"{self.metric} {self.op} {_number_text(self.threshold)} over {format_duration(self.window_s)}"
        ]
        if self.by:
            parts.append(f"by={self.by}")
        if self.info.gated:
            parts.append(f"min_calls={self.min_calls}")
        parts.append(f"for={format_duration(self.for_s)}")
        parts.append(f"cooldown={format_duration(self.cooldown_s)}")
        if self.baseline_s is not None:
            parts.append(f"baseline={format_duration(self.baseline_s)}")
        parts.append(f"severity={self.severity}")
        if self.owner:
            parts.append(f"owner={_quote(self.owner)}")
        if self.runbook:
            parts.append(f"runbook={self.runbook}")
        if self.max_groups != DEFAULT_MAX_GROUPS:
            parts.append(f"max_groups={self.max_groups}")
        parts.append(f"name={_quote(self.name)}")
        return " ".join(parts)


def _quote(text: str) -> str:
    return text if _WORD_RE.fullmatch(text) and '"' not in text and "'" not in text else f'"{text}"'


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def format_duration(seconds: float) -> str:
    """``300.0`` -> ``5m``: the largest of d, h, m, s that divides it, else seconds with a fraction."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{_number_text(float(seconds))}s"


class _Parser:
    """A scanner over one rule's text that reports errors with the position and word."""

    def __init__(self, text: str, variable: str) -> None:
        self.text = text
        self.variable = variable
        self.pos = 0

    def fail(self, message: str, pos: int | None = None, word: str | None = None) -> NoReturn:
        at = self.pos if pos is None else pos
        if word is None:
            found = _WORD_RE.match(self.text, at)
            word = found.group() if found else None
        where = f"at position {at + 1} ({word!r})" if word else "at the end of the rule"
        raise ValueError(f"{self.variable}: rule {self.text!r}: {message} {where}")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
        return found


def _parse_duration(parser: _Parser, text: str, pos: int, what: str, *, allow_zero: bool) -> float:
    if allow_zero and text.strip() == "0":
        return 0.0
    found = _DURATION_RE.fullmatch(text)
    if not found:
        parser.fail(f"{what} must be a duration like 30s, 5m, 1h or 1d", pos, text)
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not math.isfinite(seconds) or (seconds <= 0 and not allow_zero):
        parser.fail(f"{what} must be longer than 0s", pos, text)
    return seconds


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_rule(text: str, variable: str = VARIABLE) -> AlertRule:
    """Parse one rule (no ``;``). Raises ``ValueError`` naming the variable, the rule and what is wrong."""
    text = text.strip()
    parser = _Parser(text, variable)
    if not text:
        parser.fail("empty rule")

    # METRIC
    start = parser.pos
    found = parser.match(_METRIC_RE)
    if not found:
        parser.fail("expected a metric name such as error_rate or latency_p99_ms")
    metric = found.group()
    parsed = metric_info(metric)
    if parsed is None:
        hint = _suggest(metric, [*CALL_METRICS, *(f"{m}.zscore" for m in CALL_METRICS)])
        if not hint and metric.split(".", 1)[0] in ("eval", "feedback", "guardrail"):
            hint = " (expected eval.NAME, eval.NAME.fail_rate, feedback.NAME, feedback.NAME.fail_rate or guardrail.NAME.block_rate)"
        parser.fail(f"unknown metric {metric!r}{hint}", start, metric)
    info, zscore = parsed
    if zscore and info.measure == "streak":
        parser.fail("consecutive_errors has no .zscore form", start, metric)

    # OP
    parser.skip_space()
    op_pos = parser.pos
    found = parser.match(_OP_RE)
    if not found or found.group() not in _OPS:
        parser.fail("expected a comparison: >, >=, < or <=", op_pos)
    op = found.group()

    # THRESHOLD
    parser.skip_space()
    number_pos = parser.pos
    found = parser.match(_NUMBER_RE)
    if not found or (parser.pos < len(text) and not text[parser.pos].isspace()):
        parser.fail("expected a number as the threshold", number_pos)
    threshold = float(found.group())
    if not math.isfinite(threshold):
        parser.fail("the threshold must be a finite number", number_pos)
    if not zscore and info.measure == "rate" and not 0.0 <= threshold <= 1.0:
        parser.fail("a rate is a fraction between 0 and 1 (2% is 0.02)", number_pos)

    # over WINDOW
    parser.skip_space()
    over_pos = parser.pos
    found = parser.match(_WORD_RE)
    if not found or found.group() != "over":
        parser.fail("expected 'over' and a window, e.g. 'over 5m'", over_pos)
    parser.skip_space()
    window_pos = parser.pos
    found = parser.match(_WORD_RE)
    if not found:
        parser.fail("expected a window after 'over', e.g. 'over 5m'", window_pos)
    window_s = _parse_duration(parser, found.group(), window_pos, "the window", allow_zero=False)

    # OPTIONS
    options: dict[str, tuple[str, int]] = {}
    while True:
        parser.skip_space()
        if parser.pos >= len(text):
            break
        option_pos = parser.pos
        found = parser.match(_OPTION_RE)
        if not found:
            parser.fail("expected an option NAME=VALUE", option_pos)
        key = found.group(1)
        if key not in OPTIONS:
            parser.fail(
                f"unknown option {key!r}{_suggest(key, OPTIONS)}; options are {', '.join(OPTIONS)}",
                option_pos,
                key,
            )
        if key in options:
            parser.fail(f"option {key!r} is given twice", option_pos, key)
        value_pos = parser.pos
        if value_pos < len(text) and text[value_pos] in "\"'":
            end = text.find(text[value_pos], value_pos + 1)
            if end < 0:
                parser.fail(f"the quote that opens {key}= is never closed", value_pos)
            value = text[value_pos + 1 : end]
            parser.pos = end + 1
        else:
            found = parser.match(_WORD_RE)
            value = found.group() if found else ""
        if not value.strip():
            parser.fail(f"option {key}= needs a value", option_pos, key + "=")
        options[key] = (value, value_pos)

    def opt_int(key: str, default: int, minimum: int) -> int:
        if key not in options:
            return default
        value, pos = options[key]
        try:
            number = int(value)
        except ValueError:
            parser.fail(f"{key}= must be a whole number", pos, value)
        if number < minimum:
            parser.fail(f"{key}= must be at least {minimum}", pos, value)
        return number

    by = None
    if "by" in options:
        by, pos = options["by"]
        if by not in GROUP_BY:
            parser.fail(f"by= must be one of {'|'.join(GROUP_BY)}{_suggest(by, GROUP_BY)}", pos, by)
    min_calls = opt_int("min_calls", DEFAULT_MIN_CALLS, 1)
    if "min_calls" in options and not info.gated:
        value, pos = options["min_calls"]
        parser.fail(
            f"min_calls= does not apply to {info.base} (only rates, means and percentiles)", pos, value
        )
    max_groups = opt_int("max_groups", DEFAULT_MAX_GROUPS, 1)
    for_s = _parse_duration(parser, *options["for"], "for=", allow_zero=True) if "for" in options else 0.0
    cooldown_s = (
        _parse_duration(parser, *options["cooldown"], "cooldown=", allow_zero=True)
        if "cooldown" in options
        else window_s
    )
    baseline_s = None
    if "baseline" in options:
        value, pos = options["baseline"]
        if not zscore:
            parser.fail("baseline= only applies to .zscore metrics", pos, value)
        baseline_s = _parse_duration(parser, value, pos, "baseline=", allow_zero=False)
        if baseline_s / window_s + 1e-9 < MIN_BASELINE_WINDOWS:
            parser.fail(f"baseline= must hold at least {MIN_BASELINE_WINDOWS} windows", pos, value)
    elif zscore:
        baseline_s = DEFAULT_BASELINE_WINDOWS * window_s
    severity = "warning"
    if "severity" in options:
        severity, pos = options["severity"]
        if severity not in SEVERITIES:
            parser.fail(f"severity= must be one of {'|'.join(SEVERITIES)}", pos, severity)
    runbook = None
    if "runbook" in options:
        runbook, pos = options["runbook"]
        if not _URL_RE.fullmatch(runbook):
            parser.fail("runbook= must be an http:// or https:// URL", pos, runbook)
    owner = options["owner"][0] if "owner" in options else None
    name = options["name"][0] if "name" in options else text
    return AlertRule(
        text=text,
        metric=metric,
        info=info,
        zscore=zscore,
        op=op,
        threshold=threshold,
        window_s=window_s,
        by=by,
        min_calls=min_calls,
        for_s=for_s,
        cooldown_s=cooldown_s,
        baseline_s=baseline_s,
        severity=severity,
        name=name,
        owner=owner,
        runbook=runbook,
        max_groups=max_groups,
        compare=_OPS[op],
    )


def parse_rules(value: Any, variable: str = VARIABLE) -> list[AlertRule]:
    """Rules from ``LLM_MONITOR_ALERTS`` text (``;``-separated), a list of rule strings, or parsed rules.

    ``None`` and blank text give no rules. Raises ``ValueError`` for a malformed rule, and for two
    rules with the same name (each firing is identified by its rule's name and group).
    """
    if value is None:
        return []
    items: list[Any]
    if isinstance(value, str):
        items = value.split(";")
    elif isinstance(value, AlertRule):
        items = [value]
    elif isinstance(value, Iterable):
        items = []
        for item in value:
            items.extend(item.split(";") if isinstance(item, str) else [item])
    else:
        raise ValueError(f"{variable}: expected rule text or a list of rules, got {type(value).__name__}")
    rules: list[AlertRule] = []
    names: dict[str, str] = {}
    for item in items:
        if isinstance(item, AlertRule):
            rule = item
        elif isinstance(item, str):
            if not item.strip():
                continue
            rule = parse_rule(item, variable)
        else:
            raise ValueError(f"{variable}: {item!r} is neither rule text nor an AlertRule")
        if rule.name in names:
            raise ValueError(
                f"{variable}: rule {rule.text!r}: two rules are named {rule.name!r} "
                f"(the other is {names[rule.name]!r}); give one of them name=..."
            )
        names[rule.name] = rule.text
        rules.append(rule)
    return rules


__all__ = [
    "CALL_METRICS",
    "DEFAULT_BASELINE_WINDOWS",
    "DEFAULT_MAX_GROUPS",
    "DEFAULT_MIN_CALLS",
    "GROUP_BY",
    "METRIC_PATTERNS",
    "OPTIONS",
    "SEVERITIES",
    "VARIABLE",
    "AlertRule",
    "MetricInfo",
    "format_duration",
    "metric_info",
    "parse_rule",
    "parse_rules",
]
