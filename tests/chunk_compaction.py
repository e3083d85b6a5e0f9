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
