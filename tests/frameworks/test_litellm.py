"""LiteLLM: which of its provider paths go through an official client we patch, checked call by call.

LiteLLM calls the official ``openai`` client for OpenAI and Azure OpenAI, and its own HTTP handlers for
Anthropic, Gemini and most other providers. What we can see is only what goes through a patched method
of an official client; the support matrix in ``docs/frameworks.md`` follows these tests.
"""

from __future__ import annotations

import litellm
import pytest
from frameworks_support import assert_complete, calls, plain, with_and_without

import llm_monitor_sdk as lm

TEXT = "Paris is the capital of France."
MESSAGES = [{"role": "user", "content": "Capital of France?"}]


def _completion(fake, **kwargs):
    return litellm.completion(
        model="openai/gpt-4o-mini", api_base=fake.openai_base_url, api_key="k", messages=MESSAGES, **kwargs
    )


def test_results_are_unchanged(fake):
    before, after, _ = with_and_without(lambda: _completion(fake))
    assert plain(after) == plain(before) and after.choices[0].message.content == TEXT


@pytest.mark.parametrize("stream", [False, True])
def test_openai_chat_is_recorded(fake, stream):
    memory = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[memory], redact=False, flush_interval=0.05)
    response = _completion(fake, stream=stream)
    if stream:
        assert "".join(chunk.choices[0].delta.content or "" for chunk in response) == TEXT
    assert lm.flush(5)
    (call,) = calls(memory.records)
    assert_complete(call, model="gpt-4o-mini", text=TEXT)


def test_anthropic_goes_through_litellms_own_http_client_and_is_not_recorded(fake):
    memory = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[memory], redact=False, flush_interval=0.05)
    response = litellm.completion(
        model="anthropic/claude-sonnet-4-5", api_base=fake.anthropic_base_url, api_key="k", messages=MESSAGES
    )
    assert response.choices[0].message.content == TEXT and fake.request_count == 1
    assert lm.flush(5)
    assert calls(memory.records) == []  # documented in docs/frameworks.md: not captured
