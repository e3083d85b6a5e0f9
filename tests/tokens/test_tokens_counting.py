"""count_text / count_messages: model -> encoding, provider ratios, message overhead, non-text payloads."""

from __future__ import annotations

import base64
import json

import pytest

from llm_monitor_sdk import tokens

O200K = tokens.get_encoding("o200k_base")


def o200k(text: str) -> int:
    return len(O200K.encode(text, disallowed_special=()))


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4", "cl100k_base"),
        ("openai", "gpt-3.5-turbo", "cl100k_base"),
        ("openai", "gpt-4o-2024-08-06", "o200k_base"),
        ("openai", "gpt-5", "o200k_base"),
        ("openai", "o3", "o200k_base"),
        ("openai", "my-fine-tune", "o200k_base"),  # unknown -> o200k
        ("openai", None, "o200k_base"),
        ("openai", "text-davinci-003", "o200k_base"),  # p50k is not bundled
        ("openai", "gpt-oss-120b", "o200k_base"),  # o200k_harmony has o200k's ranks
        ("azure.ai.openai", "gpt-4", "cl100k_base"),
        ("anthropic", "claude-sonnet-4-5", "o200k_base"),
        ("gcp.gemini", "gemini-2.5-flash", "o200k_base"),
        ("gcp.vertex_ai", "gpt-4", "o200k_base"),
    ],
)
def test_encoding_for_model(provider: str, model: str | None, expected: str) -> None:
    assert tokens.encoding_name_for(provider, model) == expected


def test_openai_counts_use_the_models_encoding() -> None:
    text = "The quick brown fox jumps over the lazy dog. 東京タワー"
    cl100k = len(tokens.get_encoding("cl100k_base").encode(text))
    assert cl100k != o200k(text)  # the string tells the encodings apart
    assert tokens.count_text(text, provider="openai", model="gpt-4") == cl100k
    assert tokens.count_text(text, provider="openai", model="gpt-4o") == o200k(text)
    assert tokens.count_text("hello world", provider="openai", model="gpt-4") == 2


def test_special_token_text_is_counted_not_rejected() -> None:
    assert tokens.count_text("<|endoftext|>", provider="openai", model="gpt-4o") == o200k("<|endoftext|>") > 1


def test_empty_text_is_zero() -> None:
    assert tokens.count_text("", provider="anthropic", model="claude-opus-4-7") == 0


HUNDRED = "hello" + " hello" * 99


def test_claude_ratio_is_exact_for_round_numbers() -> None:
    assert o200k(HUNDRED) == 100
    # 100 x 1.22 must be 122, not ceil(122.00000000000001) = 123
    assert tokens.count_text(HUNDRED, provider="anthropic", model="claude-sonnet-4-5") == 122
    assert tokens.count_text(HUNDRED, provider="anthropic", model="claude-opus-4-7") == 150


@pytest.mark.parametrize(
    ("provider", "model", "ratio"),
    [
        ("anthropic", "claude-sonnet-4-5-20250929", 1.22),
        ("anthropic", "claude-opus-4-6", 1.22),
        ("anthropic", "claude-opus-4-20250514", 1.22),
        ("anthropic", "claude-opus-4-1-20250805", 1.22),
        ("anthropic", "claude-3-5-sonnet-20241022", 1.22),
        ("anthropic", "claude-haiku-4-5", 1.22),
        ("anthropic", None, 1.22),
        ("anthropic", "claude-opus-4-7", 1.5),
        ("anthropic", "claude-opus-4-8-20260301", 1.5),
        ("anthropic", "claude-opus-4.7", 1.5),
        ("anthropic", "claude-sonnet-5", 1.5),
        ("aws.bedrock", "anthropic.claude-opus-4-7-v1:0", 1.5),
        ("gcp.vertex_ai", "claude-opus-4-7@20260101", 1.5),
        ("gcp.vertex_ai", "claude-sonnet-4-5@20250929", 1.22),
    ],
)
def test_claude_ratios(provider: str, model: str | None, ratio: float) -> None:
    text = "Summarise the following contract clause in plain English, please. " * 3
    raw = o200k(text)
    expected = -(-raw * {1.22: 122, 1.5: 150}[ratio] // 100)
    assert tokens.count_text(text, provider=provider, model=model) == expected


@pytest.mark.parametrize("provider", ["gcp.gemini", "gcp.vertex_ai"])
def test_gemini_uses_o200k(provider: str) -> None:
    text = "Explain the Pythagorean theorem with an example."
    assert tokens.count_text(text, provider=provider, model="gemini-2.5-pro") == o200k(text)


def msg(role: str, *parts: dict) -> dict:
    return {"role": role, "parts": list(parts)}


def text(content: str) -> dict:
    return {"type": "text", "content": content}


def test_message_overhead_rule() -> None:
    # 3 per message + role ("user" = 1 token) + content (2) + 3 reply priming = 9, as in OpenAI's chat format
    one = [msg("user", text("hello world"))]
    assert tokens.count_messages(one, provider="openai", model="gpt-4o") == 9
    two = [msg("system", text("Be brief.")), msg("user", text("hello world"))]
    expected = (
        tokens.TOKENS_PER_MESSAGE * 2 + o200k("system") + o200k("Be brief.") + o200k("user") + 2
    ) + tokens.REPLY_PRIMING_TOKENS
    assert tokens.count_messages(two, provider="openai", model="gpt-4o") == expected


def test_empty_conversation_is_zero() -> None:
    assert tokens.count_messages([], provider="openai", model="gpt-4o") == 0


def test_blob_payloads_are_not_counted_as_text() -> None:
    payload = base64.b64encode(bytes(range(256)) * 4000).decode()  # ~1.4 MB of base64
    base = [msg("user", text("What is in this picture?"))]
    with_image = [
        msg(
            "user",
            text("What is in this picture?"),
            {"type": "blob", "modality": "image", "mime_type": "image/png", "content": payload},
        )
    ]
    plain = tokens.count_messages(base, provider="openai", model="gpt-4o")
    assert tokens.count_messages(with_image, provider="openai", model="gpt-4o") == plain + tokens.IMAGE_TOKENS


def test_data_url_in_text_and_uri_parts_count_as_images() -> None:
    data_url = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8" * 50_000).decode()
    messages = [
        msg(
            "user", text(data_url), {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"}
        )
    ]
    expected = tokens.TOKENS_PER_MESSAGE + 1 + 2 * tokens.IMAGE_TOKENS + tokens.REPLY_PRIMING_TOKENS
    assert tokens.count_messages(messages, provider="openai", model="gpt-4o") == expected


def test_tool_calls_and_responses_are_counted() -> None:
    args = {"city": "Paris", "unit": "celsius"}
    messages = [
        msg("assistant", {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": args}),
        msg("tool", {"type": "tool_call_response", "id": "call_1", "response": {"temp": 21}}),
    ]
    expected = (
        2 * tokens.TOKENS_PER_MESSAGE
        + o200k("assistant")
        + o200k("get_weather")
        + o200k(json.dumps(args, separators=(",", ":")))
        + o200k("tool")
        + o200k('{"temp":21}')
        + tokens.REPLY_PRIMING_TOKENS
    )
    assert tokens.count_messages(messages, provider="openai", model="gpt-4o") == expected
    # string arguments are counted as given
    as_string = [msg("assistant", {"type": "tool_call", "name": "f", "arguments": '{"a": 1}'})]
    assert tokens.count_messages(as_string, provider="openai", model="gpt-4o") == (
        tokens.TOKENS_PER_MESSAGE
        + o200k("assistant")
        + o200k("f")
        + o200k('{"a": 1}')
        + tokens.REPLY_PRIMING_TOKENS
    )


def test_plain_content_and_bare_parts_are_accepted() -> None:
    plain = [{"role": "user", "content": "hello world"}]
    assert tokens.count_messages(plain, provider="openai", model="gpt-4o") == 9
    bare = [text("hello world")]  # system_instructions shape: parts only, no message overhead
    assert tokens.count_messages(bare, provider="openai", model="gpt-4o") == 2 + tokens.REPLY_PRIMING_TOKENS
    assert tokens.count_parts(bare, provider="openai", model="gpt-4o") == 2


def test_anthropic_messages_scaled_once() -> None:
    messages = [msg("user", text(HUNDRED))]
    raw = tokens.TOKENS_PER_MESSAGE + o200k("user") + 100 + tokens.REPLY_PRIMING_TOKENS
    assert tokens.count_messages(messages, provider="anthropic", model="claude-sonnet-4-5") == -(
        -raw * 122 // 100
    )
