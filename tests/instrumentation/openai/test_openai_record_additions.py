"""OpenAI: error categories, safety, legacy ``function_call``, pricing by the request model when the
response names an unknown dated model (issue 12), on plain and streamed calls, sync and async."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from oai_support import chat_kwargs

from llm_monitor_sdk.testing import FakeProvider, sdk_http_module

HX = sdk_http_module("openai")


def _client(handler: Any, *, is_async: bool = False, azure: bool = False) -> Any:
    transport = HX.MockTransport(handler)
    http = HX.AsyncClient(transport=transport) if is_async else HX.Client(transport=transport)
    if azure:
        cls: Any = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
        return cls(
            azure_endpoint="http://fake.invalid",
            api_version="2024-10-21",
            api_key="k",
            http_client=http,
            max_retries=0,
        )
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(api_key="k", base_url="http://fake.invalid/v1", http_client=http, max_retries=0)


def _json(body: Any, status: int = 200) -> Any:
    return lambda request: HX.Response(status, json=body, headers={"x-request-id": "req_x"})


def _sse(events: list[Any]) -> Any:
    data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    return lambda request: HX.Response(200, headers={"content-type": "text/event-stream"}, content=data)


async def _create(client: Any, is_async: bool, **kwargs: Any) -> Any:
    result = client.chat.completions.create(**{**chat_kwargs(), **kwargs})
    if is_async:
        result = await result
        if kwargs.get("stream"):
            return [chunk async for chunk in result]
        return result
    return list(result) if kwargs.get("stream") else result


_BASE = {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini"}
_CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, "client"),
        (401, "client"),
        (404, "client"),
        (408, "timeout"),
        (429, "rate_limit"),
        (500, "server"),
        (503, "server"),
    ],
)
async def test_status_errors_get_a_category(
    status: int, category: str, fake: FakeProvider, records: Any, is_async: bool
) -> None:
    fake.fail_next(status)
    client = fake.openai_client(async_=is_async)
    with pytest.raises(openai.APIStatusError):
        await _create(client, is_async)
    [record] = records()
    assert record["error"]["status_code"] == status and record["error"]["category"] == category


async def test_timeout_and_connection_errors(fake: FakeProvider, records: Any, is_async: bool) -> None:
    fake.once(delay=2.0)
    with pytest.raises(openai.APITimeoutError):
        await _create(fake.openai_client(async_=is_async, timeout=0.2), is_async)
    fake.cut_next(0)
    with pytest.raises(openai.APIConnectionError):
        await _create(fake.openai_client(async_=is_async), is_async)
    closed = openai.AsyncOpenAI if is_async else openai.OpenAI
    with pytest.raises(openai.APIConnectionError):
        await _create(closed(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0), is_async)
    timeout, cut, refused = records()
    assert timeout["error"]["category"] == "timeout"
    assert cut["error"]["category"] == "connection"
    assert refused["error"]["category"] == "connection"


async def test_a_stream_cut_mid_way_is_a_connection_error(
    fake: FakeProvider, records: Any, is_async: bool
) -> None:
    fake.configure(chunks=6).cut_next(2)
    with pytest.raises(Exception):  # openai.APIError on 3.x, the HTTP library's protocol error on 2.x
        await _create(fake.openai_client(async_=is_async), is_async, stream=True)
    [record] = records()
    assert record["partial"] is True and record["error"]["category"] == "connection"


async def test_azure_content_filter_error_is_categorised_and_flagged(records: Any, is_async: bool) -> None:
    body = {
        "error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"hate": {"filtered": True}},
            },
        }
    }
    client = _client(_json(body, 400), is_async=is_async, azure=True)
    with pytest.raises(openai.BadRequestError):
        await _create(client, is_async, model="my-deployment")
    [record] = records()
    assert record["provider"] == "azure.ai.openai"
    assert record["error"]["category"] == "content_filter"
    assert record["safety"] == {"content_filtered": True, "refusal": False}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_content_filter_finish_reason(
    fake: FakeProvider, records: Any, is_async: bool, stream: bool
) -> None:
    fake.configure(finish_reason="content_filter")
    await _create(fake.openai_client(async_=is_async), is_async, stream=stream)
    fake.configure(finish_reason="stop")
    await _create(fake.openai_client(async_=is_async), is_async, stream=stream)
    filtered, fine = records()
    assert filtered["safety"] == {"content_filtered": True, "refusal": False}
    assert fine["safety"] == {"content_filtered": False, "refusal": False}


async def test_refusal_message_and_stream(records: Any, is_async: bool) -> None:
    refused = {
        **_BASE,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."},
            }
        ],
    }
    await _create(_client(_json(refused), is_async=is_async), is_async)
    events = [
        {
            **_CHUNK,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "refusal": "I can't"}, "finish_reason": None}
            ],
        },
        {**_CHUNK, "choices": [{"index": 0, "delta": {"refusal": " help."}, "finish_reason": "stop"}]},
    ]
    await _create(_client(_sse(events), is_async=is_async), is_async, stream=True)
    plain, streamed = records()
    for record in (plain, streamed):
        assert record["safety"] == {"content_filtered": False, "refusal": True}
    assert streamed["output_messages"][0]["parts"] == [{"type": "refusal", "content": "I can't help."}]


async def test_legacy_function_call_becomes_a_tool_call_part(records: Any, is_async: bool) -> None:
    answer = {
        **_BASE,
        "choices": [
            {
                "index": 0,
                "finish_reason": "function_call",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "function_call": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                },
            }
        ],
    }
    functions = [
        {"name": "weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    ]
    history = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "weather", "arguments": '{"city": "Bergen"}'},
        },
        {"role": "function", "name": "weather", "content": "rain"},
    ]
    await _create(_client(_json(answer), is_async=is_async), is_async, messages=history, functions=functions)
    events = [
        {
            **_CHUNK,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "function_call": {"name": "weather", "arguments": ""}},
                    "finish_reason": None,
                }
            ],
        },
        {
            **_CHUNK,
            "choices": [
                {"index": 0, "delta": {"function_call": {"arguments": '{"city": '}}, "finish_reason": None}
            ],
        },
        {
            **_CHUNK,
            "choices": [
                {
                    "index": 0,
                    "delta": {"function_call": {"arguments": '"Oslo"}'}},
                    "finish_reason": "function_call",
                }
            ],
        },
    ]
    await _create(_client(_sse(events), is_async=is_async), is_async, stream=True, functions=functions)
    plain, streamed = records()
    expected = {"type": "tool_call", "id": None, "name": "weather", "arguments": '{"city": "Oslo"}'}
    assert plain["output_messages"][0]["parts"] == [expected]
    assert streamed["output_messages"][0]["parts"] == [expected]
    assert plain["input_messages"][1]["parts"] == [
        {"type": "tool_call", "id": None, "name": "weather", "arguments": '{"city": "Bergen"}'}
    ]
    assert plain["request_params"]["functions"] == functions
    assert plain["finish_reasons"] == ["function_call"]


async def test_unknown_dated_response_model_is_priced_by_the_request_model(
    records: Any, is_async: bool
) -> None:
    body = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "davinci:2023-07-01-internal",
        "choices": [{"index": 0, "text": "ok", "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000},
    }
    client = _client(_json(body), is_async=is_async)
    result = client.completions.create(model="davinci-002", prompt="hi")
    if is_async:
        await result
    unknown = _client(_json({**body, "model": "no-such-model-anywhere"}), is_async=is_async)
    result = unknown.completions.create(model="also-unknown", prompt="hi")
    if is_async:
        await result
    priced, unpriced = records()
    assert priced["response_model"] == "davinci:2023-07-01-internal"
    assert priced["priced_model"] == "davinci-002"
    assert isinstance(priced["cost_usd"], float) and priced["cost_usd"] > 0
    assert unpriced["priced_model"] is None and unpriced["cost_usd"] is None  # null, never 0


async def test_known_response_model_wins_over_the_request_model(
    fake: FakeProvider, records: Any, is_async: bool
) -> None:
    await _create(fake.openai_client(async_=is_async), is_async, model="gpt-4o-mini")
    [record] = records()
    assert record["priced_model"] == record["response_model"] == "gpt-4o-mini"
