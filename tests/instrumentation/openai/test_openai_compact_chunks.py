"""Stream chunk compaction (``chunk_sink``): streams keep plain strings for text deltas, records stay the same.

Equivalence is checked on real SDK chunk objects: every prefix of a stream (a cut stream) gives the
same record fields whether ``fill_chunks`` reads the chunk objects or what the sink kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseTextDeltaEvent

import llm_monitor_sdk as lm
from chunk_compaction import assert_same_for_every_prefix as _assert_same_for_every_prefix
from chunk_compaction import fill as _fill
from chunk_compaction import instrumented_stream
from chunk_compaction import kept as _kept
from llm_monitor_sdk._guard import internal_error_counts
from llm_monitor_sdk.instrumentation.openai import (
    ChatCompletionsAdapter,
    CompletionsAdapter,
    ResponsesAdapter,
)
from llm_monitor_sdk.testing import FakeProvider, ToolCall

_MESSAGES = [{"role": "user", "content": "Say something long."}]
_TEXT = "The quick brown fox jumps over the lazy dog while the model explains its reasoning. " * 4


def _fake(**knobs: Any) -> FakeProvider:
    return FakeProvider(record_requests=False, **{"text": _TEXT, "chunks": 40, **knobs})


def _chat_stream(**knobs: Any) -> list[Any]:
    client = _fake(**knobs).openai_client(in_process=True)
    return list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=_MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )


def _chunk(model: str = "gpt-4o-mini", ident: str = "c1", **choice: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": ident,
            "model": model,
            "created": 1,
            "object": "chat.completion.chunk",
            "choices": [
                {
                    "index": choice.pop("index", 0),
                    "delta": choice.pop("delta", {}),
                    "finish_reason": choice.pop("finish_reason", None),
                }
            ],
        }
    )


def test_chat_text_stream_keeps_strings_and_the_same_record() -> None:
    chunks = _chat_stream()
    kept = _kept(ChatCompletionsAdapter(), chunks)
    # The role chunk, the finish chunk and the usage chunk stay whole; every text delta is its text.
    assert sum(type(item) is str for item in kept) == len(chunks) - 3
    assert "".join(item for item in kept if type(item) is str) == _TEXT
    _assert_same_for_every_prefix(ChatCompletionsAdapter(), chunks)


def test_chat_tool_calls_and_usage_only_chunks_stay_whole() -> None:
    chunks = _chat_stream(tool_calls=[ToolCall("get_weather", {"city": "Paris"})], text="Let me check.")
    record = _fill(ChatCompletionsAdapter(), _kept(ChatCompletionsAdapter(), chunks))
    assert record["output_messages"][0]["parts"][-1]["name"] == "get_weather"
    assert record["usage"]["input_tokens"] is not None
    _assert_same_for_every_prefix(ChatCompletionsAdapter(), chunks)


def test_chat_other_choices_and_changing_ids_stay_whole() -> None:
    chunks = [
        _chunk(delta={"role": "assistant", "content": ""}),
        _chunk(delta={"content": "a"}),
        _chunk(delta={"content": "b"}, index=1),  # n > 1: choice 1 is kept whole
        _chunk(delta={"content": "c"}),
        _chunk(model="gpt-4o-mini-2024", delta={"content": "d"}),  # the model changes: kept whole
        _chunk(model="gpt-4o-mini-2024", ident="c2", delta={"content": "e"}),  # the id changes too
        _chunk(model="gpt-4o-mini-2024", ident="c2", delta={"content": "f"}),
        _chunk(model="", ident="", delta={"content": "g"}),  # empty: the record keeps the last non-empty
        _chunk(model="", ident="", delta={"content": "h"}),
        _chunk(model="", ident="", delta={"refusal": "no"}),
        _chunk(model="", ident="", delta={"content": None}, finish_reason="stop"),
    ]
    kept = _kept(ChatCompletionsAdapter(), chunks)
    assert [item for item in kept if type(item) is str] == ["a", "c", "f", "h"]
    record = _fill(ChatCompletionsAdapter(), kept)
    assert record["response_model"] == "gpt-4o-mini-2024" and record["response_id"] == "c2"
    assert [m["parts"][0]["content"] for m in record["output_messages"]] == ["acdefgh", "b"]
    _assert_same_for_every_prefix(ChatCompletionsAdapter(), chunks)


def test_responses_text_deltas_are_kept_as_strings() -> None:
    client = _fake().openai_client(in_process=True)
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    kept = _kept(ResponsesAdapter(), events)
    deltas = [e for e in events if isinstance(e, ResponseTextDeltaEvent)]
    assert len(deltas) == 40
    assert [item for item in kept if type(item) is str] == [e.delta for e in deltas]
    _assert_same_for_every_prefix(ResponsesAdapter(), events)


def test_legacy_completions_text_is_kept_as_strings() -> None:
    client = _fake().openai_client(in_process=True)
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Say", stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(isinstance(chunk, Completion) for chunk in chunks)
    kept = _kept(CompletionsAdapter(), chunks)
    assert sum(type(item) is str for item in kept) >= len(chunks) - 3
    _assert_same_for_every_prefix(CompletionsAdapter(), chunks)


def _instrumented_stream(
    monkeypatch: pytest.MonkeyPatch,
    exporter: lm.exporters.InMemoryExporter,
) -> tuple[dict[str, Any], list[Any]]:
    """One instrumented chat stream: its record (without per-call fields) and what the stream kept."""

    def run() -> str:
        client = _fake().openai_client(in_process=True)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=_MESSAGES, stream=True)
        # chunk.choices[0] on every chunk: the usage-only chunk the SDK asked for never reaches us,
        # with the sink, without one, and after the sink failed.
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream)

    received, record, kept = instrumented_stream(monkeypatch, exporter, ChatCompletionsAdapter, "openai", run)
    assert received == _TEXT
    return record, kept


def test_instrumented_stream_record_is_the_same_with_and_without_the_sink(
    monkeypatch: pytest.MonkeyPatch, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    compact_record, compact_kept = _instrumented_stream(monkeypatch, memory_exporter)
    monkeypatch.setattr(ChatCompletionsAdapter, "chunk_sink", lambda self, chunks: None)
    full_record, full_kept = _instrumented_stream(monkeypatch, memory_exporter)
    assert sum(type(item) is str for item in compact_kept) == 40
    assert not any(type(item) is str for item in full_kept)
    assert compact_record == full_record
    assert compact_record["output_messages"] == [
        {"role": "assistant", "parts": [{"type": "text", "content": _TEXT}], "finish_reason": "stop"}
    ]
    assert compact_record["usage"]["source"] == "provider" and compact_record["partial"] is False


@pytest.mark.internal_errors_expected
def test_a_failing_sink_keeps_the_chunks_whole(
    monkeypatch: pytest.MonkeyPatch, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    def broken(self: Any, chunks: list[Any]) -> Callable[[Any], None]:
        def keep(chunk: Any) -> None:
            raise RuntimeError("sink bug")

        return keep

    monkeypatch.setattr(ChatCompletionsAdapter, "chunk_sink", broken)
    record, kept = _instrumented_stream(monkeypatch, memory_exporter)
    assert len(kept) == 43 and not any(type(item) is str for item in kept)
    assert record["output_messages"][0]["parts"] == [{"type": "text", "content": _TEXT}]
    assert internal_error_counts() == {"openai.chunk_sink:RuntimeError": 1}
