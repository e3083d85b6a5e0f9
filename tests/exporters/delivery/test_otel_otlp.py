"""The ``otlp`` setup path against a real loopback OTLP/HTTP receiver that decodes the protobuf payloads."""

from __future__ import annotations

import pytest
from opentelemetry import metrics, trace
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as ProtoStatus
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import ProxyTracerProvider

from llm_monitor_sdk.exporters._base import RecordBatch
from llm_monitor_sdk.exporters._otel_mapping import DURATION_BUCKETS, TOKEN_BUCKETS
from llm_monitor_sdk.exporters.otel import build_otlp_exporter


@pytest.fixture
def no_app_otel(monkeypatch, otlp_receiver):
    """An application that configured no OpenTelemetry SDK, with OTLP pointed at the receiver."""
    monkeypatch.setattr(trace, "get_tracer_provider", ProxyTracerProvider)
    monkeypatch.setattr(metrics, "get_meter_provider", metrics.NoOpMeterProvider)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    return otlp_receiver


def test_otlp_spans_arrive_as_parented_genai_spans(no_app_otel, record_factory):
    receiver = no_app_otel
    exporter = build_otlp_exporter(service_name="demo-app")
    outer = record_factory(kind="span", name="handle_ticket")
    call = record_factory(
        trace_id=outer["trace_id"],
        parent_span_id=outer["span_id"],
        provider="anthropic",
        request_model="claude-sonnet-4-5",
        response_model="claude-sonnet-4-5",
    )
    failed = record_factory(
        status="error", error={"type": "anthropic.APIStatusError", "message": "overloaded"}
    )
    exporter.export(RecordBatch([call, failed, outer]))
    exporter.shutdown()

    spans = {s["span_id"]: s for s in receiver.spans}
    llm, parent, err = spans[call["span_id"]], spans[outer["span_id"]], spans[failed["span_id"]]
    assert llm["name"] == "chat claude-sonnet-4-5" and llm["kind"] == ProtoSpan.SPAN_KIND_CLIENT
    assert parent["name"] == "handle_ticket" and parent["kind"] == ProtoSpan.SPAN_KIND_INTERNAL
    assert llm["trace_id"] == outer["trace_id"] and llm["parent_span_id"] == outer["span_id"]
    assert parent["parent_span_id"] is None
    assert llm["attributes"]["gen_ai.provider.name"] == "anthropic"
    assert llm["attributes"]["gen_ai.usage.cache_read.input_tokens"] == 64
    assert llm["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert llm["attributes"]["llm_monitor.tenant_id"] == "acme"
    assert llm["end"] - llm["start"] == 1_250_000_000
    assert err["status"] == ProtoStatus.STATUS_CODE_ERROR
    assert err["attributes"]["error.type"] == "anthropic.APIStatusError"
    assert llm["resource"]["service.name"] == "demo-app"
    assert llm["resource"]["deployment.environment"] == "test"
    assert llm["scope"] == "llm_monitor_sdk"


def test_otlp_metrics_arrive_with_advised_buckets(no_app_otel, record_factory):
    receiver = no_app_otel
    exporter = build_otlp_exporter()
    exporter.export([record_factory(), record_factory(provider="gcp.gemini", operation="generate_content")])
    exporter.shutdown()  # shuts our own MeterProvider down, which exports the metrics

    found = receiver.metrics()
    duration = found["gen_ai.client.operation.duration"]
    assert duration["kind"] == "histogram" and duration["unit"] == "s"
    assert {p["attributes"]["gen_ai.provider.name"] for p in duration["points"]} == {"openai", "gcp.gemini"}
    assert all(p["bounds"] == list(DURATION_BUCKETS) for p in duration["points"])
    tokens = found["gen_ai.client.token.usage"]
    assert {p["attributes"]["gen_ai.token.type"] for p in tokens["points"]} == {"input", "output"}
    assert all(p["bounds"] == [float(b) for b in TOKEN_BUCKETS] for p in tokens["points"])
    assert sum(p["sum"] for p in tokens["points"] if p["attributes"]["gen_ai.token.type"] == "input") == 240
    assert found["gen_ai.client.operation.time_to_first_chunk"]["points"][0]["count"] == 1
    cost = found["llm_monitor.client.cost"]
    assert cost["kind"] == "sum" and sum(p["value"] for p in cost["points"]) == pytest.approx(0.000246)


def test_a_burst_loses_no_span(no_app_otel, record_factory):
    # The stock BatchSpanProcessor (queue of 2048) can drop spans in a burst of 3000; our worker's
    # batches go straight to the OTLP exporter, so every record arrives.
    receiver = no_app_otel
    exporter = build_otlp_exporter(capture_content=False)
    sent: list[str] = []
    for _ in range(3):
        batch = [record_factory() for _ in range(1000)]
        sent += [r["span_id"] for r in batch]
        exporter.export(batch)
    exporter.shutdown()
    assert sorted(s["span_id"] for s in receiver.spans) == sorted(sent)
    assert exporter.stats["spans_exported"] == 3000 and exporter.stats["spans_failed"] == 0


def test_otlp_uses_the_applications_tracer_provider_when_it_has_one(
    monkeypatch, otlp_receiver, record_factory
):
    app_spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(app_spans))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    monkeypatch.setattr(metrics, "get_meter_provider", metrics.NoOpMeterProvider)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.endpoint)
    exporter = build_otlp_exporter()
    with provider.get_tracer("app").start_as_current_span("job") as job:
        ctx = job.get_span_context()
        record = record_factory(trace_id=f"{ctx.trace_id:032x}", parent_span_id=f"{ctx.span_id:016x}")
    exporter.export([record])
    exporter.shutdown()
    names = [s.name for s in app_spans.get_finished_spans()]
    assert sorted(names) == ["chat gpt-4o-mini", "job"]
    assert otlp_receiver.spans == []  # nothing bypassed the application's own pipeline
