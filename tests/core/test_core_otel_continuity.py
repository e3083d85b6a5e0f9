"""An application's active OpenTelemetry span becomes the parent of ``@observe`` spans and LLM calls."""

from __future__ import annotations

from core_support import DummyClient, RecordingExporter
from opentelemetry.sdk.trace import TracerProvider

import llm_monitor_sdk as lm


def _ids(span) -> tuple[str, str]:
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_observe_inside_otel_span_joins_its_trace(recorder: RecordingExporter) -> None:
    tracer = TracerProvider().get_tracer("app")

    @lm.observe("handler")
    def handler() -> None:
        DummyClient().create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    with tracer.start_as_current_span("http.request") as otel_span:
        handler()
    trace_id, span_id = _ids(otel_span)
    assert lm.flush(10)
    span = next(r for r in recorder.records if r["kind"] == "span")
    call = next(r for r in recorder.records if r["kind"] == "llm_call")
    assert (span["trace_id"], span["parent_span_id"]) == (trace_id, span_id)
    # The call's parent is our span, which itself hangs under the OTel span: one trace.
    assert (call["trace_id"], call["parent_span_id"]) == (trace_id, span["span_id"])


def test_llm_call_directly_under_otel_span(recorder: RecordingExporter) -> None:
    tracer = TracerProvider().get_tracer("app")
    with tracer.start_as_current_span("job") as otel_span:
        DummyClient().create(model="gpt-4o-mini", messages=[])
    assert lm.flush(10)
    (call,) = recorder.records
    assert (call["trace_id"], call["parent_span_id"]) == _ids(otel_span)


def test_no_otel_span_means_a_new_root_trace(recorder: RecordingExporter) -> None:
    @lm.observe("solo")
    def solo() -> None:
        pass

    tracer = TracerProvider().get_tracer("app")
    with tracer.start_as_current_span("earlier") as otel_span:
        pass
    solo()
    assert lm.flush(10)
    (span,) = recorder.records
    assert span["parent_span_id"] is None
    assert span["trace_id"] != _ids(otel_span)[0]
