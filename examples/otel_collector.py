"""LLM calls from an instrumented app arriving at an OTLP receiver as correctly parented GenAI spans.

Runs offline: a local fake OpenAI API stands in for the provider, and a small OTLP/HTTP receiver on
127.0.0.1 stands in for an OpenTelemetry Collector (point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at a real
Collector, ``http://localhost:4318``, and drop the receiver to send to one).

The app has its own OpenTelemetry tracing (a ``TracerProvider`` exporting over OTLP) and serves a
"web request" span; inside it an ``@lm.observe`` function makes two chat calls. The receiver prints
the trace it got::

    GET /ask  [SERVER]  (app span)
      answer_question  [INTERNAL]
        chat gpt-4o-mini  [CLIENT]  gen_ai.usage.input_tokens=... llm_monitor.tenant_id=acme

Run: ``python examples/otel_collector.py`` (needs the ``otel`` extra and ``openai``).
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

RECEIVED: list[Any] = []


class OTLPReceiver(BaseHTTPRequestHandler):
    """Accepts ``POST /v1/traces`` (protobuf) and keeps the spans; stands in for a Collector."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            RECEIVED.extend(
                span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans
            )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def print_tree() -> None:
    """Print the received spans as a tree, following parent span ids."""
    kinds = {
        ProtoSpan.SPAN_KIND_SERVER: "SERVER",
        ProtoSpan.SPAN_KIND_CLIENT: "CLIENT",
        ProtoSpan.SPAN_KIND_INTERNAL: "INTERNAL",
    }
    children: dict[bytes, list[Any]] = {}
    for span in RECEIVED:
        children.setdefault(span.parent_span_id, []).append(span)

    def show(span: Any, depth: int) -> None:
        attrs = {kv.key: kv.value for kv in span.attributes}
        details = []
        for key in (
            "gen_ai.provider.name",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "llm_monitor.cost_usd",
            "llm_monitor.tenant_id",
        ):
            if key in attrs:
                value = attrs[key]
                details.append(f"{key}={getattr(value, value.WhichOneof('value'))}")
        print(f"{'  ' * depth}{span.name}  [{kinds.get(span.kind, span.kind)}]  {' '.join(details)}")
        for child in sorted(children.get(span.span_id, []), key=lambda s: s.start_time_unix_nano):
            show(child, depth + 1)

    for root in children.get(b"", []):
        print(f"trace {root.trace_id.hex()}")
        show(root, 1)


def main() -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), OTLPReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{receiver.server_address[1]}"

    # The application's own OpenTelemetry setup, as it would be in production.
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    tracer = trace.get_tracer("support-bot")

    with FakeProvider() as fake:
        # "otlp" finds the app's TracerProvider and adds its spans to the same pipeline.
        lm.instrument(["openai"], exporters=["otlp"], capture_content=True)
        client = fake.openai_client()

        @lm.observe("answer_question", tenant_id="acme", feature="support")
        def answer_question(question: str) -> str:
            draft = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            final = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"Shorten: {draft.choices[0].message.content}"}],
            )
            return final.choices[0].message.content or ""

        with tracer.start_as_current_span("GET /ask", kind=trace.SpanKind.SERVER):
            answer_question("How do I reset my password?")

        lm.shutdown()  # flushes the SDK's pipeline into the app's span processors
    provider.shutdown()  # the app flushes its own BatchSpanProcessor at exit
    receiver.shutdown()
    print_tree()


if __name__ == "__main__":
    main()
