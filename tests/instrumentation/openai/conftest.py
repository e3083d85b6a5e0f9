"""Fixtures for the OpenAI instrumentation tests: a fake provider replying with JSON text, clients, records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from oai_support import TEXT, Surface, run_async, run_sync

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


@pytest.fixture
def fake(fake_provider: FakeProvider) -> FakeProvider:
    """The local fake provider, answering :data:`TEXT` in three stream pieces."""
    return fake_provider.configure(text=TEXT, chunks=3)


@pytest.fixture
def monitor(memory_exporter: lm.exporters.InMemoryExporter) -> Iterator[lm.exporters.InMemoryExporter]:
    """Instrument OpenAI only (the other SDKs' imports cost seconds and are not under test here)."""
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05)
    yield memory_exporter
    lm.uninstrument()


@pytest.fixture
def records(monitor: lm.exporters.InMemoryExporter) -> Callable[[], list[dict[str, Any]]]:
    """Flush, then return the ``llm_call`` records exported so far (instruments through ``monitor``)."""

    def read() -> list[dict[str, Any]]:
        assert lm.flush(5.0)
        return [r for r in monitor.records if r["kind"] == "llm_call"]

    return read


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    """Run a test with the sync and with the async client."""
    return bool(request.param)


@pytest.fixture
def call(fake: FakeProvider, is_async: bool) -> Callable[..., Any]:
    """``await call(surface, **kw)``: one call through a fresh client of the right kind, materialized."""

    async def run(surface: Surface, client: Any = None, **kwargs: Any) -> Any:
        client = client or fake.openai_client(async_=is_async)
        if is_async:
            return await run_async(client, surface, **kwargs)
        return run_sync(client, surface, **kwargs)

    return run
