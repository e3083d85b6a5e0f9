"""Loopback OTLP receivers that record *where* each request went: an HTTP one (any path) and a gRPC one.

Unlike the delivery tests' receiver, these accept every path, keep the request's headers and raw body,
and decode the protobuf payload only when asked, so a test can check the exact URL the exporter chose.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.trace import ProxyTracerProvider

OTEL_VARIABLES_PREFIXES = ("OTEL_",)


@dataclass
class Received:
    """One export request: transport, path (HTTP) or method (gRPC), headers and the decoded body."""

    transport: str
    path: str
    headers: dict[str, str]
    body: bytes

    def spans(self) -> list[dict[str, Any]]:
        request = ExportTraceServiceRequest.FromString(self.body)
        out = []
        for rs in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    attributes = {kv.key: kv.value for kv in span.attributes}
                    out.append(
                        {
                            "name": span.name,
                            "span_id": span.span_id.hex(),
                            "resource": resource,
                            "attributes": attributes,
                        }
                    )
        return out

    def metric_names(self) -> set[str]:
        request = ExportMetricsServiceRequest.FromString(self.body)
        return {m.name for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}

    def metric_resource(self) -> dict[str, str]:
        request = ExportMetricsServiceRequest.FromString(self.body)
        return {
            kv.key: kv.value.string_value for rm in request.resource_metrics for kv in rm.resource.attributes
        }


class _Waiter:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.changed = threading.Condition()

    def add(self, item: Received) -> None:
        with self.changed:
            self.received.append(item)
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(remaining)
        return True

    def at(self, path: str) -> list[Received]:
        with self.changed:
            return [r for r in self.received if r.path == path]


class HTTPReceiver(_Waiter):
    """OTLP/HTTP on 127.0.0.1, any path; ``hold_seconds`` delays every answer (a slow collector)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_seconds = 0.0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    raw = gzip.decompress(raw)
                elif encoding == "deflate":
                    raw = zlib.decompress(raw)
                receiver.add(
                    Received("http", self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                )
                if receiver.hold_seconds:
                    receiver.release.wait(receiver.hold_seconds)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


class GRPCReceiver(_Waiter):
    """OTLP/gRPC (plain text) on 127.0.0.1: the trace and metrics services, recording metadata."""

    def __init__(self) -> None:
        super().__init__()
        import grpc
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                receiver.add(
                    Received(
                        "grpc", "traces", dict(context.invocation_metadata()), request.SerializeToString()
                    )
                )
                return ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                receiver.add(
                    Received(
                        "grpc", "metrics", dict(context.invocation_metadata()), request.SerializeToString()
                    )
                )
                return ExportMetricsServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop(0)


@pytest.fixture
def http_receiver() -> Iterator[HTTPReceiver]:
    server = HTTPReceiver()
    yield server
    server.stop()


@pytest.fixture
def grpc_receiver() -> Iterator[GRPCReceiver]:
    server = GRPCReceiver()
    yield server
    server.stop()


@pytest.fixture
def otel_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``OTEL_*`` variable from the shell, and an application without OpenTelemetry SDK providers."""
    import os

    for name in list(os.environ):
        if name.startswith(OTEL_VARIABLES_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setattr(trace, "get_tracer_provider", ProxyTracerProvider)
    monkeypatch.setattr(metrics, "get_meter_provider", metrics.NoOpMeterProvider)
    return monkeypatch
