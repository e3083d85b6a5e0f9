"""The record additions (error category, safety, variant, fingerprint, retrieval sources, reference)
reach every sink identically: JSONL, HTTP and OpenTelemetry spans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llm_monitor_sdk as lm
from llm_monitor_sdk.exporters import HTTPExporter, JSONLExporter, OTelExporter
from llm_monitor_sdk.testing import FakeProvider

FIELDS = (
    "safety",
    "variant",
    "prompt_fingerprint",
    "priced_model",
    "retrieval_sources",
    "reference",
    "error",
)


def test_every_sink_gets_the_same_new_fields(
    tmp_path: Path, receiver: Any, fake_provider: FakeProvider
) -> None:
    spans = InMemorySpanExporter()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(spans))
    jsonl_path = tmp_path / "records.jsonl"
    lm.instrument(
        exporters=[
            JSONLExporter(jsonl_path),
            HTTPExporter(receiver.url),
            OTelExporter(tracing, MeterProvider()),
        ],
        flush_interval=0.02,
    )
    client = fake_provider.openai_client(in_process=True)
    messages = [{"role": "system", "content": "Be safe."}, {"role": "user", "content": "hi"}]
    with lm.context(variant="b", retrieval_sources=[{"id": "d1", "content": "doc"}], reference="ref"):
        fake_provider.once(finish_reason="content_filter")
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        fake_provider.fail_next(429)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert lm.flush(10)
    assert receiver.wait_for_records(3)  # two calls and the prompt_changed event of the first
    from_file = [r for r in map(json.loads, jsonl_path.read_text().splitlines()) if r["kind"] == "llm_call"]
    from_http = [r for r in receiver.records if r["kind"] == "llm_call"]
    for fields in (from_file, from_http):
        assert [{k: r.get(k) for k in FIELDS} for r in fields] == [
            {k: r.get(k) for k in FIELDS} for r in from_file
        ]
    filtered, failed = from_file
    assert filtered["safety"] == {"content_filtered": True, "refusal": False}
    assert failed["error"]["category"] == "rate_limit"
    by_id = {span.attributes["llm_monitor.record_id"]: span for span in spans.get_finished_spans()}
    for record in from_file:
        attrs = by_id[record["record_id"]].attributes
        assert attrs["llm_monitor.safety.content_filtered"] is record["safety"]["content_filtered"]
        assert attrs["llm_monitor.safety.refusal"] is record["safety"]["refusal"]
        assert attrs["llm_monitor.variant"] == "b"
        assert attrs["llm_monitor.prompt_fingerprint"] == record["prompt_fingerprint"]
        assert json.loads(attrs["llm_monitor.retrieval_sources"]) == record["retrieval_sources"]
    failed_span = by_id[failed["record_id"]]
    assert failed_span.attributes["error.type"] == "openai.RateLimitError"
    assert failed_span.attributes["llm_monitor.error.category"] == "rate_limit"
