"""The fake provider's Anthropic surface, driven by the real ``anthropic`` SDK (server and in-process)."""

from __future__ import annotations

import pytest

from llm_monitor_sdk.testing import FakeProvider, fake_headers, sdk_http_module

anthropic = pytest.importorskip("anthropic")

A = {"max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


def test_message_json(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(input_tokens=30, output_tokens=7, cached_tokens=5, cache_write_tokens=2)
    client = fake_provider.anthropic_client(in_process=in_process)
    m = client.messages.create(model="claude-sonnet-4-5-x", **A)
    assert m.model == "claude-sonnet-4-5-x" and m.content[0].text == "Hello!" and m.stop_reason == "end_turn"
    assert (m.usage.input_tokens, m.usage.output_tokens) == (30, 7)
    assert (m.usage.cache_read_input_tokens, m.usage.cache_creation_input_tokens) == (5, 2)
    assert m._request_id == fake_provider.last_request.request_id
    assert fake_provider.last_request.provider == "anthropic"


def test_raw_stream_event_sequence(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(text="abcdef", chunks=3, cached_tokens=4)
    client = fake_provider.anthropic_client(in_process=in_process)
    stream = client.messages.create(model="c", stream=True, **A)
    events = list(stream)
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the SDK swallows ``ping``
    start = events[0].message.usage
    assert start.input_tokens == 12 and start.cache_read_input_tokens == 4 and start.output_tokens == 1
    assert events[-2].usage.output_tokens == 2 and events[-2].delta.stop_reason == "end_turn"
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == "abcdef"
    assert stream.response.headers["request-id"] == fake_provider.last_request.request_id


def test_stream_helper_thinking_and_tool_use(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(
        thinking="Considering the weather",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "toolu_1"}],
    )
    client = fake_provider.anthropic_client(in_process=in_process)
    with client.messages.stream(model="c", **A) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello!"
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].thinking == "Considering the weather" and final.content[0].signature
    assert final.content[2].input == {"city": "Oslo"} and final.content[2].id == "toolu_1"
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 2
    m = client.messages.create(model="c", **A)
    assert [b.type for b in m.content] == ["thinking", "text", "tool_use"]


def test_beta_messages_path(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.anthropic_client(in_process=in_process)
    m = client.beta.messages.create(model="c", **A)
    assert m.content[0].text == "Hello!"
    assert fake_provider.last_request.path == "/v1/messages"
    assert fake_provider.last_request.operation == "messages"


def test_count_tokens(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.anthropic_client(in_process=in_process)
    fake_provider.configure(input_tokens=42)
    assert client.messages.count_tokens(model="c", messages=A["messages"]).input_tokens == 42


def test_finish_reason_override_and_usage_absent(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.anthropic_client(in_process=in_process)
    m = client.messages.create(
        model="c", **A, extra_headers=fake_headers(finish_reason="refusal", usage=False)
    )
    assert m.stop_reason == "refusal" and m.usage is None
    events = list(
        client.messages.create(
            model="c", stream=True, **A, extra_headers=fake_headers(finish_reason="max_tokens")
        )
    )
    assert events[-2].delta.stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("status", "exc_name", "etype"),
    [
        (400, "BadRequestError", "invalid_request_error"),
        (401, "AuthenticationError", "authentication_error"),
        (429, "RateLimitError", "rate_limit_error"),
        (500, "InternalServerError", "api_error"),
        (503, "InternalServerError", "api_error"),
        (529, "OverloadedError", "overloaded_error"),
    ],
)
def test_errors(
    fake_provider: FakeProvider, in_process: bool, status: int, exc_name: str, etype: str
) -> None:
    client = fake_provider.anthropic_client(in_process=in_process)
    fake_provider.fail_next(status, message="denied", retry_after=3)
    with pytest.raises(getattr(anthropic, exc_name)) as info:
        client.messages.create(model="c", **A)
    assert info.value.status_code == status
    assert info.value.body["type"] == "error"
    assert info.value.body["error"] == {"type": etype, "message": "denied"}
    assert info.value.response.headers["retry-after"] == "3"


def test_cut_stream(fake_provider: FakeProvider, in_process: bool) -> None:
    hx = sdk_http_module("anthropic")
    client = fake_provider.anthropic_client(in_process=in_process)
    fake_provider.cut_next(after_chunks=2)
    seen = []
    with pytest.raises((anthropic.APIConnectionError, hx.TransportError)):
        for event in client.messages.create(model="c", stream=True, **A):
            seen.append(event.type)
    assert "message_stop" not in seen and seen[0] == "message_start"


async def test_async_create_stream_and_error(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.anthropic_client(async_=True, in_process=in_process)
    m = await client.messages.create(model="ac", **A)
    assert m.content[0].text == "Hello!" and m.model == "ac"
    async with client.messages.stream(model="ac", **A) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "Hello!" and final.usage.input_tokens == 12
    with pytest.raises(anthropic.RateLimitError):
        await client.messages.create(model="ac", **A, extra_headers=fake_headers(status=429))
    await client.close()
