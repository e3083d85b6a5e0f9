"""What the record says: finish reasons, several choices, tool calls, reasoning, usage, estimates, cost, Azure."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from oai_support import (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    TEXT,
    chat_kwargs,
    legacy_kwargs,
    output_text,
    responses_kwargs,
)

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}


def chat(client: Any, stream: bool, **kwargs: Any) -> None:
    result = client.chat.completions.create(**{**chat_kwargs(), **kwargs}, stream=stream)
    if stream:
        list(result)


def responses(client: Any, stream: bool, **kwargs: Any) -> None:
    result = client.responses.create(**{**responses_kwargs(), **kwargs}, stream=stream)
    if stream:
        list(result)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_content_filter_is_a_finish_reason(stream: bool, fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client()
    fake.once(finish_reason="content_filter")
    chat(client, stream)
    fake.once(finish_reason="content_filter")
    responses(client, stream)
    chat_record, responses_record = records()
    assert chat_record["finish_reasons"] == ["content_filter"] and chat_record["status"] == "ok"
    assert responses_record["finish_reasons"] == [
        "content_filter"
    ]  # status incomplete, reason content_filter


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_incomplete_response_records_its_reason(stream: bool, fake: FakeProvider, records: Any) -> None:
    fake.once(finish_reason="length")
    responses(fake.openai_client(), stream, max_output_tokens=5)
    [record] = records()
    assert record["finish_reasons"] == ["max_output_tokens"]
    assert record["request_params"]["max_output_tokens"] == 5
    assert output_text(record) == TEXT and record["partial"] is False


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_several_choices(stream: bool, fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client()
    chat(client, stream, n=2)
    result = client.completions.create(**legacy_kwargs(), n=2, stream=stream)
    if stream:
        list(result)
    chat_record, legacy_record = records()
    for record in (chat_record, legacy_record):
        assert record["finish_reasons"] == ["stop", "stop"]
        assert [m["parts"][0]["content"] for m in record["output_messages"]] == [TEXT, TEXT]
        assert record["usage"]["output_tokens"] == 2 * OUTPUT_TOKENS
        assert record["request_params"]["n"] == 2


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_tool_calls(stream: bool, fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client()
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    fake.once(text="", tool_calls=[WEATHER])
    chat(client, stream, tools=tools)
    fake.once(text="", tool_calls=[WEATHER])
    responses(
        client, stream, tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    )
    chat_record, responses_record = records()
    expected = {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert chat_record["finish_reasons"] == ["tool_calls"]
    [part] = chat_record["output_messages"][0]["parts"]
    assert {**part, "arguments": json.dumps(json.loads(part["arguments"]), separators=(",", ":"))} == expected
    assert chat_record["request_params"]["tools"] == tools
    [part] = responses_record["output_messages"][0]["parts"]
    assert (part["type"], part["name"], part["id"]) == ("tool_call", "get_weather", "call_1")
    assert responses_record["finish_reasons"] == ["completed"]


async def test_tool_call_history_in_the_request(fake: FakeProvider, records: Any) -> None:
    messages = [
        {"role": "developer", "content": "Use tools."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=messages)
    [record] = records()
    assert record["system_instructions"] == [{"type": "text", "content": "Use tools."}]
    user, assistant, tool = record["input_messages"]
    assert user["parts"][0] == {"type": "text", "content": "Weather?"}
    assert user["parts"][1]["type"] == "blob" and user["parts"][1]["mime_type"] == "image/png"
    assert "iVBOR" not in json.dumps(record)  # no base64 payload in the record
    assert assistant["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": "{}"}
    ]
    assert tool == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "sunny"}],
    }


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_cached_and_reasoning_tokens(stream: bool, fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client()
    fake.configure(cached_tokens=8, reasoning_tokens=3, thinking="Think first.")
    chat(client, stream)
    responses(client, stream)
    for record in records():
        usage = record["usage"]
        assert usage["input_tokens"] == INPUT_TOKENS and usage["cache_read_input_tokens"] == 8
        assert usage["reasoning_output_tokens"] == 3 and usage["source"] == "provider"
    responses_record = records()[1]
    assert responses_record["output_messages"][0]["parts"][0] == {
        "type": "reasoning",
        "content": "Think first.",
    }


@pytest.mark.parametrize(
    "api", ["chat", "chat-stream", "responses", "responses-stream", "legacy", "embeddings"]
)
async def test_usage_is_estimated_when_the_provider_gives_none(
    api: str, fake: FakeProvider, records: Any
) -> None:
    fake.configure(usage=False)
    client = fake.openai_client()
    if api.startswith("chat"):
        chat(client, api.endswith("stream"))
    elif api.startswith("responses"):
        responses(client, api.endswith("stream"))
    elif api == "legacy":
        client.completions.create(**legacy_kwargs())
    else:
        client.embeddings.create(model="text-embedding-3-small", input="Say hello")
    [record] = records()
    usage = record["usage"]
    assert usage["source"] == "estimated" and usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0 if api != "embeddings" else usage["output_tokens"] == 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert record["cost_usd"] > 0


async def test_unknown_model_costs_null_not_zero(fake: FakeProvider, records: Any) -> None:
    fake.openai_client().chat.completions.create(
        model="my-own-model-7", messages=[{"role": "user", "content": "x"}]
    )
    [record] = records()
    assert record["usage"]["input_tokens"] == INPUT_TOKENS and record["cost_usd"] is None


@pytest.mark.parametrize("how", ["env", "argument"])
async def test_prices_file_overrides_bundled_prices(
    how: str,
    fake: FakeProvider,
    tmp_path: Any,
    memory_exporter: lm.exporters.InMemoryExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "models": [
                    {
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "input_per_mtok": 1_000_000,
                        "output_per_mtok": 2_000_000,
                    },
                    {
                        "provider": "openai",
                        "model": "my-own-model-7",
                        "input_per_mtok": 3_000_000,
                        "output_per_mtok": 0,
                    },
                ]
            }
        )
    )
    if how == "env":
        monkeypatch.setenv("LLM_MONITOR_PRICES_FILE", str(path))
        lm.instrument(["openai"], exporters=[memory_exporter], redact=False)
    else:
        lm.instrument(["openai"], exporters=[memory_exporter], redact=False, prices_file=str(path))
    client = fake.openai_client()
    client.chat.completions.create(**chat_kwargs())
    client.chat.completions.create(model="my-own-model-7", messages=[{"role": "user", "content": "x"}])
    assert lm.flush(5.0)
    known, own = memory_exporter.calls
    assert known["cost_usd"] == pytest.approx(INPUT_TOKENS * 1.0 + OUTPUT_TOKENS * 2.0)
    assert own["cost_usd"] == pytest.approx(INPUT_TOKENS * 3.0)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_azure_client_is_recorded_as_azure(is_async: bool, fake: FakeProvider, records: Any) -> None:
    options = {"azure_endpoint": fake.url, "api_version": "2024-10-21", "api_key": "k", "max_retries": 0}
    if is_async:
        client: Any = openai.AsyncAzureOpenAI(**options)
        await client.chat.completions.create(**chat_kwargs())
    else:
        client = openai.AzureOpenAI(**options)
        client.chat.completions.create(**chat_kwargs())
    assert fake.last_request.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    [record] = records()
    assert record["provider"] == "azure.ai.openai" and record["status"] == "ok"
    assert output_text(record) == TEXT and record["cost_usd"] is not None
