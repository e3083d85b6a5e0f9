"""Errors: HTTP errors, timeouts, connection errors and mid-stream failures give ``status="error"`` records,
and the caller gets the very exception object the SDK raised."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from oai_support import SURFACES, Surface, chat_kwargs, output_text

import llm_monitor_sdk as lm
from llm_monitor_sdk._records import qualified_name
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


async def test_error_mid_stream_keeps_the_text_received(
    fake: FakeProvider, is_async: bool, records: Any
) -> None:
    fake.configure(chunks=4)
    fake.cut_next(3)  # role chunk and two pieces, then the connection drops
    client = fake.openai_client(async_=is_async)
    received = []
    # openai 3.x raises APIConnectionError, 2.x the HTTP library's RemoteProtocolError.
    with pytest.raises(Exception) as caught:  # the type differs by version, checked below
        if is_async:
            async for chunk in await client.chat.completions.create(**chat_kwargs(), stream=True):
                received.append(chunk.choices[0].delta.content or "")
        else:
            for chunk in client.chat.completions.create(**chat_kwargs(), stream=True):
                received.append(chunk.choices[0].delta.content or "")
    [record] = records()
    assert record["status"] == "error" and record["partial"] is True
    assert record["error"]["type"] == qualified_name(type(caught.value))
    assert record["error"]["type"] in ("openai.APIConnectionError", "httpx.RemoteProtocolError")
    assert output_text(record) == "".join(received) != ""
    assert record["usage"]["source"] == "estimated" and record["ttft_ms"] is not None


class Boom(Exception):
    """A provider error only this test can raise."""


_CREATE = "openai.resources.chat.completions.completions.Completions.create"


@pytest.fixture
def boom_create(
    monkeypatch: pytest.MonkeyPatch, memory_exporter: lm.exporters.InMemoryExporter
) -> Iterator[Boom]:
    """``Completions.create`` replaced (before instrument()) by one raising a known object, or
    returning a stream that raises it after one chunk."""
    from openai.resources.chat.completions import completions

    boom = Boom("kaput")

    def create(self: Any, **kwargs: Any) -> Any:
        if not kwargs.get("stream"):
            raise boom

        def chunks() -> Iterator[dict[str, Any]]:
            yield {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
            raise boom

        return chunks()

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
    stream = client.chat.completions.create(**chat_kwargs(), stream=True)
    with pytest.raises(Boom) as caught:
        for _ in stream:
            pass
    assert caught.value is boom_create
    assert lm.flush(5.0)
    plain, streamed = memory_exporter.records
    assert plain["error"] == {
        "type": f"{Boom.__module__}.Boom",
        "message": "kaput",
        "status_code": None,
        "category": "other",
    }
    assert streamed["status"] == "error" and streamed["partial"] is True and output_text(streamed) == "Hel"
