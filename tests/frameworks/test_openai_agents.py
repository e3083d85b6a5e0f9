"""The OpenAI Agents SDK: Responses API, tool calls, streaming, with its own tracing sent to a local processor."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool
from agents.tracing import TracingProcessor, set_trace_processors
from frameworks_support import assert_complete, calls, output_text, plain, tool_calls, with_and_without

import llm_monitor_sdk as lm

ANSWER = "It is 21 degrees in Paris."


class LocalTraces(TracingProcessor):
    """The Agents SDK's own tracing, kept in memory instead of sent to OpenAI."""

    def __init__(self) -> None:
        self.spans: list[Any] = []

    def on_trace_start(self, trace: Any) -> None:
        pass

    def on_trace_end(self, trace: Any) -> None:
        pass

    def on_span_start(self, span: Any) -> None:
        pass

    def on_span_end(self, span: Any) -> None:
        self.spans.append(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass

    def of_type(self, kind: str) -> list[Any]:
        return [s for s in self.spans if s.span_data.type == kind]


@pytest.fixture
def traces() -> LocalTraces:
    processor = LocalTraces()
    set_trace_processors([processor])
    return processor


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"21 degrees in {city}"


def _agent(fake) -> Agent:
    client = openai.AsyncOpenAI(api_key="k", base_url=fake.openai_base_url, max_retries=0)
    return Agent(
        name="weather",
        instructions="Answer briefly.",
        tools=[weather],
        model=OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client),
    )


def _summary(result: Any) -> Any:
    return {
        "final": result.final_output,
        "items": [plain(item.raw_item) for item in result.new_items],
        "responses": [plain(r.output) for r in result.raw_responses],
    }


def _queue_tool_call(fake) -> None:
    fake.configure(text=ANSWER)
    fake.once(text="", tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}, "id": "call_w1"}])


def _check_tool_turns(records: list[dict[str, Any]], stream: bool) -> None:
    first, second = calls(records)  # one record per Responses request: the tool call, then the answer
    for call in (first, second):
        assert call["api"] == "responses.create" and call["stream"] is stream
        assert_complete(call, model="gpt-4o-mini")
    (part,) = tool_calls(first)
    assert part["name"] == "weather" and json.loads(part["arguments"]) == {"city": "Paris"}
    assert output_text(second) == ANSWER
    assert second["system_instructions"][0]["content"] == "Answer briefly."


def test_tool_call_run(fake, traces):
    def run():
        _queue_tool_call(fake)
        return _summary(asyncio.run(Runner.run(_agent(fake), "Weather in Paris?")))

    before, after, records = with_and_without(run)
    assert after == before and after["final"] == ANSWER
    _check_tool_turns(records, stream=False)
    # The Agents SDK traced both runs itself: two model responses and one tool call each.
    assert len(traces.of_type("response")) == 4 and len(traces.of_type("function")) == 2


def test_streamed_tool_call_run(fake, traces):
    fake.configure(chunks=4)

    def run():
        _queue_tool_call(fake)

        async def go():
            result = Runner.run_streamed(_agent(fake), "Weather in Paris?")
            kinds = [event.type async for event in result.stream_events()]
            return kinds, _summary(result)

        return asyncio.run(go())

    before, after, records = with_and_without(run)
    assert after == before and after[1]["final"] == ANSWER
    _check_tool_turns(records, stream=True)
    assert len(traces.of_type("response")) == 4


def test_observe_parents_the_agent_run(llm_monitor_records, fake, traces):
    @lm.observe("agent_turn", user_id="u-7")
    async def turn() -> str:
        _queue_tool_call(fake)
        return str((await Runner.run(_agent(fake), "Weather in Paris?")).final_output)

    assert asyncio.run(turn()) == ANSWER
    (span,) = llm_monitor_records.spans
    got = llm_monitor_records.calls
    assert len(got) == 2
    assert all(c["parent_span_id"] == span["span_id"] and c["user_id"] == "u-7" for c in got)
