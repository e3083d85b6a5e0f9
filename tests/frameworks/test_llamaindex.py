"""LlamaIndex: ``llama_index.llms.openai.OpenAI`` complete, chat, stream and async chat."""

from __future__ import annotations

import asyncio

from frameworks_support import assert_complete, calls, output_text, plain, with_and_without
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai import OpenAI

import llm_monitor_sdk as lm

TEXT = "Paris is the capital of France."


def _llm(fake) -> OpenAI:
    return OpenAI(model="gpt-4o-mini", api_base=fake.openai_base_url, api_key="k", max_retries=0)


def test_complete_and_chat(fake):
    def run():
        llm = _llm(fake)
        return llm.complete("Capital of France?"), llm.chat(
            [ChatMessage(role="user", content="Capital of France?")]
        )

    before, after, records = with_and_without(run)
    assert plain(after) == plain(before)
    completed, chatted = after
    assert completed.text == TEXT and chatted.message.content == TEXT
    got = calls(records)
    assert len(got) == 2
    for call in got:
        assert_complete(call, model="gpt-4o-mini", text=TEXT)
        assert call["api"] == "chat.completions.create"


def test_stream_chat(fake):
    fake.configure(chunks=5)

    def run():
        return list(_llm(fake).stream_chat([ChatMessage(role="user", content="Capital of France?")]))

    before, after, records = with_and_without(run, stream_usage=False)
    assert plain(after) == plain(before)
    assert after[-1].message.content == TEXT
    (call,) = calls(records)
    assert call["stream"] is True and output_text(call) == TEXT and call["ttft_ms"] is not None


def test_async_chat_inside_observe(llm_monitor_records, fake):
    @lm.observe("rag_answer")
    async def answer() -> str:
        reply = await _llm(fake).achat([ChatMessage(role="user", content="Capital of France?")])
        return str(reply.message.content)

    assert asyncio.run(answer()) == TEXT
    (span,) = llm_monitor_records.spans
    (call,) = llm_monitor_records.calls
    assert_complete(call, model="gpt-4o-mini", text=TEXT)
    assert call["parent_span_id"] == span["span_id"] and call["trace_id"] == span["trace_id"]
