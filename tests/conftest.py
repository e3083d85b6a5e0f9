"""Shared fixtures: an instrumented monitor writing to memory, and the no-swallowed-errors check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import _guard

pytest_plugins = ["llm_monitor_sdk.testing.pytest_plugin"]


@pytest.fixture(autouse=True)
def _no_internal_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose SDK code swallowed an internal error (unless it expects some)."""
    _guard.reset_internal_errors()
    yield
    if request.node.get_closest_marker("internal_errors_expected") is None:
        assert _guard.internal_error_counts() == {}, "the SDK swallowed internal errors"


@pytest.fixture(autouse=True)
def _strict_records(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every record any exporter receives must match its kind's shape, unknown keys forbidden, so a
    misspelled or undeclared field fails the test that produced it (``loose_records`` opts out)."""
    if request.node.get_closest_marker("loose_records") is not None:
        yield
        return
    from llm_monitor_sdk._record_models import validate_strict
    from llm_monitor_sdk.pipeline import Pipeline

    problems: list[str] = []
    deliver = Pipeline._deliver

    def checked(self: Pipeline, batch: Any) -> None:
        for record in batch:
            try:
                validate_strict(record)
            except Exception as exc:  # collected, reported at teardown
                problems.append(f"{record.get('kind')!r} record: {exc}")
        deliver(self, batch)

    monkeypatch.setattr(Pipeline, "_deliver", checked)
    yield
    assert not problems, "exported records that do not match record.py:\n" + "\n".join(problems[:5])


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """No test inherits LLM_MONITOR_* from the shell; the default JSONL path lands in tmp."""
    import os

    for name in list(os.environ):
        if name.startswith("LLM_MONITOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LLM_MONITOR_JSONL_PATH", str(tmp_path / "records.jsonl"))
    yield
    lm.uninstrument()


@pytest.fixture
def memory_exporter() -> lm.exporters.InMemoryExporter:
    """A fresh in-memory exporter."""
    return lm.exporters.InMemoryExporter()


@pytest.fixture
def monitor(memory_exporter: lm.exporters.InMemoryExporter) -> Iterator[lm.exporters.InMemoryExporter]:
    """Instrument every installed provider, exporting to memory with redaction off; yields the exporter."""
    lm.instrument(exporters=[memory_exporter], redact=False, flush_interval=0.05)
    yield memory_exporter
    lm.uninstrument()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "internal_errors_expected: the test provokes swallowed SDK errors")
    config.addinivalue_line("markers", "loose_records: the test exports records that do not match record.py")
