"""Never break the host: malformed responses and failures inside our own code leave the call untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from oai_support import chat_kwargs, output_text

import llm_monitor_sdk as lm
from llm_monitor_sdk.instrumentation import openai as oai
from llm_monitor_sdk.testing import FakeProvider, sdk_http_module

HX = sdk_http_module("openai")


def client_for(body: Any, *, sse: bool = False, is_async: bool = False) -> Any:
    """A client whose every request gets ``body``: JSON, or SSE events when ``sse`` (a list of objects)."""

    def handler(request: Any) -> Any:
        if sse:
            data = (
                b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in body)
                + b"data: [DONE]\n\n"
            )
            return HX.Response(
                200, headers={"content-type": "text/event-stream", "x-request-id": "req_m"}, content=data
            )
        return HX.Response(200, json=body, headers={"x-request-id": "req_m"})

    transport = HX.MockTransport(handler)
    http = HX.AsyncClient(transport=transport) if is_async else HX.Client(transport=transport)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(api_key="k", base_url="http://fake-provider.invalid/v1", http_client=http, max_retries=0)


_CHAT = {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini"}
_MESSAGE = {"role": "assistant", "content": "fine"}

MALFORMED_CHAT = {
    "no choices": {**_CHAT},
    "choices null": {**_CHAT, "choices": None},
    "usage null": {
        **_CHAT,
        "choices": [{"index": 0, "message": _MESSAGE, "finish_reason": "stop"}],
        "usage": None,
    },
    "no finish reason": {**_CHAT, "choices": [{"index": 0, "message": _MESSAGE}]},
    "message null": {**_CHAT, "choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
    "unknown content parts": {
        **_CHAT,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": [{"type": "hologram", "x": 1}, {"type": "text", "text": "hi"}, 7],
                },
            }
        ],
    },
    "odd tool calls": {
        **_CHAT,
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "t", "type": "function"}, None, 3],
                },
            }
        ],
    },
    "usage strings": {
        **_CHAT,
        "choices": [],
        "usage": {"prompt_tokens": "many", "completion_tokens": None, "prompt_tokens_details": 5},
    },
    "n=3 with gaps": {
        **_CHAT,
        "choices": [{"index": 2, "message": _MESSAGE, "finish_reason": "stop"}, {}, None],
    },
}


@pytest.mark.parametrize("body", MALFORMED_CHAT.values(), ids=MALFORMED_CHAT.keys())
async def test_malformed_chat_response_returns_normally(body: dict[str, Any], records: Any) -> None:
    result = client_for(body).chat.completions.create(**chat_kwargs())
    assert result.id == "c1"  # what the SDK made of it, untouched
    [record] = records()
    assert record["status"] == "ok" and record["request_id"] == "req_m"


async def test_malformed_request_content_is_recorded_not_raised(records: Any) -> None:
    body = {**_CHAT, "choices": [{"index": 0, "message": _MESSAGE, "finish_reason": "stop"}]}
    messages: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}},
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-1"}},
                {"type": "mystery"},
                None,
                42,
            ],
        },
        {"content": "no role"},
        "just a string",
    ]
    client_for(body).chat.completions.create(model="gpt-4o-mini", messages=messages)
    [record] = records()
    parts = record["input_messages"][0]["parts"]
    assert parts[0] == {"type": "uri", "modality": "image", "uri": "https://x.test/cat.png"}
    assert parts[1]["modality"] == "audio" and "AAAA" not in json.dumps(record)
    assert parts[2]["file_id"] == "file-1" and parts[3]["type"] == "generic"
    assert output_text(record) == "fine"


MALFORMED_CHUNKS = {
    "choices null": [{**_CHAT, "object": "chat.completion.chunk", "choices": None}],
    "delta null": [{**_CHAT, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": None}]}],
    "usage only": [
        {**_CHAT, "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 3}}
    ],
    "tool call without function": [
        {
            **_CHAT,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0}]}, "finish_reason": "tool_calls"}],
        }
    ],
}


@pytest.mark.parametrize("events", MALFORMED_CHUNKS.values(), ids=MALFORMED_CHUNKS.keys())
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_malformed_stream_chunks_reach_the_caller(
    events: list[Any], is_async: bool, records: Any
) -> None:
    client = client_for(events, sse=True, is_async=is_async)
    # The caller asks for usage itself, so even a usage-only chunk is the caller's to see.
    kwargs = {**chat_kwargs(), "stream": True, "stream_options": {"include_usage": True}}
    if is_async:
        chunks = [c async for c in await client.chat.completions.create(**kwargs)]
    else:
        chunks = list(client.chat.completions.create(**kwargs))
    assert len(chunks) == len(events)
    [record] = records()
    assert record["status"] == "ok" and record["partial"] is False


MALFORMED_RESPONSES = {
    "no output": {"id": "r1", "object": "response", "model": "gpt-4.1-mini", "status": "completed"},
    "unknown item": {
        "id": "r1",
        "object": "response",
        "model": "gpt-4.1-mini",
        "status": "completed",
        "output": [{"type": "teleport", "id": "x"}, {"type": "message", "content": None}],
    },
    "usage null": {
        "id": "r1",
        "object": "response",
        "model": "gpt-4.1-mini",
        "status": "incomplete",
        "incomplete_details": None,
        "output": [],
        "usage": None,
    },
}


@pytest.mark.parametrize("body", MALFORMED_RESPONSES.values(), ids=MALFORMED_RESPONSES.keys())
async def test_malformed_responses_api_reply_returns_normally(body: dict[str, Any], records: Any) -> None:
    result = client_for(body).responses.create(
        model="gpt-4.1-mini", input=[{"type": "weird"}, {"role": "user"}]
    )
    assert result.id == "r1"
    [record] = records()
    assert record["status"] == "ok" and record["api"] == "responses.create"


async def test_embeddings_without_usage(records: Any) -> None:
    body = {
        "object": "list",
        "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
    }
    result = client_for(body).embeddings.create(
        model="text-embedding-3-small", input=[[1, 2, 3], "text"], encoding_format="float"
    )
    assert result.data[0].embedding == [0.5, 0.25]
    [record] = records()
    assert record["status"] == "ok" and record["input_messages"][0]["parts"][0]["generic_type"] == "tokens"
    assert record["request_params"]["embedding_dimensions"] == 2
    assert record["usage"]["source"] == "estimated" and record["usage"]["output_tokens"] == 0


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("bug in our adapter")


@pytest.mark.internal_errors_expected
@pytest.mark.parametrize("method", ["fill_response", "messages", "fill_request", "provider_name"])
async def test_adapter_bug_on_the_worker_costs_neither_call_nor_record(
    method: str, monkeypatch: pytest.MonkeyPatch, fake: FakeProvider, records: Any
) -> None:
    monkeypatch.setattr(oai.ChatCompletionsAdapter, method, _raise)
    client = fake.openai_client()
    plain = client.chat.completions.create(**chat_kwargs())
    assert plain.choices[0].message.content  # the call returned normally
    [record] = records()
    assert record["status"] == "ok" and record["api"] == "chat.completions.create"
    assert lm.stats()["internal_errors"] == {f"openai.{method}:RuntimeError": 1}


@pytest.mark.internal_errors_expected
async def test_adapter_bug_on_the_callers_thread_returns_the_same_object(
    monkeypatch: pytest.MonkeyPatch, fake: FakeProvider, records: Any
) -> None:
    from llm_monitor_sdk.instrumentation import _wrapper

    returned: list[Any] = []
    original: Callable[..., Any] = _wrapper._wrap

    def broken(call: Any, result: Any) -> Any:
        returned.append(result)
        raise RuntimeError("bug in delivering the result")

    monkeypatch.setattr(_wrapper, "_wrap", broken)
    result = fake.openai_client().chat.completions.create(**chat_kwargs())
    assert result is returned[0]  # exactly the SDK's object
    monkeypatch.setattr(_wrapper, "_wrap", original)
    monkeypatch.setattr(oai.ChatCompletionsAdapter, "is_content_chunk", _raise)
    chunks = list(fake.openai_client().chat.completions.create(**chat_kwargs(), stream=True))
    assert chunks
    monkeypatch.setattr(oai.ChatCompletionsAdapter, "begin", _raise)
    assert fake.openai_client().chat.completions.create(**chat_kwargs()).choices
    first, streamed = records()  # begin failing means that call goes unrecorded, never unanswered
    assert first["status"] == "ok" and streamed["output_messages"]
    errors = lm.stats()["internal_errors"]
    assert errors["openai.deliver:RuntimeError"] == 1
    assert errors["stream.first_chunk:RuntimeError"] == 1
    assert errors["openai.start:RuntimeError"] == 1
