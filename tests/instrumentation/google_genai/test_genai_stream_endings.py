"""google-genai specifics of streams that end early: the exact output message, the provider's running
usage total, and the chat surface. How every stream ends (exhausted, break, close, garbage, a cut
connection, never iterated), sync and async, with and without budgets, is tested for every provider in
``tests/lifecycle``."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from genai_support import MODEL, calls

TEXT = "abcdefghijkl"  # four chunks of three characters


@pytest.fixture
def stream_fake(fake: Any) -> Any:
    return fake.configure(text=TEXT, chunks=4, output_tokens=8)


def _sync_stream(client: Any) -> Any:
    return client.models.generate_content_stream(model=MODEL, contents="Count")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_partial_stream_holds_the_text_received_and_the_running_usage(
    stream_fake: Any, exporter: Any, client: Any, is_async: bool
) -> None:
    async def two_then_aclose() -> list[str]:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Count")
        received = [(await anext(stream)).text, (await anext(stream)).text]
        await stream.aclose()
        return received

    if is_async:
        received = asyncio.run(two_then_aclose())
    else:
        stream = _sync_stream(client)
        received = [next(stream).text, next(stream).text]
        stream.close()

    [record] = calls(exporter)
    assert received == ["abc", "def"]
    assert record["partial"] is True and record["status"] == "ok"
    assert record["output_messages"] == [
        {"role": "assistant", "parts": [{"type": "text", "content": "abcdef"}], "finish_reason": None}
    ]
    assert record["finish_reasons"] == []
    assert record["usage"]["source"] == "provider" and record["usage"]["output_tokens"] == 4  # running total


def test_stream_never_iterated_has_no_output_message(stream_fake: Any, exporter: Any, client: Any) -> None:
    stream = _sync_stream(client)
    del stream
    gc.collect()

    [record] = calls(exporter)
    assert stream_fake.request_count == 0  # lazy: the SDK never sent it
    assert record["partial"] is True and record["output_messages"] == []


def test_chat_stream_broken_off_is_one_partial_record(stream_fake: Any, exporter: Any, client: Any) -> None:
    chat = client.chats.create(model=MODEL)
    for chunk in chat.send_message_stream("Count"):
        assert chunk.text == "abc"
        break
    gc.collect()

    [record] = calls(exporter)
    assert record["partial"] is True
    assert record["input_messages"] == [{"role": "user", "parts": [{"type": "text", "content": "Count"}]}]
