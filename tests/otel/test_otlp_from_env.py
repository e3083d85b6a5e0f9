"""``LLM_MONITOR_EXPORTERS=otlp`` configured by the standard ``OTEL_*`` variables, checked on the wire.

Every test builds the exporter from the environment and looks at what a real loopback receiver got:
the URL path, the headers, the compression, the transport (OTLP/HTTP or gRPC) and the resource.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.exporters.otel import build_otlp_exporter
from llm_monitor_sdk.testing import FakeProvider


def _record(**overrides: Any) -> dict[str, Any]:
    record = {
        "schema_version": 1,
        "kind": "llm_call",
        "record_id": os.urandom(16).hex(),
        "trace_id": os.urandom(16).hex(),
        "span_id": os.urandom(8).hex(),
        "parent_span_id": None,
        "started_at": "2026-03-01T12:00:00.000000Z",
        "ended_at": "2026-03-01T12:00:01.250000Z",
        "provider": "openai",
        "operation": "chat",
        "api": "chat.completions.create",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini",
        "status": "ok",
        "latency_ms": 1250.0,
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "source": "provider"},
        "cost_usd": 0.0001,
    }
    record.update(overrides)
    return record


def _export_one(env: dict[str, str] | None = None, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    exporter = build_otlp_exporter(environ=env, **kwargs)
    record = _record()
    exporter.export([record])
    exporter.shutdown()  # also shuts our MeterProvider down, which exports the metrics
    return exporter, record


def test_the_generic_endpoint_is_a_base_for_both_signals(otel_env, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url + "/mycollector/")
    otel_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20s3cr3t,x-tenant=acme")
    otel_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,service.name=from-attrs")
    otel_env.setenv("OTEL_SERVICE_NAME", "support-bot")
    _, record = _export_one()
    (traces,) = http_receiver.at("/mycollector/v1/traces")
    metrics = http_receiver.at("/mycollector/v1/metrics")[-1]  # flush, then shutdown: may be two
    assert {r.path for r in http_receiver.received} == {"/mycollector/v1/traces", "/mycollector/v1/metrics"}
    for request in (traces, metrics):
        assert request.headers["authorization"] == "Bearer s3cr3t"
        assert request.headers["x-tenant"] == "acme"
        assert request.headers["content-type"] == "application/x-protobuf"
    (span,) = traces.spans()
    assert span["span_id"] == record["span_id"]
    assert span["resource"]["service.name"] == "support-bot"  # OTEL_SERVICE_NAME wins over the attribute
    assert span["resource"]["deployment.environment"] == "staging"
    assert "gen_ai.client.operation.duration" in metrics.metric_names()
    assert metrics.metric_resource()["deployment.environment"] == "staging"


def test_per_signal_endpoints_headers_are_used_as_they_are(otel_env, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # never used: both signals override
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.url)  # no path: sent to "/"
    otel_env.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", http_receiver.url + "/custom/m")
    otel_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=1")
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-traces=2")
    _export_one()
    (traces,) = http_receiver.at("/")
    metrics = http_receiver.at("/custom/m")[-1]
    assert len(traces.spans()) == 1 and "gen_ai.client.token.usage" in metrics.metric_names()
    assert traces.headers.get("x-traces") == "2" and "x-generic" not in traces.headers
    assert metrics.headers.get("x-generic") == "1" and "x-traces" not in metrics.headers


@pytest.mark.parametrize("compression", ["gzip", "deflate"])
def test_compression_per_signal(otel_env, http_receiver, compression):
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", compression)
    _export_one()
    (traces,) = http_receiver.at("/v1/traces")
    metrics = http_receiver.at("/v1/metrics")[-1]
    assert traces.headers.get("content-encoding") == compression and len(traces.spans()) == 1
    assert "content-encoding" not in metrics.headers


def test_service_name_from_the_resource_attributes_alone(otel_env, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    otel_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing,team=payments")
    _export_one()
    (span,) = http_receiver.at("/v1/traces")[0].spans()
    assert span["resource"]["service.name"] == "billing" and span["resource"]["team"] == "payments"


def test_an_explicit_service_name_wins(otel_env, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    otel_env.setenv("OTEL_SERVICE_NAME", "from-otel")
    _export_one(service_name="from-llm-monitor")
    (span,) = http_receiver.at("/v1/traces")[0].spans()
    assert span["resource"]["service.name"] == "from-llm-monitor"


def test_the_timeout_bounds_an_export_to_a_slow_collector(otel_env, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.url + "/v1/traces")
    otel_env.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", http_receiver.url + "/v1/metrics")
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0.5")  # seconds, as the Python SDK reads it
    http_receiver.hold_seconds = 30.0
    exporter = build_otlp_exporter()
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="OTLP span export failed"):
        exporter.export([_record()])
    elapsed = time.monotonic() - started
    http_receiver.release.set()
    exporter.shutdown()
    assert exporter.stats["spans_failed"] == 1
    assert elapsed < 5.0  # gave up long before the collector answered (30 s); the default would be 10 s


def test_grpc_protocol_for_both_signals(otel_env, grpc_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", grpc_receiver.url)  # http:// means a plain-text channel
    otel_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%3D1")
    otel_env.setenv("OTEL_SERVICE_NAME", "grpc-svc")
    _, record = _export_one()
    assert grpc_receiver.wait_for(lambda got: {r.path for r in got} >= {"traces", "metrics"})
    (traces,) = grpc_receiver.at("traces")
    (span,) = traces.spans()
    assert span["span_id"] == record["span_id"] and span["resource"]["service.name"] == "grpc-svc"
    assert traces.headers["x-api-key"] == "k=1"
    metrics = grpc_receiver.at("metrics")[-1]
    assert "gen_ai.client.operation.duration" in metrics.metric_names()


def test_per_signal_protocols_mix_transports(otel_env, grpc_receiver, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", grpc_receiver.url)
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)  # metrics: http/protobuf by default
    _export_one()
    assert grpc_receiver.wait_for(lambda got: len(got) >= 1)
    assert {r.path for r in grpc_receiver.received} == {"traces"}
    assert {r.path for r in http_receiver.received} == {"/v1/metrics"}


def test_http_json_is_a_clear_value_error(otel_env):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match=r"OTEL_EXPORTER_OTLP_PROTOCOL.*http/json"):
        build_otlp_exporter()


def test_an_unknown_protocol_falls_back_to_http_protobuf(otel_env, http_receiver):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    _export_one()
    assert len(http_receiver.at("/v1/traces")) == 1


def test_otel_sdk_disabled_turns_our_exporter_off(otel_env, http_receiver):
    otel_env.setenv("OTEL_SDK_DISABLED", "TRUE")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    exporter, _ = _export_one()
    assert exporter.disabled and exporter.stats["spans_disabled"] == 1
    assert exporter.stats["spans_exported"] == 0
    time.sleep(0.2)
    assert http_receiver.received == []


def test_otel_sdk_disabled_also_turns_off_an_exporter_built_in_code(otel_env):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    otel_env.setenv("OTEL_SDK_DISABLED", "true")
    spans = InMemorySpanExporter()
    exporter = lm.exporters.OTelExporter(span_exporter=spans)
    exporter.export([_record()])
    exporter.shutdown()
    assert spans.get_finished_spans() == () and exporter.stats["spans_disabled"] == 1
    otel_env.setenv("OTEL_SDK_DISABLED", "false")
    exporter = lm.exporters.OTelExporter(span_exporter=spans)
    exporter.export([_record()])
    assert len(spans.get_finished_spans()) == 1


def test_instrument_with_otlp_sends_the_calls_spans_where_the_environment_says(otel_env, http_receiver):
    otel_env.setenv("LLM_MONITOR_EXPORTERS", "otlp")
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.url + "/ingest/traces")
    otel_env.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", http_receiver.url + "/ingest/metrics")
    otel_env.setenv("OTEL_SERVICE_NAME", "checkout")
    otel_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    with FakeProvider(text="It is sunny.") as fake:
        lm.instrument(["openai"], flush_interval=0.05)
        reply = fake.openai_client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather?"}]
        )
        lm.shutdown()
    assert reply.choices[0].message.content == "It is sunny."
    (span,) = [s for r in http_receiver.at("/ingest/traces") for s in r.spans()]
    assert span["name"] == "chat gpt-4o-mini"
    assert span["resource"]["service.name"] == "checkout"
    assert span["resource"]["deployment.environment"] == "prod"
    assert http_receiver.at("/ingest/metrics")


def test_instrument_with_otlp_and_otel_sdk_disabled_sends_nothing(otel_env, http_receiver):
    otel_env.setenv("LLM_MONITOR_EXPORTERS", "otlp")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.url)
    otel_env.setenv("OTEL_SDK_DISABLED", "true")
    with FakeProvider() as fake:
        lm.instrument(["openai"], flush_interval=0.05)
        fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[])
        assert lm.flush(5.0)
        assert lm.stats()["calls"] == 1
        lm.shutdown()
    assert http_receiver.received == []
