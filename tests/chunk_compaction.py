"""Shared checks for stream chunk compaction (``Adapter.chunk_sink``), used by every provider's tests."""

from __future__ import annotations

from typing import Any

from llm_monitor_sdk.instrumentation._call import Adapter, Request

FIELDS = ("response_model", "response_id", "request_id", "finish_reasons", "output_messages", "usage")


def fill(adapter: Adapter, chunks: list[Any]) -> dict[str, Any]:
    """The response fields ``fill_chunks`` derives from ``chunks`` (full chunks or kept items)."""
    record: dict[str, Any] = {name: None for name in FIELDS}
    record["finish_reasons"] = []
    adapter.fill_chunks(record, Request({}, stream=True), chunks, None)
    return {name: record[name] for name in FIELDS}


def kept(adapter: Adapter, chunks: list[Any]) -> list[Any]:
    """What the adapter's sink keeps of ``chunks``."""
    items: list[Any] = []
    sink = adapter.chunk_sink(items)
    assert sink is not None
    for chunk in chunks:
        sink(chunk)
    return items


def assert_same_for_every_prefix(adapter: Adapter, chunks: list[Any]) -> None:
    """Every prefix of a stream (a cut stream) gives the same record from kept items as from chunks."""
    for end in range(len(chunks) + 1):
        prefix = chunks[:end]
        assert fill(adapter, kept(adapter, prefix)) == fill(adapter, prefix), f"prefix of {end} chunks"


VOLATILE = (
    "record_id",
    "trace_id",
    "span_id",
    "started_at",
    "ended_at",
    "latency_ms",
    "ttft_ms",
    "response_id",
    "request_id",
)


def instrumented_stream(
    monkeypatch: Any, exporter: Any, adapter_class: type[Adapter], provider: str, run_stream: Any
) -> tuple[str, dict[str, Any], list[Any]]:
    """Run one instrumented stream (``run_stream()`` returns the text the caller received).

    Returns that text, the record without its per-call fields, and what the stream proxy kept
    (observed through a spy on ``adapter_class.fill_chunks``).
    """
    import llm_monitor_sdk as lm

    seen: list[list[Any]] = []
    fill_chunks = adapter_class.fill_chunks

    def spy(self: Any, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        seen.append(list(chunks))
        fill_chunks(self, record, request, chunks, stream)

    exporter.clear()
    with monkeypatch.context() as patch:
        patch.setattr(adapter_class, "fill_chunks", spy)
        lm.instrument([provider], exporters=[exporter], redact=False, flush_interval=0.05)
        try:
            received = run_stream()
            assert lm.flush(5.0)
        finally:
            lm.uninstrument()
    (record,) = [r for r in exporter.records if r["kind"] == "llm_call"]
    return received, {key: value for key, value in record.items() if key not in VOLATILE}, seen[0]
