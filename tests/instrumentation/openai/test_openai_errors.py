"""Errors: HTTP errors, timeouts and connection errors give ``status="error"`` records, and the caller gets
the very exception object the SDK raised. Failures mid-stream are tested for every provider in
``tests/lifecycle``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from oai_support import SURFACES, Surface, chat_kwargs

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

_ERRORS = [
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
]


@pytest.mark.parametrize("s", SURFACES, ids=[s.id for s in SURFACES])
async def test_http_error_on_every_surface(
    s: Surface, call: Callable[..., Any], fake: FakeProvider, records: Any
) -> None:
    fake.fail_next(429, message="slow down")
    with pytest.raises(openai.RateLimitError) as caught:
        await call(s)
    [record] = records()
    assert record["status"] == "error" and record["api"] == s.api
    assert record["error"] == {
        "type": "openai.RateLimitError",
        "message": caught.value.message,
        "status_code": 429,
        "category": "rate_limit",
    }
    assert "slow down" in record["error"]["message"]
    assert record["request_id"] == fake.last_request.request_id == caught.value.request_id
    assert record["usage"] is None and record["cost_usd"] is None  # nothing was spent
    assert record["latency_ms"] > 0 and record["stream"] is s.stream


@pytest.mark.parametrize(("status", "error_class"), _ERRORS)
async def test_http_status_codes(status: int, error_class: type, fake: FakeProvider, records: Any) -> None:
    fake.fail_next(status)
    with pytest.raises(error_class):
        fake.openai_client().chat.completions.create(**chat_kwargs())
    [record] = records()
    assert record["error"]["status_code"] == status
    assert record["error"]["type"] == f"openai.{error_class.__name__}"


async def test_timeout(fake: FakeProvider, is_async: bool, records: Any) -> None:
    fake.once(delay=1.0)
    client = fake.openai_client(async_=is_async, timeout=0.05)
    with pytest.raises(openai.APITimeoutError):
        if is_async:
            await client.chat.completions.create(**chat_kwargs())
        else:
            client.chat.completions.create(**chat_kwargs())
    [record] = records()
    assert record["status"] == "error"
    assert record["error"] == {
        "type": "openai.APITimeoutError",
        "message": "Request timed out.",
        "status_code": None,
        "category": "timeout",
    }


async def test_connection_error(fake: FakeProvider, is_async: bool, records: Any) -> None:
    fake.cut_next(0)  # no reply at all
    client = fake.openai_client(async_=is_async)
    with pytest.raises(openai.APIConnectionError):
        if is_async:
            await client.responses.create(model="gpt-4.1-mini", input="x")
        else:
            client.responses.create(model="gpt-4.1-mini", input="x")
    [record] = records()
    assert record["status"] == "error" and record["error"]["type"] == "openai.APIConnectionError"


class Boom(Exception):
    """A provider error only this test can raise."""


_CREATE = "openai.resources.chat.completions.completions.Completions.create"


@pytest.fixture
def boom_create(
    monkeypatch: pytest.MonkeyPatch, memory_exporter: lm.exporters.InMemoryExporter
) -> Iterator[Boom]:
    """``Completions.create`` replaced (before instrument()) by one raising a known object."""
    from openai.resources.chat.completions import completions

    boom = Boom("kaput")

    def create(self: Any, **kwargs: Any) -> Any:
        raise boom

    monkeypatch.setattr(completions.Completions, "create", create)
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05)
    yield boom
    lm.uninstrument()


async def test_the_callers_exception_is_the_original_object(
    boom_create: Boom, fake: FakeProvider, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    client = fake.openai_client()
    with pytest.raises(Boom) as caught:
        client.chat.completions.create(**chat_kwargs())
    assert caught.value is boom_create
    assert lm.flush(5.0)
    [plain] = memory_exporter.calls
    assert plain["error"] == {
        "type": f"{Boom.__module__}.Boom",
        "message": "kaput",
        "status_code": None,
        "category": "other",
    }
    # An error raised mid-stream reaches the caller as the same object too: tests/lifecycle.
