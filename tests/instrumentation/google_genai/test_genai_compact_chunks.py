"""Stream chunk compaction (``chunk_sink``): text-only chunks are kept as strings, records stay the same.

Equivalence is checked on real ``GenerateContentResponse`` chunks: every prefix of a stream (a cut
stream) gives the same record fields whether ``fill_chunks`` reads the chunks or what the sink kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from google.genai import types

import llm_monitor_sdk as lm
from chunk_compaction import assert_same_for_every_prefix, fill, instrumented_stream, kept
from llm_monitor_sdk.instrumentation.google_genai import GenerateContentAdapter
from llm_monitor_sdk.testing import FakeProvider, ToolCall

_TEXT = "The quick brown fox jumps over the lazy dog while the model explains its reasoning. " * 4
_ADAPTER = GenerateContentAdapter("models.generate_content_stream", stream=True)
_fill = partial(fill, _ADAPTER)
_kept = partial(kept, _ADAPTER)
_assert_same_for_every_prefix = partial(assert_same_for_every_prefix, _ADAPTER)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    """An in-process fake provider answering :data:`_TEXT` in 40 chunks, with one client (TLS setup is slow)."""
    provider = FakeProvider(record_requests=False, text=_TEXT, chunks=40)
    provider.client = provider.genai_client(in_process=True)  # type: ignore[attr-defined]
    yield provider


def _stream(fake: FakeProvider, **knobs: Any) -> list[Any]:
    if knobs:
        fake.once(**knobs)
    client = fake.client  # type: ignore[attr-defined]
    return list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say something"))


def _chunk(
    text: Any = "x",
    *,
    usage: int | None = 5,
    model: str = "gemini-2.5-flash",
    ident: str = "r1",
    headers: dict[str, str] | None = None,
    **candidate: Any,
) -> types.GenerateContentResponse:
    part: dict[str, Any] = {"text": text, **candidate.pop("part", {})}
    return types.GenerateContentResponse.model_validate(
        {
            "candidates": [{"content": {"role": "model", "parts": [part]}, **candidate}],
            "model_version": model,
            "response_id": ident,
            "usage_metadata": {
                "prompt_token_count": 3,
                "candidates_token_count": usage,
                "total_token_count": 3 + usage,
            }
            if usage is not None
            else None,
            "sdk_http_response": {"headers": headers if headers is not None else {"x-request-id": "req-1"}},
            **candidate.pop("top", {}),
        }
    )


def test_long_text_stream_keeps_strings_and_the_same_record(fake: FakeProvider) -> None:
    chunks = _stream(fake)
    assert len(chunks) == 40 and all(chunk.usage_metadata is not None for chunk in chunks)
    kept = _kept(chunks)
    # The first chunk (model, id, request id) and the last (finish reason, final usage) stay whole.
    assert [type(item) is str for item in kept] == [False] + [True] * 38 + [False]
    assert "".join(kept[1:-1]) == "".join(chunk.text for chunk in chunks[1:-1])
    assert _fill(kept)["usage"]["output_tokens"] == chunks[-1].usage_metadata.candidates_token_count
    _assert_same_for_every_prefix(chunks)


def test_thinking_and_tool_call_streams_give_the_same_record(fake: FakeProvider) -> None:
    chunks = _stream(fake, thinking="Let me think.", tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    record = _fill(_kept(chunks))
    kinds = [part["type"] for part in record["output_messages"][0]["parts"]]
    assert kinds[0] == "reasoning" and "tool_call" in kinds
    _assert_same_for_every_prefix(chunks)


def test_unusual_chunks_stay_whole_and_records_match() -> None:
    chunks = [
        _chunk("a"),
        _chunk("b", usage=None),  # no usage: kept as text at once
        _chunk("c"),  # its usage is the latest until "e": it stays whole
        _chunk("d", usage=None),  # no usage: kept as text at once
        _chunk("e", model="gemini-2.5-pro"),  # the model changes
        _chunk("f", model="gemini-2.5-pro", ident="r2"),  # the id changes
        _chunk("g", model="gemini-2.5-pro", ident="r2"),
        _chunk("", model="gemini-2.5-pro", ident="r2"),  # an empty text part
        _chunk("hmm", model="gemini-2.5-pro", ident="r2", part={"thought": True}),  # reasoning
        _chunk("h", model="gemini-2.5-pro", ident="r2"),
        _chunk("i", model="gemini-2.5-pro", ident="r2", index=1),  # another candidate
        _chunk("j", model="gemini-2.5-pro", ident="r2"),
        _chunk("k", model="gemini-2.5-pro", ident="r2", finish_reason="STOP"),
    ]
    kept = _kept(chunks)
    assert [item for item in kept if type(item) is str] == ["b", "d", "g", "", "h", "j"]
    record = _fill(kept)
    assert record["response_model"] == "gemini-2.5-pro" and record["response_id"] == "r2"
    assert record["request_id"] == "req-1" and record["finish_reasons"] == ["STOP"]
    _assert_same_for_every_prefix(chunks)


def test_headers_are_compared_until_a_request_id_is_known() -> None:
    chunks = [
        _chunk("a", headers={"server": "x"}),
        _chunk("b", headers={"server": "x"}),
        _chunk("c", headers={"server": "x", "X-Goog-Request-Id": "late-id"}),  # a request id appears
        _chunk("d", headers={"server": "x", "X-Goog-Request-Id": "late-id"}),
        _chunk("e", headers={"server": "y"}),
    ]
    kept = _kept(chunks)
    assert [item for item in kept if type(item) is str] == ["b", "d"]
    assert _fill(kept)["request_id"] == "late-id"
    _assert_same_for_every_prefix(chunks)


def test_blocked_prompt_and_multi_part_chunks_stay_whole() -> None:
    blocked = types.GenerateContentResponse.model_validate(
        {
            "prompt_feedback": {"block_reason": "SAFETY"},
            "model_version": "gemini-2.5-flash",
            "response_id": "r1",
        }
    )
    two_parts = types.GenerateContentResponse.model_validate(
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "x"}, {"text": "y"}]}}],
            "model_version": "gemini-2.5-flash",
            "response_id": "r1",
        }
    )
    chunks = [_chunk("a"), _chunk("b"), two_parts, _chunk("c"), blocked, _chunk("d"), _chunk("e")]
    kept = _kept(chunks)
    assert kept[2] is two_parts and blocked in kept
    _assert_same_for_every_prefix(chunks)


def _instrumented_stream(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, exporter: lm.exporters.InMemoryExporter
) -> tuple[dict[str, Any], list[Any]]:
    """One instrumented stream: its record (without per-call fields) and what the stream kept."""

    def run() -> str:
        stream = fake.client.models.generate_content_stream(  # type: ignore[attr-defined]
            model="gemini-2.5-flash", contents="Say something"
        )
        return "".join(chunk.text or "" for chunk in stream)

    received, record, kept = instrumented_stream(
        monkeypatch, exporter, GenerateContentAdapter, "google_genai", run
    )
    assert received == _TEXT
    return record, kept


def test_instrumented_stream_record_is_the_same_with_and_without_the_sink(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    compact_record, compact_kept = _instrumented_stream(fake, monkeypatch, memory_exporter)
    monkeypatch.setattr(GenerateContentAdapter, "chunk_sink", lambda self, chunks: None)
    full_record, full_kept = _instrumented_stream(fake, monkeypatch, memory_exporter)
    assert sum(type(item) is str for item in compact_kept) == 38
    assert not any(type(item) is str for item in full_kept)
    assert compact_record == full_record
    assert compact_record["output_messages"] == [
        {"role": "assistant", "parts": [{"type": "text", "content": _TEXT}], "finish_reason": "STOP"}
    ]
    assert compact_record["usage"]["source"] == "provider"
