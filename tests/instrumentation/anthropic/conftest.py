"""Fixtures for the Anthropic instrumentation tests: a fake provider and an instrument() switch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A fake provider on 127.0.0.1 whose replies carry cache counts and thinking-free text."""
    with FakeProvider(
        text="Hello there, friend!",
        chunks=3,
        input_tokens=12,
        cached_tokens=5,
        cache_write_tokens=7,
        output_tokens=9,
    ) as provider:
        yield provider


@pytest.fixture
def start_monitor(memory_exporter: lm.exporters.InMemoryExporter) -> Callable[..., Any]:
    """``start_monitor(**settings)`` instruments Anthropic into ``memory_exporter`` (redaction off).

    A fixture rather than ``monitor`` so a test can first make an uninstrumented baseline call.
    """

    def start(**settings: Any) -> lm.exporters.InMemoryExporter:
        lm.instrument(
            ["anthropic"], exporters=[memory_exporter], redact=False, flush_interval=0.05, **settings
        )
        return memory_exporter

    return start


@pytest.fixture
def records(memory_exporter: lm.exporters.InMemoryExporter) -> Callable[[], list[dict[str, Any]]]:
    """``records()`` flushes and returns the exported ``llm_call`` records."""

    def read() -> list[dict[str, Any]]:
        assert lm.flush(5.0)
        return [r for r in memory_exporter.records if r["kind"] == "llm_call"]

    return read
