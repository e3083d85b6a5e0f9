"""Fixtures for the monitoring tests (helpers live in ``monitoring_support``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from monitoring_support import FakeClock, Harness, Webhook

from llm_monitor_sdk import _clock
from llm_monitor_sdk.testing import FakeProvider


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_clock, "now", fake)
    return fake


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture
def harness(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> Callable[..., Harness]:
    caplog.set_level(logging.INFO, logger="llm_monitor_sdk.alerts")

    def make(rules: Any, **settings: Any) -> Harness:
        return Harness(rules, webhook.url, **settings)

    return make


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider
