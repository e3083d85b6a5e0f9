"""Fixtures for the google-genai instrumentation tests (all offline, against the fake provider).

The fake provider and its clients are shared by the whole folder and reset before each test:
building a ``google.genai.Client`` loads TLS certificates, which would dominate the run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from genai_support import Canned

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


@pytest.fixture
def start_monitor(memory_exporter: lm.exporters.InMemoryExporter) -> Callable[..., Any]:
    """Instrument google-genai on demand (so a test can make an uninstrumented call first)."""

    def start(**settings: Any) -> lm.exporters.InMemoryExporter:
        lm.instrument(
            providers=["google_genai"],
            exporters=[memory_exporter],
            redact=False,
            flush_interval=0.05,
            **settings,
        )
        return memory_exporter

    return start


@pytest.fixture
def exporter(start_monitor: Callable[..., Any]) -> lm.exporters.InMemoryExporter:
    """An instrumented monitor exporting to memory."""
    return start_monitor()


@pytest.fixture(scope="session")
def shared_fake() -> Iterator[FakeProvider]:
    """One in-process fake provider for the folder (no server needed)."""
    fake = FakeProvider()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def shared_clients(shared_fake: FakeProvider) -> dict[str, Any]:
    """Gemini API and Vertex AI (express mode) clients served in-process by ``shared_fake``."""
    return {
        "gemini": shared_fake.genai_client(in_process=True),
        "vertex": shared_fake.genai_client(in_process=True, vertexai=True, api_key="fake-key"),
    }


@pytest.fixture(scope="session")
def canned() -> Canned:
    """A client answering with canned bodies (see :class:`genai_support.Canned`)."""
    return Canned()


@pytest.fixture
def fake(shared_fake: FakeProvider) -> FakeProvider:
    """The shared fake, reset, with fixed and known replies."""
    return shared_fake.reset().configure(text="Hello there", chunks=3, input_tokens=12, output_tokens=5)


@pytest.fixture
def client(fake: FakeProvider, shared_clients: dict[str, Any]) -> Any:
    """A Gemini API ``google.genai.Client`` for ``fake``."""
    return shared_clients["gemini"]


@pytest.fixture
def vertex_client(fake: FakeProvider, shared_clients: dict[str, Any]) -> Any:
    """A Vertex AI ``google.genai.Client`` for ``fake``."""
    return shared_clients["vertex"]
