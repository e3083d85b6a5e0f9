"""LangChain: ``ChatOpenAI`` (invoke, stream, batch, tool calling) and ``ChatAnthropic``, with LangSmith on."""

from __future__ import annotations

import json

from frameworks_support import assert_complete, calls, output_text, plain, tool_calls, with_and_without
from langchain_anthropic import ChatAnthropic
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

import llm_monitor_sdk as lm

TEXT = "Paris is the capital of France."


def _openai(fake) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o-mini", base_url=fake.openai_base_url, api_key="k", max_retries=0)


def _anthropic(fake) -> ChatAnthropic:
    return ChatAnthropic(
        model="claude-sonnet-4-5", base_url=fake.anthropic_base_url, api_key="k", max_retries=0
    )


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_invoke(fake):
    before, after, records = with_and_without(lambda: _openai(fake).invoke("Capital of France?"))
    assert plain(after) == plain(before) and after.content == TEXT
    (call,) = calls(records)
    assert_complete(call, model="gpt-4o-mini", text=TEXT)
    assert call["api"] == "chat.completions.create" and call["stream"] is False


def test_stream(fake):
    fake.configure(chunks=4)

    def run():
        return list(_openai(fake).stream("Capital of France?"))

    # stream_usage=False: the SDK leaves the request exactly as LangChain built it.
    before, after, records = with_and_without(run, stream_usage=False)
    assert plain(after) == plain(before)
    assert "".join(chunk.content for chunk in after) == TEXT
    (call,) = calls(records)
    assert call["stream"] is True and call["ttft_ms"] is not None and output_text(call) == TEXT
    assert call["usage"]["source"] == "estimated"  # LangChain did not ask OpenAI for stream usage


def test_stream_usage_injection_is_invisible_to_langchain(fake):
    # The default LLM_MONITOR_STREAM_USAGE=true asks OpenAI for usage (docs/providers/openai.md); the
    # usage-only chunk this adds is read for the record and withheld from the caller, so LangChain
    # yields exactly the chunks it yields without the SDK, and the record has the provider's counts.
    fake.configure(chunks=4)
    before, after, records = with_and_without(lambda: list(_openai(fake).stream("Capital of France?")))
    assert plain(after) == plain(before)
    assert all(chunk.usage_metadata is None for chunk in after)
    (call,) = calls(records)
    assert_complete(call, model="gpt-4o-mini", text=TEXT)
    assert call["usage"]["source"] == "provider" and call["usage"]["input_tokens"] == 12


def test_batch(fake):
    questions = ["Capital of France?", "Capital of Italy?", "Capital of Spain?"]
    before, after, records = with_and_without(lambda: _openai(fake).batch(questions))
    assert plain(after) == plain(before)
    got = calls(records)
    assert len(got) == 3  # one record per HTTP request, batch or not
    asked = sorted(m["parts"][0]["content"] for c in got for m in c["input_messages"])
    assert asked == sorted(questions)
    for call in got:
        assert_complete(call, model="gpt-4o-mini", text=TEXT)


def test_tool_calling(fake):
    def run():
        fake.once(text="", tool_calls=[{"name": "add", "arguments": {"a": 1, "b": 2}}])
        return _openai(fake).bind_tools([add]).invoke("What is 1 + 2?")

    before, after, records = with_and_without(run)
    assert plain(after) == plain(before)
    assert after.tool_calls[0]["name"] == "add" and after.tool_calls[0]["args"] == {"a": 1, "b": 2}
    (call,) = calls(records)
    assert call["finish_reasons"] == ["tool_calls"]
    (part,) = tool_calls(call)
    assert part["name"] == "add" and json.loads(part["arguments"]) == {"a": 1, "b": 2}  # JSON text, as sent


def test_anthropic_invoke_and_stream(fake):
    def run():
        model = _anthropic(fake)
        return model.invoke("Capital of France?"), list(model.stream("Capital of France?"))

    before, after, records = with_and_without(run)
    assert plain(after) == plain(before)
    message, chunks = after
    assert (
        message.content == TEXT and "".join(c.content for c in chunks if isinstance(c.content, str)) == TEXT
    )
    invoked, streamed = calls(records)
    for call in (invoked, streamed):
        assert_complete(call, model="claude-sonnet-4-5", provider="anthropic", text=TEXT)
    assert (invoked["stream"], streamed["stream"]) == (False, True)
    assert invoked["finish_reasons"] == ["end_turn"]


def test_observe_spans_parent_the_chain(llm_monitor_records, fake):
    @lm.observe("answer_question", feature="qa")
    def answer(question: str) -> str:
        chain_input = _openai(fake).invoke(question).content
        return str(_anthropic(fake).invoke(f"Shorten: {chain_input}").content)

    assert answer("Capital of France?") == TEXT
    (span,) = llm_monitor_records.spans
    got = llm_monitor_records.calls
    assert [c["provider"] for c in got] == ["openai", "anthropic"]
    for call in got:
        assert call["trace_id"] == span["trace_id"] and call["parent_span_id"] == span["span_id"]
        assert call["feature"] == "qa"


def test_langsmith_tracing_and_ours_both_see_the_calls(langsmith, fake):
    from langchain_core.tracers.langchain import wait_for_all_tracers

    def run():
        openai_reply = _openai(fake).invoke("Capital of France?")
        anthropic_reply = _anthropic(fake).invoke("Capital of France?")
        wait_for_all_tracers()
        return openai_reply, anthropic_reply

    sent_before = langsmith.count(b'"ChatOpenAI"'), langsmith.count(b'"ChatAnthropic"')
    before, after, records = with_and_without(run)
    assert plain(after) == plain(before)
    assert [c["provider"] for c in calls(records)] == ["openai", "anthropic"]
    assert all(output_text(c) == TEXT for c in calls(records))
    # LangSmith received the runs of both phases, with and without our instrumentation.
    assert langsmith.count(b'"ChatOpenAI"') >= sent_before[0] + 2
    assert langsmith.count(b'"ChatAnthropic"') >= sent_before[1] + 2
