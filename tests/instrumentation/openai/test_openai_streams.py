"""OpenAI streams: the proxy keeps the SDK interface; helpers, the Responses API and raw streaming responses
give one record each. How a ``chat.completions.create(stream=True)`` stream ends (exhausted, break, close,
``with``, garbage collection, a cut connection, never read) is tested for every provider in
``tests/lifecycle``."""

from __future__ import annotations

import copy
from typing import Any

import openai
import pytest
from oai_support import TEXT, Greeting, chat_kwargs, output_text, responses_kwargs

from llm_monitor_sdk.testing import FakeProvider

# Four content pieces: a partly read stream has received a known prefix of TEXT.
PIECES = 4


@pytest.fixture
def fake4(fake: FakeProvider) -> FakeProvider:
    return fake.configure(chunks=PIECES)


def _piece(i: int) -> str:
    size = len(TEXT) // PIECES + (1 if len(TEXT) % PIECES else 0)
    return TEXT[: size * i]


def check_partial(record: dict[str, Any], received: str) -> None:
    """A stream that ended early: one ok record, partial, holding exactly the text received."""
    assert record["status"] == "ok" and record["partial"] is True and record["stream"] is True
    assert output_text(record) == received
    assert record["finish_reasons"] == []
    assert record["usage"]["source"] == "estimated" and record["usage"]["output_tokens"] > 0
    assert record["request_id"] is not None and record["ttft_ms"] is not None


@pytest.mark.parametrize("helper", ["chat", "responses"])
async def test_stream_helper_left_early_gives_one_partial_record(
    helper: str, is_async: bool, fake4: FakeProvider, records: Any
) -> None:
    client = fake4.openai_client(async_=is_async)
    manager = (
        client.chat.completions.stream(**chat_kwargs())
        if helper == "chat"
        else client.responses.stream(**responses_kwargs())
    )
    wanted = "content.delta" if helper == "chat" else "response.output_text.delta"
    received = ""
    if is_async:
        async with manager as stream:
            async for event in stream:
                if event.type == wanted and event.delta:
                    received = event.delta
                    break
    else:
        with manager as stream:
            for event in stream:
                if event.type == wanted and event.delta:
                    received = event.delta
                    break
    [record] = records()
    assert record["api"] == f"{'chat.completions' if helper == 'chat' else 'responses'}.stream"
    check_partial(record, received)
    assert received == _piece(1)


async def test_sync_helpers_keep_working(fake4: FakeProvider, records: Any) -> None:
    client = fake4.openai_client()
    with client.chat.completions.stream(**chat_kwargs(), response_format=Greeting) as stream:
        assert stream.until_done() is stream
        final = stream.get_final_completion()
        assert stream.current_completion_snapshot.choices[0].message.content == TEXT
    assert final.choices[0].message.parsed == Greeting.model_validate_json(TEXT)
    with client.responses.stream(**responses_kwargs(), text_format=Greeting) as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        response = stream.get_final_response()
    assert "".join(texts) == TEXT and response.output_parsed == Greeting.model_validate_json(TEXT)
    with client.responses.stream(**responses_kwargs()) as stream:
        stream.until_done()
    chat, responses, until_done = records()
    assert [r["api"] for r in (chat, responses, until_done)] == [
        "chat.completions.stream",
        "responses.stream",
        "responses.stream",
    ]
    assert all(r["partial"] is False and output_text(r) == TEXT for r in (chat, responses, until_done))


async def test_async_helpers_keep_working(fake4: FakeProvider, records: Any) -> None:
    client = fake4.openai_client(async_=True)
    async with client.chat.completions.stream(**chat_kwargs()) as stream:
        assert await stream.until_done() is stream
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == TEXT
    async with client.responses.stream(**responses_kwargs()) as stream:
        await stream.until_done()
        response = await stream.get_final_response()
    assert response.output_text == TEXT
    chat, responses = records()
    assert (chat["api"], responses["api"]) == ("chat.completions.stream", "responses.stream")
    assert chat["partial"] is False and responses["partial"] is False


async def test_proxy_keeps_the_stream_interface(fake4: FakeProvider, records: Any) -> None:
    client = fake4.openai_client()
    stream = client.chat.completions.create(**chat_kwargs(), stream=True)
    assert isinstance(stream, openai.Stream)
    assert stream.response.headers["x-request-id"] == fake4.last_request.request_id
    assert copy.copy(stream) is not None and copy.deepcopy(stream) is not None  # no crash
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == TEXT
    [record] = records()
    assert record["partial"] is False and output_text(record) == TEXT


async def test_async_proxy_keeps_the_stream_interface(fake4: FakeProvider, records: Any) -> None:
    client = fake4.openai_client(async_=True)
    stream = await client.responses.create(**responses_kwargs(), stream=True)
    assert isinstance(stream, openai.AsyncStream)
    assert stream.response.status_code == 200
    copy.copy(stream)
    events = [event async for event in stream]
    assert events[-1].type == "response.completed"
    [record] = records()
    assert record["partial"] is False and output_text(record) == TEXT


async def test_responses_stream_partial_holds_received_text(fake4: FakeProvider, records: Any) -> None:
    client = fake4.openai_client()
    stream = client.responses.create(**responses_kwargs(), stream=True)
    deltas = []
    for event in stream:
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
            if len(deltas) == 2:
                break
    stream.close()
    [record] = records()
    check_partial(record, _piece(2))


async def test_ttft_is_the_first_content_chunk_not_the_role_chunk(fake: FakeProvider, records: Any) -> None:
    # Events: role-only chunk, then (after 60 ms) the content; TTFT must count the wait.
    fake.once(chunks=1, chunk_delay=0.06)
    client = fake.openai_client()
    list(client.chat.completions.create(**chat_kwargs(), stream=True))
    [record] = records()
    assert 60 <= record["ttft_ms"] <= record["latency_ms"]


async def test_streaming_response_closed_unparsed_still_one_record(
    fake: FakeProvider, is_async: bool, records: Any
) -> None:
    client = fake.openai_client(async_=is_async)
    if is_async:
        async with client.chat.completions.with_streaming_response.create(
            **chat_kwargs(), stream=True
        ) as raw:
            assert raw.status_code == 200
    else:
        with client.chat.completions.with_streaming_response.create(**chat_kwargs(), stream=True) as raw:
            assert raw.status_code == 200
    [record] = records()
    assert record["status"] == "ok" and record["partial"] is True and record["stream"] is True
    assert record["request_id"] == fake.last_request.request_id
    assert record["output_messages"] is None  # nothing was read; the prompt was sent, so input is estimated
    assert record["usage"]["source"] == "estimated" and record["usage"]["output_tokens"] == 0


async def test_streaming_response_read_without_parse_is_recorded_from_its_body(
    fake: FakeProvider, records: Any
) -> None:
    client = fake.openai_client()
    with client.chat.completions.with_streaming_response.create(**chat_kwargs()) as raw:
        body = raw.json()
    assert body["choices"][0]["message"]["content"] == TEXT
    [record] = records()
    assert record["status"] == "ok" and output_text(record) == TEXT
    assert record["usage"]["source"] == "provider" and record["finish_reasons"] == ["stop"]
