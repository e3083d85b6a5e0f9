"""The ``llm-monitor`` command: demo, report, tail, budget status, config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.cli import main
from llm_monitor_sdk.config import configuration_reference


def test_demo_writes_records_that_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demo" / "records.jsonl"
    assert main(["demo", "--jsonl", str(path)]) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        lm.Record.model_validate(record)
    calls = [r for r in records if r["kind"] == "llm_call"]
    spans = [r for r in records if r["kind"] == "span"]
    installed = {
        name
        for name, module in (("openai", "openai"), ("anthropic", "anthropic"), ("gcp.gemini", "google.genai"))
        if _importable(module)
    }
    assert {c["provider"] for c in calls} == installed
    assert len(spans) == len(installed)
    # Each provider made one deliberate error call; streams have a TTFT; PII in the prompt is masked.
    assert sum(c["status"] == "error" for c in calls) == len(installed)
    assert all(c["ttft_ms"] is not None for c in calls if c["stream"] and c["status"] == "ok")
    assert "jane.doe@example.com" not in path.read_text()
    span_ids = {s["span_id"] for s in spans}
    assert all(c["parent_span_id"] in span_ids for c in calls)
    assert "p50 ms" in out and str(path) in out


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_report_and_tail_read_a_jsonl_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "records.jsonl"
    base = {
        "schema_version": 1,
        "kind": "llm_call",
        "started_at": "2026-11-20T08:00:00.000000Z",
        "provider": "openai",
        "operation": "chat",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini",
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        "cost_usd": 0.001,
    }
    lines = [dict(base, status="ok", latency_ms=float(ms)) for ms in range(1, 101)]
    lines.append(
        dict(
            base,
            status="error",
            latency_ms=5.0,
            error={"type": "openai.RateLimitError", "message": "slow down", "status_code": 429},
        )
    )
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")

    assert main(["report", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    stats = json.loads(captured.out)
    assert "1 not JSON" in captured.err  # the one summary line of what was skipped
    assert stats["calls"] == 101 and stats["by_status"] == {"ok": 100, "error": 1}
    assert stats["errors_by_category"] == {"rate_limit": 1}
    assert stats["latency_ms"]["p50"] == pytest.approx(50, rel=0.02)
    assert stats["latency_ms"]["p99"] == pytest.approx(99, rel=0.02)
    assert stats["tokens"]["input_tokens"] == 1010
    assert stats["cost_usd"] == pytest.approx(0.101)

    assert main(["tail", str(path), "-n", "2"]) == 0
    tail = capsys.readouterr().out.splitlines()
    assert len(tail) == 2 and "openai.RateLimitError" in tail[1]  # the non-JSON last line is skipped
    assert tail[1].startswith("2026-11-20T08:00:00")

    assert main(["report", str(tmp_path / "missing.jsonl")]) == 1


def test_budget_status_shows_spend_from_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from llm_monitor_sdk.budget import build_guard

    store = f"sqlite:///{tmp_path / 'budget.db'}"
    guard = build_guard("user:daily=2", store=store)
    assert guard is not None
    reservation = guard.reserve({"user": "alice", "tenant": None, "feature": None, "model": None}, 0.5)
    guard.settle(reservation, 0.25)
    guard.close()

    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "user:daily=2")
    monkeypatch.setenv("LLM_MONITOR_BUDGET_STORE", store)
    assert main(["budget", "status"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "alice" in line)
    assert "0.250000" in row and "2.000000" in row

    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "user:dayly=2")
    assert main(["budget", "status"]) == 2
    assert "dayly" in capsys.readouterr().err


def test_config_reference_and_bad_values(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["config", "--reference"]) == 0
    assert capsys.readouterr().out.strip() == configuration_reference().strip()
    monkeypatch.setenv("LLM_MONITOR_REDACT_KEY", "super-secret")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "super-secret" not in out and "redact_key = '<set>'" in out
    monkeypatch.setenv("LLM_MONITOR_SAMPLE_RATE", "lots")
    assert main(["config"]) == 2
    assert "LLM_MONITOR_SAMPLE_RATE" in capsys.readouterr().err
