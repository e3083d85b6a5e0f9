"""However a stream ends (exhausted, break, close, ``aclose()``, garbage, cut connection): one record."""

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


def test_break_then_close_is_partial_with_what_was_received(
    stream_fake: Any, exporter: Any, client: Any
) -> None:
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
    assert record["ttft_ms"] is not None


def test_abandoned_generator_finishes_on_garbage_collection(
    stream_fake: Any, exporter: Any, client: Any
) -> None:
    for chunk in _sync_stream(client):
        assert chunk.text == "abc"
        break
    gc.collect()

    [record] = calls(exporter)
    assert record["partial"] is True
    assert record["output_messages"][0]["parts"] == [{"type": "text", "content": "abc"}]


def test_stream_never_iterated_is_recorded_as_partial_without_output(
    stream_fake: Any, exporter: Any, client: Any
) -> None:
    stream = _sync_stream(client)
    del stream
    gc.collect()

    [record] = calls(exporter)
    assert stream_fake.request_count == 0  # lazy: the SDK never sent it
    assert record["partial"] is True and record["output_messages"] == [] and record["ttft_ms"] is None


@pytest.mark.parametrize("ending", ["aclose", "gc", "exhaust"])
def test_async_stream_endings(stream_fake: Any, exporter: Any, client: Any, ending: str) -> None:
    async def go() -> list[str]:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Count")
        texts = []
        async for chunk in stream:
            texts.append(chunk.text)
            if ending != "exhaust" and len(texts) == 2:
                break
        if ending == "aclose":
            await stream.aclose()
        return texts

    texts = asyncio.run(go())
    gc.collect()

    [record] = calls(exporter)
    assert "".join(texts) == (TEXT if ending == "exhaust" else "abcdef")
    assert record["partial"] is (ending != "exhaust")
    assert record["output_messages"][0]["parts"] == [{"type": "text", "content": "".join(texts)}]
    assert record["finish_reasons"] == ([] if record["partial"] else ["STOP"])
    assert record["usage"]["output_tokens"] == (8 if ending == "exhaust" else 4)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_cut_connection_is_an_error_with_the_partial_output(
    stream_fake: Any, exporter: Any, client: Any, is_async: bool
) -> None:
    stream_fake.cut_next(after_chunks=2)
    received: list[str] = []

    async def consume_async() -> None:
        async for chunk in await client.aio.models.generate_content_stream(model=MODEL, contents="Count"):
            received.append(chunk.text)

    with pytest.raises(Exception) as caught:
        if is_async:
            asyncio.run(consume_async())
        else:
            for chunk in _sync_stream(client):
                received.append(chunk.text)

    [record] = calls(exporter)
    assert received == ["abc", "def"]
    assert record["status"] == "error" and record["partial"] is True
    assert record["error"]["type"].endswith(type(caught.value).__name__)
    assert record["output_messages"][0]["parts"] == [{"type": "text", "content": "abcdef"}]
    assert record["usage"]["source"] == "provider"
    assert record["cost_usd"] is not None


def test_chat_stream_broken_off_is_one_partial_record(stream_fake: Any, exporter: Any, client: Any) -> None:
    chat = client.chats.create(model=MODEL)
    for chunk in chat.send_message_stream("Count"):
        assert chunk.text == "abc"
        break
    gc.collect()

    [record] = calls(exporter)
    assert record["partial"] is True
    assert record["input_messages"] == [{"role": "user", "parts": [{"type": "text", "content": "Count"}]}]
