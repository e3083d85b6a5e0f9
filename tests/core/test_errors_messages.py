"""Errors and log lines a user can act on (issue 14.5)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.cli import main
from llm_monitor_sdk.pipeline import Pipeline

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LLM_MONITOR_")}
    clean.update(env, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=clean, check=False
    )


# -- configuration ---------------------------------------------------------------------------------
def test_empty_exporters_variable_raises_naming_it(tmp_path: Path) -> None:
    out = _python(
        "import llm_monitor_sdk as lm\nlm.instrument()",
        LLM_MONITOR_EXPORTERS="",
        LLM_MONITOR_JSONL_PATH=str(tmp_path / "r.jsonl"),
    )
    assert out.returncode == 1
    assert "ValueError: LLM_MONITOR_EXPORTERS=''" in out.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_misspelt_variable_warns_once_with_the_closest_name(tmp_path: Path) -> None:
    out = _python(
        "import llm_monitor_sdk as lm\nlm.instrument(exporters='none')\nlm.instrument(exporters='none')",
        LLM_MONITOR_SAMPLE_RAT="0.5",
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "LLM_MONITOR_SAMPLE_RAT" in line]
    assert len(lines) == 1
    assert "did you mean LLM_MONITOR_SAMPLE_RATE?" in lines[0]


# -- instrument() says what it did -----------------------------------------------------------------
def test_instrument_logs_one_info_line_with_providers_and_destinations(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "calls.jsonl"
    http = lm.exporters.HTTPExporter("https://user:secret@collector.example/ingest?token=abc")
    with caplog.at_level(logging.INFO, logger="llm_monitor_sdk"):
        lm.instrument(providers=["openai"], exporters=[lm.exporters.JSONLExporter(path), http], redact=False)
    lm.uninstrument()
    lines = [r for r in caplog.records if r.levelno == logging.INFO and "patched" in r.getMessage()]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert "patched openai clients" in message
    assert f"jsonl {path}" in message
    assert "http https://user:***@collector.example/ingest?token=***" in message
    assert "secret" not in message and "abc" not in message
    assert "redaction off" in message


def test_instrument_info_line_when_nothing_is_exported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="llm_monitor_sdk"):
        lm.instrument(providers=[], exporters="none")
    lm.uninstrument()
    (line,) = [r.getMessage() for r in caplog.records if "patched" in r.getMessage()]
    assert "patched no provider" in line and "records go to nowhere" in line


# -- budget status blames what the user typed ------------------------------------------------------
def test_budget_status_with_rules_flag_and_no_rows_does_not_ask_for_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_BUDGET_STORE", f"sqlite:///{tmp_path}/b.db")
    assert main(["budget", "status", "--rules", "user:daily=2"]) == 0
    out = capsys.readouterr()
    assert "--rules" in out.out
    assert "LLM_MONITOR_BUDGETS" not in out.out + out.err


@pytest.mark.parametrize("rules", ["", "   "])
def test_budget_status_with_an_empty_rules_flag_names_the_flag(
    rules: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "global:daily=5")
    assert main(["budget", "status", "--rules", rules]) == 2
    err = capsys.readouterr().err
    assert "--rules" in err
    assert "LLM_MONITOR_BUDGETS" not in err


def test_budget_status_without_rules_still_names_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["budget", "status"]) == 1
    assert "LLM_MONITOR_BUDGETS" in capsys.readouterr().err


def test_missing_redis_extra_names_the_variable_once(tmp_path: Path) -> None:
    out = _python(
        "import sys\nsys.modules['redis'] = None\nimport llm_monitor_sdk as lm\n"
        "lm.instrument(exporters='none')",
        LLM_MONITOR_BUDGETS="global:daily=1",
        LLM_MONITOR_BUDGET_STORE="redis://127.0.0.1:6379/0",
    )
    assert out.returncode == 1
    (line,) = [line for line in out.stderr.splitlines() if line.startswith("ValueError")]
    assert line.count("LLM_MONITOR_BUDGET_STORE") == 1
    assert line.count("redis://127.0.0.1:6379/0") == 1
    assert "pip install" in line


# -- queue-full drops are logged, not only counted ----------------------------------------------------
class _GatedExporter:
    name = "gated"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.records: list[dict[str, Any]] = []

    def export(self, records: Sequence[dict[str, Any]]) -> None:
        self.entered.set()
        assert self.gate.wait(30)
        self.records.extend(records)

    def shutdown(self) -> None:
        self.gate.set()


def _drop_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if "drop" in r.getMessage() and r.levelno == logging.WARNING
    ]


def _wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.mark.loose_records
def test_queue_full_drops_are_logged_once_per_burst_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    exporter = _GatedExporter()
    pipeline = Pipeline(
        [exporter], lambda items: list(items), queue_size=5, batch_size=1, flush_interval=0.01
    )
    pipeline.drop_quiet_s = 0.05
    try:
        with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
            assert pipeline.submit({"n": -1})
            assert exporter.entered.wait(10)  # the worker is stuck in the exporter
            accepted = sum(pipeline.submit({"n": n}) for n in range(50))
            assert accepted == 5
            # Logged from a short-lived thread (never the caller's), while the worker is still stuck.
            assert _wait_for(lambda: len(_drop_lines(caplog)) >= 1)
            time.sleep(0.1)
            lines = _drop_lines(caplog)
            assert len(lines) == 1, lines  # one WARNING at the start of the burst, not 45
            assert all(
                r.threadName == "llm-monitor-notice" for r in caplog.records if "dropping" in r.getMessage()
            )
            assert "export queue is full (5 items)" in lines[0] and "LLM_MONITOR_QUEUE_SIZE" in lines[0]
            exporter.gate.set()
            assert _wait_for(lambda: len(_drop_lines(caplog)) == 2)
            summary = _drop_lines(caplog)[1]
            assert "dropped 45 record(s)" in summary

            # A second burst gets its own warning and its own count.
            exporter.gate.clear()
            exporter.entered.clear()
            assert pipeline.submit({"n": -2})
            assert _wait_for(exporter.entered.is_set)
            sum(pipeline.submit({"n": n}) for n in range(20))
            exporter.gate.set()
            assert _wait_for(lambda: len(_drop_lines(caplog)) == 4)
            assert "dropped 15 record(s)" in _drop_lines(caplog)[3]
            assert "(60 dropped since start)" in _drop_lines(caplog)[3]
    finally:
        exporter.gate.set()
        pipeline.shutdown(5)
    assert pipeline.dropped == 60


def test_instrument_says_when_it_is_disabled(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LLM_MONITOR_DISABLED", "true")
    with caplog.at_level(logging.INFO, logger="llm_monitor_sdk"):
        lm.instrument()
    lm.uninstrument()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == ["llm_monitor_sdk: disabled (LLM_MONITOR_DISABLED); nothing patched, nothing recorded"]


@pytest.mark.loose_records
def test_a_drop_from_a_finalizer_is_announced_by_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    exporter = _GatedExporter()
    pipeline = Pipeline(
        [exporter], lambda items: list(items), queue_size=2, batch_size=1, flush_interval=0.01
    )
    pipeline.drop_quiet_s = 0.05
    try:
        with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
            assert pipeline.submit({"n": 0})
            assert exporter.entered.wait(10)
            assert pipeline.submit({"n": 1}) and pipeline.submit({"n": 2})
            # notify=False is how garbage-collection finalizers submit: no logging on that thread.
            assert not pipeline.submit({"n": 3}, notify=False)
            assert _drop_lines(caplog) == []
            exporter.gate.set()
            assert _wait_for(lambda: len(_drop_lines(caplog)) == 2)
            first, summary = _drop_lines(caplog)
            assert "export queue is full (2 items)" in first
            assert "dropped 1 record(s)" in summary
    finally:
        exporter.gate.set()
        pipeline.shutdown(5)


class _Refusing:
    """An exporter whose endpoint refuses every batch (``DeliveryError``) or that has a bug."""

    def __init__(self, exc: Exception) -> None:
        self.name = "refusing"
        self.exc = exc

    def export(self, records: Any) -> None:
        raise self.exc

    def shutdown(self) -> None:
        pass


@pytest.mark.internal_errors_expected
@pytest.mark.loose_records
@pytest.mark.parametrize("bug", [False, True], ids=["endpoint-refused", "exporter-bug"])
def test_a_refused_export_is_logged_once_without_a_traceback(
    caplog: pytest.LogCaptureFixture, bug: bool
) -> None:
    exc: Exception = (
        RuntimeError("bug in the exporter") if bug else lm.exporters.DeliveryError("endpoint said 503")
    )
    pipeline = Pipeline([_Refusing(exc)], lambda items: list(items), batch_size=1, flush_interval=0.01)
    try:
        with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
            for n in range(3):
                pipeline.submit({"n": n})
            assert not pipeline.flush(5)  # nothing was delivered
    finally:
        pipeline.shutdown(5)
    logged = [r for r in caplog.records if "exporter.refusing" in r.getMessage()]
    assert len(logged) == 1  # once per kind, not per batch
    assert pipeline.counters["refusing"].failed == 3
    # The endpoint's condition is not an SDK fault: no traceback; a real bug keeps its traceback.
    assert (logged[0].exc_info is not None) is bug
