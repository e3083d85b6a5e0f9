"""Anthropic: error categories and safety (issue 12), plain and streamed, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest

from llm_monitor_sdk.testing import FakeProvider

KWARGS = {
    "model": "claude-3-5-haiku-latest",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}


def _call(client: Any, is_async: bool, stream: bool) -> None:
    async def run_async() -> None:
        result = await client.messages.create(**KWARGS, stream=stream)
        if stream:
            async for _ in result:
                pass

    if is_async:
        asyncio.run(run_async())
        return
    result = client.messages.create(**KWARGS, stream=stream)
    if stream:
        list(result)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("status", "category"),
    [(400, "client"), (401, "client"), (429, "rate_limit"), (500, "server"), (529, "server")],
)
def test_status_errors_get_a_category(
    fake: FakeProvider, start_monitor: Any, records: Any, status: int, category: str, is_async: bool
) -> None:
    start_monitor()
    fake.fail_next(status)
    with pytest.raises(anthropic.APIStatusError):
        _call(fake.anthropic_client(async_=is_async), is_async, False)
    [record] = records()
    assert record["error"]["category"] == category


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_timeout_and_connection_errors(
    fake: FakeProvider, start_monitor: Any, records: Any, is_async: bool
) -> None:
    start_monitor()
    fake.once(delay=2.0)
    with pytest.raises(anthropic.APITimeoutError):
        _call(fake.anthropic_client(async_=is_async, timeout=0.2), is_async, False)
    fake.configure(chunks=6).cut_next(3)
    with pytest.raises(Exception):  # the HTTP library's own protocol error (httpx/httpx2 RemoteProtocolError)
        _call(fake.anthropic_client(async_=is_async), is_async, True)
    timeout, cut = records()
    assert timeout["error"]["category"] == "timeout"
    assert cut["error"]["category"] == "connection" and cut["partial"] is True


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_refusal_stop_reason(fake: FakeProvider, start_monitor: Any, records: Any, stream: bool) -> None:
    start_monitor()
    fake.configure(finish_reason="refusal")
    _call(fake.anthropic_client(), False, stream)
    fake.configure(finish_reason="end_turn")
    _call(fake.anthropic_client(), False, stream)
    refused, fine = records()
    assert refused["finish_reasons"] == ["refusal"]
    assert refused["safety"] == {"content_filtered": True, "refusal": True}
    assert fine["safety"] == {"content_filtered": False, "refusal": False}
