"""The rules as Prometheus alerting rules: names as the Collector exports them, ``promtool check rules``
and ``promtool test rules`` on synthetic series (the real promtool, Debian package ``prometheus``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from llm_monitor_sdk.cli import main
from llm_monitor_sdk.exporters._otel_mapping import DURATION_BUCKETS
from llm_monitor_sdk.monitoring.prometheus import (
    PROMETHEUS_NAMES,
    alert_name,
    label_name,
    prometheus_name,
    prometheus_rules,
    promql_duration,
)
from llm_monitor_sdk.monitoring.rules import CALL_METRICS, parse_rule, parse_rules


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: CI installs it with `apt-get install -y prometheus`")
        pytest.skip("promtool not installed (apt-get install -y prometheus); required in CI")
    return found


def test_names_follow_the_collectors_prometheus_translation() -> None:
    assert PROMETHEUS_NAMES == {
        "gen_ai.client.operation.duration": "gen_ai_client_operation_duration_seconds",
        "gen_ai.client.token.usage": "gen_ai_client_token_usage",
        "gen_ai.client.operation.time_to_first_chunk": "gen_ai_client_operation_time_to_first_chunk_seconds",
        "llm_monitor.client.cost": "llm_monitor_client_cost_USD_total",
        "llm_monitor.client.calls": "llm_monitor_client_calls_total",
        "llm_monitor.evaluation.score": "llm_monitor_evaluation_score",
        "llm_monitor.evaluations": "llm_monitor_evaluations_total",
        "llm_monitor.feedback.score": "llm_monitor_feedback_score",
        "llm_monitor.feedback": "llm_monitor_feedback_total",
        "llm_monitor.guardrail.checks": "llm_monitor_guardrail_checks_total",
    }
    # The translation rules themselves (OpenTelemetry -> Prometheus compatibility spec).
    assert (
        prometheus_name("http.server.request.duration", "s", "histogram")
        == "http_server_request_duration_seconds"
    )
    assert prometheus_name("requests.total", "1", "counter") == "requests_total"
    assert prometheus_name("cpu.utilization", "1", "gauge") == "cpu_utilization_ratio"
    assert prometheus_name("net.io", "By/s", "gauge") == "net_io_bytes_per_second"
    assert prometheus_name("queue.size", "{item}", "gauge") == "queue_size"
    assert (
        label_name("gen_ai.provider.name") == "gen_ai_provider_name"
        and label_name("error.category") == "error_category"
    )
    assert [promql_duration(s) for s in (30, 300, 3600, 86400, 90, 0.5)] == [
        "30s",
        "5m",
        "1h",
        "1d",
        "90s",
        "500ms",
    ]


def test_alert_names_and_labels() -> None:
    rules = parse_rules(
        "error_rate>0.02 over 5m by=provider; error_rate>0.05 over 1h by=provider;"
        " consecutive_errors>=5 over 10m name=provider-down severity=critical owner=sre for=2m"
        " runbook=https://runbooks.example/down; error_rate>0.1 over 5m by=user"
    )
    doc, skipped = prometheus_rules(rules)
    exported = doc["groups"][0]["rules"]
    assert [r["alert"] for r in exported] == [
        "llm_monitor_error_rate_by_provider",
        "llm_monitor_error_rate_by_provider_2",
        "provider_down",
    ]
    down = exported[2]
    assert down["for"] == "2m" and down["labels"] == {"severity": "critical", "owner": "sre"}
    assert down["annotations"]["runbook_url"] == "https://runbooks.example/down"
    assert [(r.text, reason.split(":")[0]) for r, reason in skipped] == [
        ("error_rate>0.1 over 5m by=user", "by=user is not exported")
    ]
    assert alert_name(parse_rule("calls>1 over 1m name=9lives")) == "_9lives"


def every_metric_rules() -> str:
    rules = []
    for i, metric in enumerate(CALL_METRICS):
        threshold = "0.05" if metric.endswith("_rate") else "100"
        rules.append(
            f"{metric}>{threshold} over 5m name=r{i} owner=team-{i % 3} runbook=https://rb.example/{i}"
        )
        if metric != "consecutive_errors":
            rules.append(f"{metric}.zscore>3 over 1h baseline=12h name=z{i} for=5m")
    by = ("provider", "model", "feature", "tenant", "prompt_name", "variant")
    rules += [f"error_rate>0.02 over 5m by={b} name=by_{b} severity=critical" for b in by]
    rules += [
        "eval.grounding<0.7 over 1h",
        "eval.json_valid.fail_rate>0.1 over 1h by=feature",
        "feedback.user_rating<0.5 over 1d",
        "feedback.user_rating.fail_rate>0.3 over 1d",
        "guardrail.pii.block_rate>0.05 over 1h",
        "eval.grounding.zscore<-3 over 1h",
    ]
    return "; ".join(rules)


def test_promtool_accepts_every_metric_and_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = promtool()
    output = tmp_path / "rules.yml"
    text = every_metric_rules()
    assert main(["alerts", "prometheus-rules", "--rules", text, "--output", str(output)]) == 0
    result = subprocess.run([tool, "check", "rules", str(output)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(parse_rules(text))} rules found" in result.stdout


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _latency_series(provider: str, slow: bool) -> list[dict[str, str]]:
    # Per minute: 100 calls; slow: 90 under 1.28 s, 97 under 5.12 s, all under 10.24 s
    # (p99 interpolates to ~8.5 s); fast: all under 0.64 s.
    name = PROMETHEUS_NAMES["gen_ai.client.operation.duration"]
    labels = {"gen_ai_provider_name": provider, "gen_ai_operation_name": "chat"}
    out = []
    for bound in (*DURATION_BUCKETS, "+Inf"):
        if slow:
            per_minute = (
                100
                if bound == "+Inf" or float(bound) >= 10.24
                else 97
                if float(bound) >= 5.12
                else 90
                if float(bound) >= 1.28
                else 0
            )
        else:
            per_minute = 100 if bound == "+Inf" or float(bound) >= 0.64 else 0
        out.append(_series(f"{name}_bucket", {**labels, "le": str(bound)}, f"0+{per_minute}x20"))
    out.append(_series(f"{name}_count", labels, "0+100x20"))
    out.append(_series(f"{name}_sum", labels, f"0+{300 if slow else 30}x20"))
    return out


def _calls(provider: str, status: str, values: str, category: str | None = None) -> dict[str, str]:
    labels = {"llm_monitor_status": status, "gen_ai_provider_name": provider, "gen_ai_operation_name": "chat"}
    if category:
        labels["error_category"] = category
    return _series(PROMETHEUS_NAMES["llm_monitor.client.calls"], labels, values)


RULES = (
    "error_rate>0.02 over 5m by=provider owner=llm-team runbook=https://runbooks.example/errors; "
    "latency_p99_ms>4000 over 5m min_calls=50 name=latency-sla severity=critical; "
    "consecutive_errors>=5 over 10m by=provider name=provider-down severity=critical"
)


def _expected(alertname: str, labels: dict[str, str], summary: str) -> dict[str, Any]:
    found = {alert_name(r): r for r in parse_rules(RULES)}[alertname]
    annotations = {"summary": summary, "description": f"llm-monitor rule: {found.text}"}
    if found.runbook:
        annotations["runbook_url"] = found.runbook
    return {"exp_labels": labels, "exp_annotations": annotations}


def test_promtool_unit_tests_prove_the_error_rate_latency_and_downtime_rules_fire(tmp_path: Path) -> None:
    tool = promtool()
    rules_file = tmp_path / "rules.yml"
    assert main(["alerts", "prometheus-rules", "--rules", RULES, "--output", str(rules_file)]) == 0
    errors = "llm_monitor_error_rate_by_provider"
    failing = {
        "interval": "1m",
        "input_series": [
            _calls("openai", "ok", "0+100x20"),
            _calls("openai", "error", "0+10x20", "server"),  # 10 / 110 = 9 % errors
            _calls("anthropic", "ok", "0+100x20"),
            _calls("anthropic", "error", "0+1x20", "server"),  # 1 %: below the 2 % threshold
            *_latency_series("openai", slow=True),
        ],
        "alert_rule_test": [
            {
                "eval_time": "10m",
                "alertname": errors,
                "exp_alerts": [
                    _expected(
                        errors,
                        {"severity": "warning", "owner": "llm-team", "gen_ai_provider_name": "openai"},
                        "openai: error_rate is 90.91m (> 0.02 over 5m)",
                    )
                ],
            },
            {
                "eval_time": "10m",
                "alertname": "latency_sla",
                "exp_alerts": [
                    _expected(
                        "latency_sla", {"severity": "critical"}, "latency_p99_ms is 8.533k (> 4000 over 5m)"
                    )
                ],
            },
            {"eval_time": "10m", "alertname": "provider_down", "exp_alerts": []},  # calls still succeed
        ],
    }
    healthy = {
        "interval": "1m",
        "input_series": [
            _calls("openai", "ok", "0+100x20"),
            _calls("openai", "error", "0+1x20", "server"),
            *_latency_series("openai", slow=False),
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": errors, "exp_alerts": []},
            {"eval_time": "10m", "alertname": "latency_sla", "exp_alerts": []},
            {"eval_time": "10m", "alertname": "provider_down", "exp_alerts": []},
        ],
    }
    down = {
        "interval": "1m",
        "input_series": [
            _calls("openai", "ok", "0+100x5 500+0x15"),  # no successful call after minute 5
            _calls("openai", "error", "0+0x5 0+3x15", "connection"),
            _calls("anthropic", "ok", "0+100x20"),
        ],
        "alert_rule_test": [
            {"eval_time": "4m", "alertname": "provider_down", "exp_alerts": []},
            {
                "eval_time": "17m",
                "alertname": "provider_down",
                "exp_alerts": [
                    _expected(
                        "provider_down",
                        {"severity": "critical", "gen_ai_provider_name": "openai"},
                        "openai: consecutive_errors is 30 (>= 5 over 10m)",
                    )
                ],
            },
        ],
    }
    tests_file = tmp_path / "rules_test.yml"
    tests_file.write_text(
        json.dumps(
            {"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": [failing, healthy, down]}
        )
    )
    result = subprocess.run(
        [tool, "test", "rules", tests_file.name], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_what_it_should(tmp_path: Path) -> None:
    # The check is real: a broken expression in the same file shape fails it.
    tool = promtool()
    doc, _ = prometheus_rules(parse_rules("error_rate>0.02 over 5m"))
    doc["groups"][0]["rules"][0]["expr"] += " and ("
    path = tmp_path / "broken.yml"
    path.write_text(json.dumps(doc))
    result = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
