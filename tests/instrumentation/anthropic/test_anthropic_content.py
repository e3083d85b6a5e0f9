"""What Anthropic records hold: input blocks, thinking, tool use, server tools, refusals, usage updates, legacy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from anthropic_support import HAS_LEGACY_COMPLETIONS, KWARGS, MODEL, maybe_await

from llm_monitor_sdk.testing import IN_PROCESS_URL, sdk_http_module

_MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def crafted_client(is_async: bool, reply: Callable[[dict[str, Any]], Any]) -> Any:
    """An Anthropic client whose replies come from ``reply(request_body)``: a dict (JSON) or SSE bytes."""
    import anthropic

    hx = sdk_http_module("anthropic")

    def handler(request: Any) -> Any:
        out = reply(json.loads(request.content))
        headers = {"request-id": "req_crafted"}
        if isinstance(out, bytes):
            return hx.Response(200, content=out, headers={**headers, "content-type": "text/event-stream"})
        return hx.Response(200, json=out, headers=headers)

    transport = hx.MockTransport(handler)
    http = hx.AsyncClient(transport=transport) if is_async else hx.Client(transport=transport)
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return cls(api_key="sk-ant-fake", base_url=IN_PROCESS_URL, max_retries=0, http_client=http)


async def _drain(result: Any, is_async: bool) -> None:
    if is_async:
        async for _ in result:
            pass
    else:
        for _ in result:
            pass


_RICH_SYSTEM = [
    {"type": "text", "text": "Rule one."},
    {"type": "text", "text": "Rule two.", "cache_control": {"type": "ephemeral"}},
]
_RICH_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Look:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "aGVsbG8="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            },
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}},
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "cats"}},
        ],
    },
    {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": "42 cats"}],
            },
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "plain result"},
        ],
    },
]


async def test_input_blocks_become_otel_parts_without_payloads(
    fake: Any, start_monitor: Any, records: Any
) -> None:
    start_monitor()
    messages = [dict(m) for m in _RICH_MESSAGES]
    client = fake.anthropic_client(in_process=True)
    client.messages.create(model=MODEL, max_tokens=32, system=_RICH_SYSTEM, messages=messages)
    messages.append({"role": "user", "content": "appended after the call"})

    [record] = records()
    assert record["system_instructions"] == [
        {"type": "text", "content": "Rule one."},
        {"type": "text", "content": "Rule two."},
    ]
    assert record["input_messages"] == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Look:"},
                {"type": "blob", "modality": "image", "mime_type": "image/png", "size_bytes": 6},
                {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
                {"type": "blob", "modality": "document", "mime_type": "application/pdf", "size_bytes": 6},
                {"type": "text", "content": "plain doc"},
            ],
        },
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "hmm"},
                {"type": "tool_call", "id": "toolu_1", "name": "lookup", "arguments": {"q": "cats"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"type": "tool_call_response", "id": "toolu_1", "response": "42 cats"},
                {"type": "tool_call_response", "id": "toolu_2", "response": "plain result"},
            ],
        },
    ]
    dumped = json.dumps(record)
    assert "aGVsbG8=" not in dumped and "JVBERi0=" not in dumped  # no base64 payload leaves the process


@_MODES
@pytest.mark.parametrize("surface", ["plain", "create-stream", "helper"])
async def test_thinking_and_tool_use_from_the_fake(
    surface: str, is_async: bool, fake: Any, start_monitor: Any, records: Any
) -> None:
    fake.configure(
        thinking="Weighing it up.",
        tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}, "id": "toolu_w"}],
    )
    start_monitor()
    client = fake.anthropic_client(is_async, in_process=True)
    if surface == "plain":
        await maybe_await(client.messages.create(**KWARGS))
    elif surface == "create-stream":
        await _drain(await maybe_await(client.messages.create(stream=True, **KWARGS)), is_async)
    elif is_async:
        async with client.messages.stream(**KWARGS) as helper:
            final = await helper.get_final_message()
        assert final.content[-1].input == {"city": "Paris"}
    else:
        with client.messages.stream(**KWARGS) as helper:
            assert helper.get_final_message().content[-1].input == {"city": "Paris"}

    [record] = records()
    assert record["finish_reasons"] == ["tool_use"]
    assert record["output_messages"][0]["parts"] == [
        {"type": "reasoning", "content": "Weighing it up."},
        {"type": "text", "content": fake.knobs.text},
        {"type": "tool_call", "id": "toolu_w", "name": "weather", "arguments": {"city": "Paris"}},
    ]


_SERVER_TOOL_REPLY = {
    "id": "msg_c1",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
        {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [
                {"type": "web_search_result", "url": "https://e.x", "title": "t", "encrypted_content": "zz"}
            ],
        },
        {"type": "text", "text": "I can't help with that."},
    ],
    "stop_reason": "refusal",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "output_tokens": 4,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": None,
    },
}


@_MODES
async def test_server_tools_redacted_thinking_and_refusal(
    is_async: bool, start_monitor: Any, records: Any
) -> None:
    start_monitor()
    client = crafted_client(is_async, lambda body: _SERVER_TOOL_REPLY)
    response = await maybe_await(client.messages.create(**KWARGS))
    assert response.stop_reason == "refusal"

    [record] = records()
    assert record["finish_reasons"] == ["refusal"]
    assert record["output_messages"] == [
        {
            "role": "assistant",
            "finish_reason": "refusal",
            "parts": [
                {"type": "reasoning", "content": None},
                {
                    "type": "server_tool_call",
                    "id": "srvtoolu_1",
                    "name": "web_search",
                    "arguments": {"query": "x"},
                },
                {"type": "server_tool_call_response", "id": "srvtoolu_1", "name": "web_search_tool_result"},
                {"type": "text", "content": "I can't help with that."},
            ],
        }
    ]
    assert record["usage"] == {
        "input_tokens": 10,
        "output_tokens": 4,
        "total_tokens": 14,
        "cache_read_input_tokens": 0,
        "cache_write_input_tokens": 0,
        "reasoning_output_tokens": None,
        "source": "provider",
    }
    assert record["request_id"] == "req_crafted"


_START_USAGE = {
    "input_tokens": 10,
    "output_tokens": 1,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
}
_TOOL_STREAM = _sse(
    [
        {
            "type": "message_start",
            "message": {
                "id": "msg_s1",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": _START_USAGE,
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "let me "},
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "think"}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "c2ln"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
        },
        {"type": "content_block_stop", "index": 1},
        # Newer API versions restate input and cache counts here; output_tokens is the running total.
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {
                "output_tokens": 30,
                "input_tokens": 50,
                "cache_read_input_tokens": 20,
                "cache_creation_input_tokens": 3,
            },
        },
        {"type": "message_stop"},
    ]
)


@_MODES
@pytest.mark.parametrize("surface", ["create-stream", "helper"])
async def test_streamed_thinking_tool_json_and_usage_updates(
    surface: str, is_async: bool, start_monitor: Any, records: Any
) -> None:
    start_monitor()
    client = crafted_client(is_async, lambda body: _TOOL_STREAM)
    if surface == "create-stream":
        await _drain(await maybe_await(client.messages.create(stream=True, **KWARGS)), is_async)
    elif is_async:
        async with client.messages.stream(**KWARGS) as helper:
            assert (await helper.get_final_message()).content[1].input == {"city": "Paris"}
    else:
        with client.messages.stream(**KWARGS) as helper:
            assert helper.get_final_message().content[1].input == {"city": "Paris"}

    [record] = records()
    assert record["output_messages"][0]["parts"] == [
        {"type": "reasoning", "content": "let me think"},
        {"type": "tool_call", "id": "toolu_9", "name": "weather", "arguments": {"city": "Paris"}},
    ]
    assert record["usage"] == {
        "input_tokens": 73,
        "output_tokens": 30,
        "total_tokens": 103,
        "cache_read_input_tokens": 20,
        "cache_write_input_tokens": 3,
        "reasoning_output_tokens": None,
        "source": "provider",
    }
    assert record["finish_reasons"] == ["tool_use"] and record["response_id"] == "msg_s1"
    assert record["request_id"] == "req_crafted" and record["ttft_ms"] is not None


_COMPLETION = {
    "type": "completion",
    "id": "compl_1",
    "completion": " Hi there",
    "stop_reason": "stop_sequence",
    "model": "claude-2.1",
}
_COMPLETION_STREAM = _sse(
    [
        {
            "type": "completion",
            "id": "compl_1",
            "completion": " Hi",
            "stop_reason": None,
            "model": "claude-2.1",
        },
        {
            "type": "completion",
            "id": "compl_1",
            "completion": " there",
            "stop_reason": None,
            "model": "claude-2.1",
        },
        {
            "type": "completion",
            "id": "compl_1",
            "completion": "",
            "stop_reason": "stop_sequence",
            "model": "claude-2.1",
        },
    ]
)
_PROMPT = "\n\nHuman: Hello\n\nAssistant:"


async def test_legacy_text_completions_where_the_version_has_them(start_monitor: Any, records: Any) -> None:
    from llm_monitor_sdk.instrumentation import patched_keys

    start_monitor()
    legacy = [key for key in patched_keys() if key.startswith("anthropic.resources.completions:")]
    if not HAS_LEGACY_COMPLETIONS:  # 1.0 removed /v1/complete: nothing to patch, nothing breaks
        assert legacy == []
        return
    assert legacy == [
        "anthropic.resources.completions:AsyncCompletions.create",
        "anthropic.resources.completions:Completions.create",
    ]
    for is_async in (False, True):
        for stream in (False, True):
            client = crafted_client(
                is_async, lambda body: _COMPLETION_STREAM if body.get("stream") else _COMPLETION
            )
            result = await maybe_await(
                client.completions.create(
                    model="claude-2.1", max_tokens_to_sample=20, prompt=_PROMPT, stream=stream
                )
            )
            if stream:
                await _drain(result, is_async)
            else:
                assert result.completion == " Hi there"
            [record] = records()[-1:]
            assert (record["operation"], record["api"], record["stream"]) == (
                "text_completion",
                "completions.create",
                stream,
            )
            assert record["input_messages"] == [
                {"role": "user", "parts": [{"type": "text", "content": _PROMPT}]}
            ]
            assert record["output_messages"][0]["parts"] == [{"type": "text", "content": " Hi there"}]
            assert record["finish_reasons"] == ["stop_sequence"] and record["request_id"] == "req_crafted"
            assert record["usage"]["source"] == "estimated"  # the legacy API reports no usage
            assert record["request_params"] == {"max_tokens_to_sample": 20}
    assert len(records()) == 4
