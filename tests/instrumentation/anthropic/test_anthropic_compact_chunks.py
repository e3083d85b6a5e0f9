"""Stream chunk compaction (``chunk_sink``): content deltas are kept compact, records stay the same.

Equivalence is checked on real stream events: every prefix of a stream (a cut stream) gives the same
record fields whether ``fill_chunks`` reads the events or what the sink kept.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from anthropic.types import RawContentBlockDeltaEvent

import llm_monitor_sdk as lm
from chunk_compaction import assert_same_for_every_prefix, fill, instrumented_stream, kept
from llm_monitor_sdk.instrumentation.anthropic import MessagesAdapter
from llm_monitor_sdk.testing import FakeProvider, ToolCall

_TEXT = "The quick brown fox jumps over the lazy dog while the model explains its reasoning. " * 4
_MESSAGES = [{"role": "user", "content": "Say something long."}]
_ADAPTER = MessagesAdapter()
_fill = partial(fill, _ADAPTER)
_kept = partial(kept, _ADAPTER)
_assert_same_for_every_prefix = partial(assert_same_for_every_prefix, _ADAPTER)


def _fake(**knobs: Any) -> FakeProvider:
    return FakeProvider(record_requests=False, **{"text": _TEXT, "chunks": 40, **knobs})


def _events(**knobs: Any) -> list[Any]:
    client = _fake(**knobs).anthropic_client(in_process=True)
    return list(
        client.messages.create(model="claude-haiku-4-5", max_tokens=512, messages=_MESSAGES, stream=True)
    )


def test_text_stream_keeps_strings_and_the_same_record() -> None:
    events = _events()
    kept = _kept(events)
    deltas = [e for e in events if isinstance(e, RawContentBlockDeltaEvent)]
    assert len(deltas) == 40
    assert [item for item in kept if type(item) is str] == [e.delta.text for e in deltas]
    assert len(kept) == len(events)
    _assert_same_for_every_prefix(events)


def test_thinking_and_tool_input_deltas_are_kept_as_tuples() -> None:
    events = _events(
        thinking="Let me think about it.", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]
    )
    kept = _kept(events)
    keys = {item[1] for item in kept if type(item) is tuple}
    assert {"thinking", "text", "json"} <= keys  # text follows the thinking block: its index is not 0
    record = _fill(kept)
    kinds = [part["type"] for part in record["output_messages"][0]["parts"]]
    assert kinds == ["reasoning", "text", "tool_call"]
    assert record["output_messages"][0]["parts"][2]["arguments"] == {"city": "Paris"}
    _assert_same_for_every_prefix(events)


def _instrumented_stream(
    monkeypatch: pytest.MonkeyPatch, exporter: lm.exporters.InMemoryExporter, helper: bool
) -> tuple[dict[str, Any], list[Any]]:
    """One instrumented stream (``create(stream=True)`` or the ``.stream()`` helper): record and kept items."""

    def run() -> str:
        client = _fake().anthropic_client(in_process=True)
        kwargs = {"model": "claude-haiku-4-5", "max_tokens": 512, "messages": _MESSAGES}
        if helper:
            with client.messages.stream(**kwargs) as stream:
                return "".join(stream.text_stream)
        return "".join(
            e.delta.text
            for e in client.messages.create(**kwargs, stream=True)
            if isinstance(e, RawContentBlockDeltaEvent)
        )

    received, record, kept = instrumented_stream(monkeypatch, exporter, MessagesAdapter, "anthropic", run)
    assert received == _TEXT
    return record, kept


@pytest.mark.parametrize("helper", [False, True], ids=["create", "stream-helper"])
def test_instrumented_stream_record_is_the_same_with_and_without_the_sink(
    helper: bool, monkeypatch: pytest.MonkeyPatch, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    compact_record, compact_kept = _instrumented_stream(monkeypatch, memory_exporter, helper)
    monkeypatch.setattr(MessagesAdapter, "chunk_sink", lambda self, chunks: None)
    full_record, full_kept = _instrumented_stream(monkeypatch, memory_exporter, helper)
    assert sum(type(item) is str for item in compact_kept) == 40
    assert not any(type(item) is str for item in full_kept)
    assert compact_record == full_record
    assert compact_record["output_messages"] == [
        {"role": "assistant", "parts": [{"type": "text", "content": _TEXT}], "finish_reason": "end_turn"}
    ]
    assert compact_record["usage"]["source"] == "provider"
