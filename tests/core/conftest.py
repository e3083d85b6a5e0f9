"""Fixtures for the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_support import RecordingExporter

import llm_monitor_sdk as lm


@pytest.fixture
def recorder() -> Iterator[RecordingExporter]:
    """Instrument (no providers) exporting to a :class:`RecordingExporter`; yields it."""
    exporter = RecordingExporter()
    lm.instrument(providers=[], exporters=[exporter], redact=False, flush_interval=0.02)
    yield exporter
    lm.uninstrument()
