"""``llm-monitor alerts check`` and ``llm-monitor alerts prometheus-rules``."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_monitor_sdk.cli import COMMAND_MODULES, main


def test_alerts_is_a_command_group() -> None:
    assert "alerts" in COMMAND_MODULES


def test_check_prints_every_rule_with_its_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_ALERTS", "error_rate>0.02 over 5m by=provider; calls<1 over 1h by=user")
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "error_rate > 0.02 over 5m by=provider min_calls=20 for=0s cooldown=5m severity=warning" in out
    assert "note: not exported to Prometheus: by=user" in out
    assert "2 rules OK" in out


def test_check_reports_a_malformed_rule_with_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "LLM_MONITOR_ALERTS", "error_rate>0.02 over 5m; latency_p99_ms>4000 over 5m min_call=50"
    )
    assert main(["alerts", "check"]) == 2
    err = capsys.readouterr().err
    assert "LLM_MONITOR_ALERTS: rule 'latency_p99_ms>4000 over 5m min_call=50'" in err
    assert "unknown option 'min_call'" in err and "did you mean 'min_calls'" in err and "position 29" in err


def test_no_rules_is_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "check"]) == 1
    assert "no alert rules" in capsys.readouterr().err
    assert main(["alerts", "prometheus-rules"]) == 1


def test_prometheus_rules_to_stdout_and_to_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "LLM_MONITOR_ALERTS", "error_rate>0.02 over 5m by=provider owner=sre; calls>1 over 1h by=user"
    )
    assert main(["alerts", "prometheus-rules", "--group", "checkout"]) == 0
    captured = capsys.readouterr()
    assert (
        'name: "checkout"' in captured.out and 'alert: "llm_monitor_error_rate_by_provider"' in captured.out
    )
    assert 'owner: "sre"' in captured.out
    assert "# skipped 'calls>1 over 1h by=user'" in captured.out
    assert "skipped 'calls>1 over 1h by=user'" in captured.err
    target = tmp_path / "out" / "llm.rules.yml"
    assert main(["alerts", "prometheus-rules", "--group", "checkout", "-o", str(target)]) == 0
    assert target.read_text() == captured.out
