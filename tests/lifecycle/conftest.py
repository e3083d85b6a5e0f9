"""Fixtures for the lifecycle suite: one in-process fake provider for the session, a monitor per test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fake_llm
import pytest
from lifecycle_support import TEXT, Driver

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

#: A budget every call fits in: the reservation and its settlement are what is under test.
BUDGET = "global:daily=100"


@pytest.fixture(scope="session")
def shared_fake() -> Iterator[FakeProvider]:
    """One fake provider for the suite (in-process clients only: no server thread)."""
    fake = FakeProvider()
    yield fake
    fake.close()


@pytest.fixture
def fake(shared_fake: FakeProvider) -> FakeProvider:
    """The shared fake, reset: :data:`TEXT` in four pieces, known token counts."""
    return shared_fake.reset().configure(text=TEXT, chunks=4, input_tokens=12, output_tokens=8)


@pytest.fixture
def start(
    fake: FakeProvider, tmp_path: Path, memory_exporter: lm.exporters.InMemoryExporter
) -> Iterator[Callable[[Driver, bool], lm.exporters.InMemoryExporter]]:
    """``start(driver, budget)``: instrument the driver's provider (with a budget or without) into
    ``memory_exporter``, with prices for the fake adapter's model; yields the exporter."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": [fake_llm.PRICES]}))

    def go(driver: Driver, budget: bool) -> lm.exporters.InMemoryExporter:
        settings: dict[str, Any] = {"budgets": BUDGET} if budget else {}
        lm.instrument(
            list(driver.providers),
            exporters=[memory_exporter],
            redact=False,
            flush_interval=0.05,
            prices_file=str(prices),
            **settings,
        )
        driver.begin(fake)
        return memory_exporter

    yield go
    lm.uninstrument()


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap(shared_fake: FakeProvider) -> Iterator[None]:
    """Keep ``gc.collect()`` cheap: the suite collects in every test, and with three SDKs loaded a
    full collection walks a large heap. Objects that exist before the module runs are moved to the
    permanent generation (``gc.freeze``) until it ends; what the tests create is collected as usual."""
    import gc

    import anthropic  # noqa: F401
    import openai  # noqa: F401
    from google import genai  # noqa: F401

    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
