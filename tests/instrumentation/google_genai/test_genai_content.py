"""What a record says about the request: messages from ``contents``, system instructions, parameters."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from genai_support import MODEL, calls
from google.genai import types

IMAGE = b"\x89PNG\r\n" + bytes(range(200)) * 5  # 1006 bytes that must never reach a record


def _user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts)}


def _text(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


CONTENTS = {
    "str": ("Hi", [_user(_text("Hi"))]),
    "list of str": (["a", "b"], [_user(_text("a"), _text("b"))]),
    "Content turns": (
        [
            types.Content(role="user", parts=[types.Part.from_text(text="q")]),
            types.Content(role="model", parts=[types.Part(text="a")]),
            "next",
        ],
        [_user(_text("q")), {"role": "assistant", "parts": [_text("a")]}, _user(_text("next"))],
    ),
    "dicts snake and camel": (
        [
            {"role": "user", "parts": [{"text": "x"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"k": 1}}}]},
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"ok": True}}}]},
        ],
        [
            _user(_text("x")),
            {
                "role": "assistant",
                "parts": [{"type": "tool_call", "id": None, "name": "f", "arguments": {"k": 1}}],
            },
            {
                "role": "tool",
                "parts": [{"type": "tool_call_response", "id": None, "name": "f", "response": {"ok": True}}],
            },
        ],
    ),
    "parts: bytes and uri": (
        [
            "What is this?",
            types.Part.from_bytes(data=IMAGE, mime_type="image/png"),
            types.Part.from_uri(file_uri="gs://bucket/cat.jpg", mime_type="image/jpeg"),
        ],
        [
            _user(
                _text("What is this?"),
                {"type": "blob", "modality": "image", "mime_type": "image/png", "size_bytes": len(IMAGE)},
                {"type": "uri", "modality": "image", "mime_type": "image/jpeg", "uri": "gs://bucket/cat.jpg"},
            )
        ],
    ),
    "single Part": (types.Part.from_text(text="solo"), [_user(_text("solo"))]),
}


@pytest.mark.parametrize("case", list(CONTENTS))
def test_contents_become_otel_messages(fake: Any, exporter: Any, client: Any, case: str) -> None:
    contents, expected = CONTENTS[case]
    client.models.generate_content(model=MODEL, contents=contents)

    [record] = calls(exporter)
    assert record["input_messages"] == expected
    dumped = json.dumps(record)
    assert base64.b64encode(IMAGE)[:40].decode() not in dumped and "\\u0089PNG" not in dumped  # no payload


SYSTEM = {
    "str": "Be brief.",
    "Part": types.Part.from_text(text="Be brief."),
    "Content": types.Content(parts=[types.Part.from_text(text="Be brief.")]),
    "list": ["Be brief."],
    "dict config": None,  # given as a plain dict config below
}


@pytest.mark.parametrize("case", list(SYSTEM))
def test_system_instruction_goes_to_system_instructions(
    fake: Any, exporter: Any, client: Any, case: str
) -> None:
    config: Any = (
        {"system_instruction": "Be brief."}
        if case == "dict config"
        else types.GenerateContentConfig(system_instruction=SYSTEM[case])
    )
    client.models.generate_content(model=MODEL, contents="Hi", config=config)

    [record] = calls(exporter)
    assert record["system_instructions"] == [_text("Be brief.")]
    assert record["input_messages"] == [_user(_text("Hi"))]


def get_weather(city: str) -> str:
    """A Python tool (the SDK's automatic function calling)."""
    return f"sunny in {city}"


@pytest.mark.parametrize("as_dict", [False, True], ids=["typed", "dict"])
def test_request_params_from_config(fake: Any, exporter: Any, client: Any, as_dict: bool) -> None:
    params: dict[str, Any] = {
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "max_output_tokens": 100,
        "candidate_count": 1,
        "stop_sequences": ["END"],
        "seed": 7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "response_mime_type": "text/plain",
        "thinking_config": {"thinking_budget": 128},
    }
    tools = [
        {"function_declarations": [{"name": "lookup", "description": "Look up."}]},
        {"google_search": {}},
    ]
    config: Any = (
        {**params, "tools": tools}
        if as_dict
        else types.GenerateContentConfig(**params, tools=[types.Tool(**t) for t in tools])
    )
    client.models.generate_content(model=MODEL, contents="Hi", config=config)

    [record] = calls(exporter)
    assert record["request_params"] == {**params, "tools": ["lookup", "google_search"]}


def test_contents_are_snapshotted_on_the_callers_thread(fake: Any, exporter: Any, client: Any) -> None:
    contents = ["first"]
    client.models.generate_content(model=MODEL, contents=contents)
    contents.append("appended after the call")

    [record] = calls(exporter)
    assert record["input_messages"] == [_user(_text("first"))]


def test_output_parts_reasoning_and_tool_calls(fake: Any, exporter: Any, client: Any) -> None:
    fake.configure(
        text="",
        thinking="Let me think.",
        reasoning_tokens=6,
        cached_tokens=4,
        tool_calls=[{"name": "lookup", "arguments": {"q": "x"}}],
    )
    config = types.GenerateContentConfig(
        tools=[
            types.Tool(
                function_declarations=[types.FunctionDeclaration(name="lookup", description="Look up.")]
            )
        ]
    )
    response = client.models.generate_content(model=MODEL, contents="Hi", config=config)

    [record] = calls(exporter)
    assert response.function_calls[0].name == "lookup"
    assert record["output_messages"] == [
        {
            "role": "assistant",
            "finish_reason": "STOP",
            "parts": [
                {"type": "reasoning", "content": "Let me think."},
                {"type": "tool_call", "id": None, "name": "lookup", "arguments": {"q": "x"}},
            ],
        }
    ]
    assert record["usage"] == {
        "input_tokens": 12,
        "output_tokens": 11,
        "total_tokens": 23,
        "cache_read_input_tokens": 4,
        "cache_write_input_tokens": None,
        "reasoning_output_tokens": 6,
        "source": "provider",
    }


def test_streamed_reasoning_and_text_are_joined_per_kind(fake: Any, exporter: Any, client: Any) -> None:
    fake.configure(text="Hello there", thinking="Hmm.", chunks=4)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="Hi"))

    [record] = calls(exporter)
    assert len(chunks) == 5
    assert record["output_messages"][0]["parts"] == [
        {"type": "reasoning", "content": "Hmm."},
        _text("Hello there"),
    ]


def test_automatic_function_calling_in_models_is_one_record(fake: Any, exporter: Any, client: Any) -> None:
    fake.once(text="", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    response = client.models.generate_content(
        model=MODEL, contents="Weather in Paris?", config=types.GenerateContentConfig(tools=[get_weather])
    )

    [record] = calls(exporter)
    assert fake.request_count == 2  # the SDK called the model, ran the tool, called it again
    assert response.text == "Hello there"
    assert record["request_params"]["tools"] == ["get_weather"]
    assert record["input_messages"] == [_user(_text("Weather in Paris?"))]
    assert record["output_messages"][0]["parts"] == [_text("Hello there")]


def test_automatic_function_calling_in_chat_is_one_record_per_model_call(
    fake: Any, exporter: Any, client: Any
) -> None:
    fake.once(text="", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    chat = client.chats.create(model=MODEL, config=types.GenerateContentConfig(tools=[get_weather]))
    assert chat.send_message("Weather in Paris?").text == "Hello there"

    records = calls(exporter)
    assert fake.request_count == len(records) == 2
    first, second = records
    assert first["output_messages"][0]["parts"][0]["type"] == "tool_call"
    assert second["input_messages"][-1] == {
        "role": "tool",
        "parts": [
            {
                "type": "tool_call_response",
                "id": None,
                "name": "get_weather",
                "response": {"result": "sunny in Paris"},
            }
        ],
    }
