"""OTelExporter with an application's SDK providers: exact ids and parents, GenAI attributes, metrics."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import ProxyTracerProvider, SpanKind, StatusCode

from llm_monitor_sdk._install import install_hint
from llm_monitor_sdk.exporters._otel_mapping import DURATION_BUCKETS, TOKEN_BUCKETS, iso_to_ns
from llm_monitor_sdk.exporters.otel import OTelExporter


@pytest.fixture
def app_tracing():
    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "web-app"}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    yield provider, spans, meters, reader
    provider.shutdown()
    meters.shutdown()


def test_llm_span_is_a_child_of_the_applications_active_span(app_tracing, record_factory):
    provider, spans, meters, _ = app_tracing
    exporter = OTelExporter(provider, meters)
    with provider.get_tracer("web").start_as_current_span("GET /chat") as request_span:
        ctx = request_span.get_span_context()
        # What the context module captures on the caller's thread.
        record = record_factory(trace_id=f"{ctx.trace_id:032x}", parent_span_id=f"{ctx.span_id:016x}")
    exporter.export([record])

    by_name = {s.name: s for s in spans.get_finished_spans()}
    llm, app = by_name["chat gpt-4o-mini"], by_name["GET /chat"]
    assert llm.context.trace_id == app.context.trace_id
    assert llm.parent is not None and llm.parent.span_id == app.context.span_id
    assert llm.context.span_id == int(record["span_id"], 16)
    assert llm.kind is SpanKind.CLIENT
    assert (llm.start_time, llm.end_time) == (iso_to_ns(record["started_at"]), iso_to_ns(record["ended_at"]))
    assert llm.end_time - llm.start_time == 1_250_000_000
    assert llm.resource.attributes["service.name"] == "web-app"
    assert llm.instrumentation_scope.name == "llm_monitor_sdk"
    assert exporter.stats["spans_exported"] == 1


def test_genai_attributes(app_tracing, record_factory):
    provider, spans, meters, _ = app_tracing
    record = record_factory()
    OTelExporter(provider, meters).export([record])
    attrs = dict(spans.get_finished_spans()[0].attributes)
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-abc123",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.request.stream": True,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 48,
        "gen_ai.usage.cache_read.input_tokens": 64,
        "gen_ai.usage.cache_write.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 16,
        "gen_ai.response.time_to_first_chunk": 0.3105,
        "gen_ai.prompt.name": "greet",
        "gen_ai.prompt.version": "3",
        "openai.api.type": "chat_completions",
        "llm_monitor.record_id": record["record_id"],
        "llm_monitor.cost_usd": 0.000123,
        "llm_monitor.user_id": "u-1",
        "llm_monitor.session_id": "s-1",
        "llm_monitor.tenant_id": "acme",
        "llm_monitor.feature": "greeter",
        "llm_monitor.ttft_ms": 310.5,
        "llm_monitor.tags": ("beta", "eu"),
        "llm_monitor.status": "ok",
    }
    assert {k: attrs.get(k) for k in expected} == expected
    assert json.loads(attrs["llm_monitor.metadata"]) == {"plan": "pro"}
    assert json.loads(attrs["gen_ai.input.messages"]) == record["input_messages"]
    assert json.loads(attrs["gen_ai.output.messages"]) == record["output_messages"]
    assert json.loads(attrs["gen_ai.system_instructions"]) == record["system_instructions"]
    assert "error.type" not in attrs


def test_no_message_content_when_capture_is_off(app_tracing, record_factory):
    provider, spans, meters, _ = app_tracing
    OTelExporter(provider, meters, capture_content=False).export([record_factory()])
    attrs = spans.get_finished_spans()[0].attributes
    assert not {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"} & set(attrs)
    assert attrs["gen_ai.usage.input_tokens"] == 120


def test_errors_and_blocked_calls_have_error_type_and_error_status(app_tracing, record_factory):
    provider, spans, meters, _ = app_tracing
    failed = record_factory(
        status="error",
        output_messages=None,
        finish_reasons=[],
        usage=None,
        error={"type": "openai.RateLimitError", "message": "slow down", "status_code": 429},
    )
    blocked = record_factory(status="blocked", error=None, usage=None, output_messages=None)
    OTelExporter(provider, meters).export([failed, blocked])
    first, second = spans.get_finished_spans()
    assert first.status.status_code is StatusCode.ERROR and first.status.description == "slow down"
    assert first.attributes["error.type"] == "openai.RateLimitError"
    assert second.status.status_code is StatusCode.ERROR
    assert second.attributes["error.type"] == "llm_monitor_sdk.BudgetExceededError"


def test_observe_span_record_is_the_parent_of_its_llm_calls(app_tracing, record_factory):
    provider, spans, meters, _ = app_tracing
    outer = record_factory(kind="span", name="answer_question", input={"q": "hi"}, output="hello")
    call = record_factory(
        trace_id=outer["trace_id"],
        parent_span_id=outer["span_id"],
        operation="generate_content",
        provider="gcp.gemini",
        request_model="gemini-2.5-flash",
    )
    OTelExporter(provider, meters).export([call, outer])
    by_name = {s.name: s for s in spans.get_finished_spans()}
    observe_span, llm = by_name["answer_question"], by_name["generate_content gemini-2.5-flash"]
    assert observe_span.kind is SpanKind.INTERNAL and llm.kind is SpanKind.CLIENT
    assert llm.parent is not None and llm.parent.span_id == observe_span.context.span_id
    assert observe_span.parent is None
    assert json.loads(observe_span.attributes["llm_monitor.input"]) == {"q": "hi"}
    assert "gen_ai.operation.name" not in observe_span.attributes


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = list(metric.data.data_points)
    return out


def test_metrics_with_advised_buckets(app_tracing, record_factory):
    provider, _, meters, reader = app_tracing
    ok = record_factory()
    failed = record_factory(
        status="error",
        error={"type": "openai.APITimeoutError", "message": "t"},
        usage=None,
        ttft_ms=None,
        cost_usd=None,
        latency_ms=30000.0,
    )
    blocked = record_factory(status="blocked", usage=None, ttft_ms=None, cost_usd=None)
    OTelExporter(provider, meters).export([ok, failed, blocked])
    points = _points(reader)

    durations = points["gen_ai.client.operation.duration"]
    assert {p.attributes.get("error.type") for p in durations} == {None, "openai.APITimeoutError"}
    assert sum(p.count for p in durations) == 2  # the blocked call never ran
    assert all(tuple(p.explicit_bounds) == DURATION_BUCKETS for p in durations)
    tokens = {p.attributes["gen_ai.token.type"]: p for p in points["gen_ai.client.token.usage"]}
    assert tokens["input"].sum == 120 and tokens["output"].sum == 48
    assert tuple(tokens["input"].explicit_bounds) == tuple(float(b) for b in TOKEN_BUCKETS)
    assert tokens["input"].attributes["gen_ai.provider.name"] == "openai"
    (ttfc,) = points["gen_ai.client.operation.time_to_first_chunk"]
    assert ttfc.sum == pytest.approx(0.3105)
    (cost,) = points["llm_monitor.client.cost"]
    assert cost.value == pytest.approx(0.000123)


def test_without_an_sdk_provider_spans_are_counted_not_raised(record_factory, monkeypatch, caplog):
    from opentelemetry import trace

    monkeypatch.setattr(trace, "get_tracer_provider", ProxyTracerProvider)
    exporter = OTelExporter(meter_provider=MeterProvider())
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
        exporter.export([record_factory()])
        exporter.export([record_factory(), record_factory()])
    assert exporter.stats["spans_no_provider"] == 3 and exporter.stats["spans_exported"] == 0
    assert sum("no OpenTelemetry SDK TracerProvider" in r.getMessage() for r in caplog.records) == 1


def test_global_provider_configured_after_the_exporter_is_used(record_factory, monkeypatch, app_tracing):
    from opentelemetry import trace

    provider, spans, meters, _ = app_tracing
    current: dict[str, Any] = {"provider": ProxyTracerProvider()}
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: current["provider"])
    exporter = OTelExporter(meter_provider=meters)
    exporter.export([record_factory()])
    current["provider"] = provider
    exporter.export([record_factory()])
    assert len(spans.get_finished_spans()) == 1
    assert exporter.stats["spans_no_provider"] == 1 and exporter.stats["spans_exported"] == 1


def test_invalid_records_are_counted_and_the_rest_exported(app_tracing, record_factory):
    provider, spans, meters, _ = app_tracing
    exporter = OTelExporter(provider, meters)
    exporter.export([record_factory(trace_id="xyz"), record_factory(started_at=None), record_factory()])
    assert exporter.stats["records_invalid"] == 2
    assert len(spans.get_finished_spans()) == 1


class _FailingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.calls += 1
        return SpanExportResult.FAILURE if self.calls == 1 else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def test_direct_export_failure_is_counted_and_raised(record_factory):
    span_exporter = _FailingExporter()
    exporter = OTelExporter(meter_provider=MeterProvider(), span_exporter=span_exporter, max_export_batch=2)
    with pytest.raises(RuntimeError, match="2 of 3"):
        exporter.export([record_factory() for _ in range(3)])
    assert exporter.stats == {
        "spans_exported": 1,
        "spans_failed": 2,
        "spans_no_provider": 0,
        "records_invalid": 0,
        "spans_disabled": 0,
    }


def test_without_the_otel_extra_import_works_and_otlp_is_a_clear_error():
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
                    raise ImportError(f"blocked {name}")
                return None
        sys.meta_path.insert(0, Block())
        import llm_monitor_sdk.exporters.otel as otel
        import llm_monitor_sdk.exporters.http
        for attempt in (otel.build_otlp_exporter, otel.OTelExporter):
            try:
                attempt()
            except ValueError as exc:
                print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and all(install_hint("otel") in line for line in lines)
    assert (
        install_hint("otel")
        == "pip install -e '.[otel]' in a checkout, or pip install 'llm-monitor-kit[otel]'"
    )
