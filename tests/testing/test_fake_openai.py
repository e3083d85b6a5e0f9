"""The fake provider's OpenAI surface, driven by the real ``openai`` SDK (server and in-process)."""

from __future__ import annotations

import json

import pytest

from llm_monitor_sdk.testing import FakeProvider, fake_headers, sdk_http_module

openai = pytest.importorskip("openai")

M = [{"role": "user", "content": "hi"}]
WEATHER = {"name": "get_weather", "arguments": {"city": "Paris"}}


def _text(chunks: list) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_chat_json_echoes_model_usage_and_request_id(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(input_tokens=20, output_tokens=5, cached_tokens=4, reasoning_tokens=2)
    client = fake_provider.openai_client(in_process=in_process)
    r = client.chat.completions.create(model="gpt-4o-mini-2024", messages=M)
    assert r.model == "gpt-4o-mini-2024"
    assert r.choices[0].message.content == "Hello!"
    assert r.choices[0].finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (20, 5, 25)
    assert r.usage.prompt_tokens_details.cached_tokens == 4
    assert r.usage.completion_tokens_details.reasoning_tokens == 2
    assert r._request_id == fake_provider.last_request.request_id
    assert r._request_id.startswith("req_")
    assert fake_provider.last_request.body["messages"] == M


def test_chat_stream_include_usage_sends_final_usage_only_chunk(
    fake_provider: FakeProvider, in_process: bool
) -> None:
    fake_provider.configure(text="abcdefghij", chunks=5)
    client = fake_provider.openai_client(in_process=in_process)
    stream = client.chat.completions.create(
        model="m1", messages=M, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert _text(chunks) == "abcdefghij"
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) == 5
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 12 + 3
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert stream.response.headers["x-request-id"] == fake_provider.last_request.request_id
    assert stream.response.headers["content-type"] == "text/event-stream"
    assert {c.model for c in chunks} == {"m1"}


def test_chat_stream_without_include_usage_has_no_usage(
    fake_provider: FakeProvider, in_process: bool
) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    chunks = list(client.chat.completions.create(model="m", messages=M, stream=True))
    assert _text(chunks) == "Hello!"
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"


def test_chat_n_choices(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    r = client.chat.completions.create(model="m", messages=M, n=3)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert {c.message.content for c in r.choices} == {"Hello!"}
    chunks = list(client.chat.completions.create(model="m", messages=M, n=2, stream=True))
    per_choice = {
        i: "".join(c.choices[0].delta.content or "" for c in chunks if c.choices[0].index == i)
        for i in (0, 1)
    }
    assert per_choice == {0: "Hello!", 1: "Hello!"}


def test_chat_tool_calls_json_and_stream_helper(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(text="", tool_calls=[WEATHER])
    client = fake_provider.openai_client(in_process=in_process)
    r = client.chat.completions.create(model="m", messages=M)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and r.choices[0].message.content is None
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    with client.chat.completions.stream(model="m", messages=M) as stream:
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert streamed.function.name == "get_weather" and json.loads(streamed.function.arguments) == {
        "city": "Paris"
    }
    assert final.choices[0].finish_reason == "tool_calls"


def test_finish_reason_override(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    r = client.chat.completions.create(
        model="m", messages=M, extra_headers=fake_headers(finish_reason="length")
    )
    assert r.choices[0].finish_reason == "length"
    chunks = list(
        client.chat.completions.create(
            model="m", messages=M, stream=True, extra_headers=fake_headers(finish_reason="content_filter")
        )
    )
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_usage_absent(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(usage=False)
    client = fake_provider.openai_client(in_process=in_process)
    assert client.chat.completions.create(model="m", messages=M).usage is None
    chunks = list(
        client.chat.completions.create(
            model="m", messages=M, stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(c.usage is None for c in chunks) and _text(chunks) == "Hello!"
    assert client.responses.create(model="m", input="hi").usage is None


def test_responses_json_and_full_stream_sequence(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(text="Hello there", chunks=3, thinking="Let me think")
    client = fake_provider.openai_client(in_process=in_process)
    r = client.responses.create(model="gpt-4.1-mini", input="hi")
    assert r.output_text == "Hello there" and r.model == "gpt-4.1-mini" and r.status == "completed"
    assert r.usage.input_tokens == 12 and r.usage.total_tokens == 12 + r.usage.output_tokens
    assert r.output[0].type == "reasoning" and r.output[0].summary[0].text == "Let me think"
    events = list(client.responses.create(model="gpt-4.1-mini", input="hi", stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed" and events[-1].response.usage.total_tokens > 0
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello there"
    assert types.count("response.output_text.delta") == 3
    assert [e.sequence_number for e in events] == list(range(len(events)))
    with client.responses.stream(model="gpt-4.1-mini", input="hi") as stream:
        assert stream.get_final_response().output_text == "Hello there"


def test_responses_tool_calls_and_incomplete(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    r = client.responses.create(
        model="m", input="hi", extra_headers=fake_headers(text="", tool_calls=[WEATHER])
    )
    fc = r.output[0]
    assert (
        fc.type == "function_call"
        and fc.name == "get_weather"
        and json.loads(fc.arguments) == {"city": "Paris"}
    )
    events = list(
        client.responses.create(
            model="m", input="hi", stream=True, extra_headers=fake_headers(finish_reason="length")
        )
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_legacy_completions(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", n=2)
    assert [c.text for c in r.choices] == ["Hello!", "Hello!"] and r.usage.prompt_tokens == 12
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="hi", stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Hello!"
    assert chunks[-1].usage.total_tokens == r.usage.prompt_tokens + 2
    assert r.model == "gpt-3.5-turbo-instruct"


def test_embeddings_base64_default_and_float(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    e = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=4)
    assert len(e.data) == 2 and len(e.data[1].embedding) == 4
    assert e.data[0].embedding[0] == pytest.approx(0.1)
    assert e.usage.prompt_tokens == 12 and e.model == "text-embedding-3-small"
    f = client.embeddings.create(model="x", input="a", encoding_format="float")
    assert f.data[0].embedding == [0.1, 0.2, 0.3]
    assert fake_provider.requests[0].body["encoding_format"] == "base64"


@pytest.mark.parametrize(
    ("status", "exc_name", "etype", "code"),
    [
        (400, "BadRequestError", "invalid_request_error", None),
        (401, "AuthenticationError", "invalid_request_error", "invalid_api_key"),
        (429, "RateLimitError", "requests", "rate_limit_exceeded"),
        (500, "InternalServerError", "server_error", None),
        (503, "InternalServerError", "server_error", None),
    ],
)
def test_errors_raise_sdk_exception_with_real_body(
    fake_provider: FakeProvider, in_process: bool, status: int, exc_name: str, etype: str, code: str | None
) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    fake_provider.fail_next(status, message="nope", retry_after=7)
    with pytest.raises(getattr(openai, exc_name)) as info:
        client.chat.completions.create(model="m", messages=M)
    err = info.value
    assert err.status_code == status
    assert err.body == {"message": "nope", "type": etype, "param": None, "code": code}
    assert err.response.headers["retry-after"] == "7"
    assert err.request_id == fake_provider.last_request.request_id
    # the one-shot is spent: the next call succeeds
    assert client.chat.completions.create(model="m", messages=M).choices[0].message.content == "Hello!"


def test_error_on_streaming_request(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="m", messages=M, stream=True, extra_headers=fake_headers(status=429)
        )


def test_error_type_override(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    fake_provider.fail_next(429, error_type="insufficient_quota")
    with pytest.raises(openai.RateLimitError) as info:
        client.embeddings.create(model="m", input="x")
    assert info.value.code == "insufficient_quota" and info.value.type == "insufficient_quota"


def test_cut_stream_raises_in_sdk(fake_provider: FakeProvider, in_process: bool) -> None:
    hx = sdk_http_module("openai")
    client = fake_provider.openai_client(in_process=in_process)
    fake_provider.configure(text="abcdef", chunks=6)
    fake_provider.cut_next(after_chunks=3)
    received = []
    with pytest.raises((openai.APIConnectionError, hx.TransportError)):
        for chunk in client.chat.completions.create(model="m", messages=M, stream=True):
            received.append(chunk)
    assert 0 < len(received) <= 3
    assert _text(list(client.chat.completions.create(model="m", messages=M, stream=True))) == "abcdef"


def test_cut_non_streaming_request_is_a_connection_error(
    fake_provider: FakeProvider, in_process: bool
) -> None:
    client = fake_provider.openai_client(in_process=in_process)
    fake_provider.cut_next()
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=M)


def test_retry_after_one_shot_failures_with_sdk_retries(
    fake_provider: FakeProvider, in_process: bool
) -> None:
    client = fake_provider.openai_client(in_process=in_process, max_retries=2)
    fake_provider.fail_next(503, retry_after=0.01, times=2)
    r = client.chat.completions.create(model="m", messages=M)
    assert r.choices[0].message.content == "Hello!" and fake_provider.request_count == 3


async def test_async_chat_stream_and_error(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.openai_client(async_=True, in_process=in_process)
    r = await client.chat.completions.create(model="am", messages=M)
    assert r.choices[0].message.content == "Hello!" and r.model == "am"
    stream = await client.chat.completions.create(
        model="am", messages=M, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert _text(chunks) == "Hello!" and chunks[-1].usage.prompt_tokens == 12
    events = [e async for e in await client.responses.create(model="am", input="hi", stream=True)]
    assert events[-1].type == "response.completed"
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="am", messages=M, extra_headers=fake_headers(status=500))
    await client.close()


async def test_async_cut_stream_raises(fake_provider: FakeProvider, in_process: bool) -> None:
    hx = sdk_http_module("openai")
    client = fake_provider.openai_client(async_=True, in_process=in_process)
    stream = await client.chat.completions.create(
        model="m", messages=M, stream=True, extra_headers=fake_headers(cut_after=1)
    )
    with pytest.raises((openai.APIConnectionError, hx.TransportError)):
        async for _ in stream:
            pass
    await client.close()
