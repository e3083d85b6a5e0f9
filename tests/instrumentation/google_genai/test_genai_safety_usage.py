"""Finish reasons as Gemini spells them, blocked prompts, and usage (provider's or estimated)."""

from __future__ import annotations

from typing import Any

import pytest
from genai_support import MODEL, calls, run


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("reason", ["STOP", "SAFETY", "MAX_TOKENS"])
def test_candidate_finish_reasons(fake: Any, exporter: Any, client: Any, reason: str, stream: bool) -> None:
    fake.configure(finish_reason=reason)
    run(client, "models", False, stream)

    [record] = calls(exporter)
    assert record["finish_reasons"] == [reason]
    assert record["output_messages"][0]["finish_reason"] == reason
    assert record["status"] == "ok"


def _blocked(reason: str) -> Any:
    def reply(stream: bool) -> dict[str, Any]:
        feedback = {"blockReason": reason, "blockReasonMessage": f"Blocked: {reason.lower()}."}
        return {
            "promptFeedback": feedback,
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
            "modelVersion": "models/gemini-2.5-flash",
            "responseId": "resp-blocked",
        }

    return reply


@pytest.mark.parametrize(
    ("is_async", "stream"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["sync-plain", "sync-stream", "async-plain", "async-stream"],
)
@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT"])
def test_blocked_prompt_is_recorded_as_such(
    exporter: Any, canned: Any, reason: str, is_async: bool, stream: bool
) -> None:
    result = run(canned.serving(_blocked(reason)), "models", is_async, stream)

    [record] = calls(exporter)
    response = result[-1] if stream else result
    assert response.prompt_feedback.block_reason.value == reason and not response.candidates
    assert record["status"] == "ok"  # the provider answered: with a refusal
    assert record["finish_reasons"] == [reason]
    assert record["output_messages"] == [
        {
            "role": "assistant",
            "finish_reason": reason,
            "parts": [{"type": "refusal", "content": f"Blocked: {reason.lower()}."}],
        }
    ]
    assert record["response_model"] == MODEL  # "models/" prefix stripped for pricing
    assert record["response_id"] == "resp-blocked" and record["request_id"] == "req-canned"
    assert record["usage"]["input_tokens"] == 7 and record["usage"]["output_tokens"] == 0
    assert record["usage"]["source"] == "provider"


def test_tool_use_prompt_tokens_count_as_input(exporter: Any, canned: Any) -> None:
    def reply(stream: bool) -> dict[str, Any]:
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "Found it."}]}, "finishReason": "STOP"}
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "toolUsePromptTokenCount": 30,
                "candidatesTokenCount": 3,
                "thoughtsTokenCount": 2,
                "totalTokenCount": 45,
            },
            "modelVersion": "gemini-2.5-flash",
        }

    run(canned.serving(reply), "models", False, False)

    [record] = calls(exporter)
    assert record["usage"] == {
        "input_tokens": 40,
        "output_tokens": 5,
        "total_tokens": 45,
        "cache_read_input_tokens": None,
        "cache_write_input_tokens": None,
        "reasoning_output_tokens": 2,
        "source": "provider",
    }


@pytest.mark.parametrize(
    ("surface", "is_async", "stream"),
    [("models", False, False), ("models", True, True), ("chat", False, True), ("chat", True, False)],
)
def test_missing_usage_is_estimated_and_priced(
    fake: Any, exporter: Any, client: Any, surface: str, is_async: bool, stream: bool
) -> None:
    fake.configure(usage=False, text="A fairly long answer with several words in it.")
    run(client, surface, is_async, stream, contents="Tell me something.")

    [record] = calls(exporter)
    usage = record["usage"]
    assert usage["source"] == "estimated"
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert record["cost_usd"] is not None and record["cost_usd"] > 0
