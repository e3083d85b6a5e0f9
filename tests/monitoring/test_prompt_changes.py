"""prompt_changed events: once per new fingerprint per (feature, prompt_name), bounded memory."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from monitoring_support import monitoring_processors

import llm_monitor_sdk as lm
from llm_monitor_sdk.monitoring import PromptChangeProcessor


def call(
    fingerprint: str | None, feature: str | None = "search", prompt_name: str | None = "answer"
) -> dict[str, Any]:
    return {
        "kind": "llm_call",
        "status": "ok",
        "feature": feature,
        "prompt_name": prompt_name,
        "prompt_fingerprint": fingerprint,
        "trace_id": "ab" * 16,
        "span_id": "cd" * 8,
        "ended_at": "2026-12-02T10:00:00.000000Z",
    }


def events(processor: PromptChangeProcessor, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        out += [e["event"] for e in processor.process(record) or []]
    return out


def test_one_event_per_new_fingerprint_per_key() -> None:
    processor = PromptChangeProcessor()
    seen = events(
        processor,
        [
            call("a" * 16),
            call("a" * 16),
            call("b" * 16),  # the prompt was edited
            call("b" * 16),
            call("a" * 16),  # back to a known one: not new
            call("a" * 16, feature="chat"),  # another key
            call(None),  # no system instructions: nothing to compare
            {"kind": "span", "prompt_fingerprint": "c" * 16},
        ],
    )
    assert seen == [
        {
            "type": "prompt_changed",
            "key": {"feature": "search", "prompt_name": "answer"},
            "old_fingerprint": None,
            "new_fingerprint": "a" * 16,
        },
        {
            "type": "prompt_changed",
            "key": {"feature": "search", "prompt_name": "answer"},
            "old_fingerprint": "a" * 16,
            "new_fingerprint": "b" * 16,
        },
        {
            "type": "prompt_changed",
            "key": {"feature": "chat", "prompt_name": "answer"},
            "old_fingerprint": None,
            "new_fingerprint": "a" * 16,
        },
    ]
    assert processor.stats()["prompt_changes"]["events"] == 3


def test_the_event_links_to_the_call() -> None:
    (event,) = PromptChangeProcessor().process(call("a" * 16)) or []
    assert event["kind"] == "event" and event["trace_id"] == "ab" * 16 and event["parent_span_id"] == "cd" * 8


def test_memory_is_bounded_and_a_prompt_that_always_changes_is_muted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor = PromptChangeProcessor(max_keys=10, max_fingerprints=5)
    for i in range(100):
        processor.process(call(f"{i:016x}", feature=f"f{i}"))
    assert processor.stats()["prompt_changes"]["keys"] == 10
    assert processor.stats()["prompt_changes"]["keys_evicted"] == 90
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk.alerts"):
        found = events(processor, [call(f"{i:016x}", feature="dynamic") for i in range(50)])
    assert len(found) == 5
    assert processor.stats()["prompt_changes"]["suppressed"] == 45
    assert sum("suppressed" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.loose_records  # hand-made llm_call records with only the fields the processor reads
def test_through_the_pipeline_the_event_is_exported_after_the_call() -> None:
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(providers=[], exporters=[exporter], flush_interval=0.02, **monitoring_processors())
    monitor = lm.get_monitor()
    assert monitor is not None
    for fingerprint in ("1" * 16, "1" * 16, "2" * 16):
        record = call(fingerprint)
        del record["trace_id"], record["span_id"], record["ended_at"]
        monitor.submit_record(record)
    assert lm.flush(10)
    kinds = [(r["kind"], r.get("event", {}).get("new_fingerprint")) for r in exporter.records]
    assert kinds == [
        ("llm_call", None),
        ("event", "1" * 16),
        ("llm_call", None),
        ("llm_call", None),
        ("event", "2" * 16),
    ]
    assert lm.stats()["prompt_changes"]["events"] == 2
