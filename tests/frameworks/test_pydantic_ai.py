"""pydantic-ai: OpenAI and Anthropic models, plain and streamed runs, with Logfire tracing on."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest
from frameworks_support import assert_complete, calls, output_text, plain, with_and_without
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessagesTypeAdapter
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

import llm_monitor_sdk as lm

TEXT = "Paris is the capital of France."
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5"}


def _agent(fake, provider: str) -> Agent:
    # A fresh client per run: an async client belongs to the event loop it was first used in.
    if provider == "openai":
        client = openai.AsyncOpenAI(api_key="k", base_url=fake.openai_base_url, max_retries=0)
        return Agent(OpenAIChatModel(MODELS["openai"], provider=OpenAIProvider(openai_client=client)))
    client = anthropic.AsyncAnthropic(api_key="k", base_url=fake.anthropic_base_url, max_retries=0)
    return Agent(AnthropicModel(MODELS["anthropic"], provider=AnthropicProvider(anthropic_client=client)))


def _summary(result: Any) -> Any:
    return {
        "output": result.output,
        "usage": plain(result.usage),
        "messages": plain(ModelMessagesTypeAdapter.dump_python(result.all_messages(), mode="json")),
    }


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_run(fake, provider):
    before, after, records = with_and_without(lambda: _summary(_agent(fake, provider).run_sync("Capital?")))
    assert after == before and after["output"] == TEXT
    (call,) = calls(records)
    assert_complete(call, model=MODELS[provider], provider=provider, text=TEXT)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_run_stream(fake, provider):
    fake.configure(chunks=4)

    def run():
        async def go():
            async with _agent(fake, provider).run_stream("Capital?") as stream:
                deltas = [delta async for delta in stream.stream_text(delta=True)]
                return deltas, plain(stream.usage)

        return asyncio.run(go())

    before, after, records = with_and_without(run)
    assert after == before and "".join(after[0]) == TEXT
    (call,) = calls(records)
    assert call["stream"] is True and call["ttft_ms"] is not None
    assert_complete(call, model=MODELS[provider], provider=provider, text=TEXT)  # pydantic-ai asks for usage


def test_observe_parents_the_agents_calls(llm_monitor_records, fake):
    @lm.observe("triage", tenant_id="acme")
    def triage() -> tuple[str, str]:
        return _agent(fake, "openai").run_sync("Capital?").output, _agent(fake, "anthropic").run_sync(
            "Capital?"
        ).output

    assert triage() == (TEXT, TEXT)
    (span,) = llm_monitor_records.spans
    got = llm_monitor_records.calls
    assert [c["provider"] for c in got] == ["openai", "anthropic"]
    assert all(c["parent_span_id"] == span["span_id"] and c["tenant_id"] == "acme" for c in got)


def test_logfire_tracing_and_ours_both_see_the_calls(fake):
    import logfire
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    logfire.configure(
        send_to_logfire=False,
        console=False,
        metrics=False,
        additional_span_processors=[SimpleSpanProcessor(spans)],
        service_name="logfire-test",
    )
    logfire.instrument_pydantic_ai()
    memory = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[memory], redact=False, flush_interval=0.05)
    with logfire.span("handle request"):
        assert _agent(fake, "openai").run_sync("Capital?").output == TEXT
    assert lm.flush(5)
    logfire.force_flush()
    (call,) = calls(memory.records)
    assert output_text(call) == TEXT
    chat_spans = [
        s for s in spans.get_finished_spans() if s.attributes.get("gen_ai.request.model") == "gpt-4o-mini"
    ]
    assert chat_spans, [s.name for s in spans.get_finished_spans()]
    (chat,) = chat_spans
    # Our record joins the application's trace: its parent is Logfire's span around the model request.
    assert call["trace_id"] == f"{chat.context.trace_id:032x}"
    assert call["parent_span_id"] == f"{chat.context.span_id:016x}"
    assert chat.attributes.get("gen_ai.usage.input_tokens") == call["usage"]["input_tokens"]
