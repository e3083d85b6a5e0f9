"""Loopback receivers and a record factory for the HTTP and OpenTelemetry exporter tests.

``RecordingReceiver`` is a real HTTP server on 127.0.0.1 that decodes gzip, records every batch and
answers with a programmable sequence of statuses (and ``Retry-After``), optionally holding each
request open to play a slow endpoint. ``OTLPReceiver`` is a real OTLP/HTTP endpoint that decodes
the protobuf payloads with ``opentelemetry-proto``.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _LoopbackServer:
    """Start, stop and restart a handler on one fixed loopback port."""

    def __init__(self) -> None:
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: connections to the port are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # Poll too: some predicates watch the exporter, which does not notify us.
                self.changed.wait(min(remaining, 0.02))
        return True


class RecordingReceiver(_LoopbackServer):
    """An HTTP endpoint that records the record batches it accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self.script: deque[tuple[int, dict[str, str], bytes]] = deque()
        self.slow_seconds = 0.0
        self.release = threading.Event()
        self.in_flight = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ingest"

    def respond(self, *statuses: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        """Answer the next requests with these statuses (then 200 again)."""
        for status in statuses:
            self.script.append((status, dict(headers or {}), body))

    @property
    def records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for batch in self.accepted for r in batch["records"]]

    def record_ids(self) -> list[str]:
        return [r["record_id"] for r in self.records]

    def wait_for_records(self, n: int, timeout: float = 10.0) -> bool:
        return self.wait_until(lambda: sum(len(b["records"]) for b in self.accepted) >= n, timeout)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                with receiver.changed:
                    receiver.in_flight += 1
                    status, headers, reply = receiver.script.popleft() if receiver.script else (200, {}, b"")
                    entry = {
                        "headers": dict(self.headers),
                        "raw": raw,
                        "status": status,
                        "records": json.loads(body)["records"],
                    }
                    receiver.requests.append(entry)
                    receiver.changed.notify_all()
                if receiver.slow_seconds:
                    receiver.release.wait(receiver.slow_seconds)
                # Book-keep before answering: once the client has its response, the test may look.
                with receiver.changed:
                    receiver.in_flight -= 1
                    if 200 <= status < 300:
                        receiver.accepted.append(entry)
                    receiver.changed.notify_all()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        return Handler


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in kvs}


class OTLPReceiver(_LoopbackServer):
    """An OTLP/HTTP (protobuf) endpoint: decodes ``/v1/traces`` and ``/v1/metrics`` requests."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[dict[str, Any]] = []
        self.metric_requests: list[Any] = []
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics(self) -> dict[str, dict[str, Any]]:
        """The latest state of every metric (cumulative temporality: the last export wins)."""
        out: dict[str, dict[str, Any]] = {}
        with self.lock:
            requests = list(self.metric_requests)
        for request in requests:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        points = []
                        for dp in getattr(metric, kind).data_points:
                            point: dict[str, Any] = {"attributes": _attrs(dp.attributes)}
                            if kind == "histogram":
                                point.update(count=dp.count, sum=dp.sum, bounds=list(dp.explicit_bounds))
                            else:
                                point["value"] = (
                                    dp.as_double if dp.WhichOneof("value") == "as_double" else dp.as_int
                                )
                            points.append(point)
                        out[metric.name] = {"kind": kind, "unit": metric.unit, "points": points}
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                with receiver.changed:
                    if self.path == "/v1/traces":
                        request = ExportTraceServiceRequest.FromString(raw)
                        for rs in request.resource_spans:
                            resource = _attrs(rs.resource.attributes)
                            for ss in rs.scope_spans:
                                for span in ss.spans:
                                    receiver.spans.append(
                                        {
                                            "name": span.name,
                                            "trace_id": span.trace_id.hex(),
                                            "span_id": span.span_id.hex(),
                                            "parent_span_id": span.parent_span_id.hex() or None,
                                            "kind": span.kind,
                                            "start": span.start_time_unix_nano,
                                            "end": span.end_time_unix_nano,
                                            "attributes": _attrs(span.attributes),
                                            "status": span.status.code,
                                            "status_message": span.status.message,
                                            "resource": resource,
                                            "scope": ss.scope.name,
                                        }
                                    )
                    elif self.path == "/v1/metrics":
                        receiver.metric_requests.append(ExportMetricsServiceRequest.FromString(raw))
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


_T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_record(**overrides: Any) -> dict[str, Any]:
    """A complete ``llm_call`` record dict with the contract's fields; keywords override fields."""
    started = overrides.pop("_start", _T0)
    latency_ms = overrides.get("latency_ms", 1250.0)
    record: dict[str, Any] = {
        "schema_version": 1,
        "kind": "llm_call",
        "record_id": os.urandom(16).hex(),
        "trace_id": os.urandom(16).hex(),
        "span_id": os.urandom(8).hex(),
        "parent_span_id": None,
        "started_at": _iso(started),
        "ended_at": _iso(started + timedelta(milliseconds=latency_ms)),
        "provider": "openai",
        "operation": "chat",
        "api": "chat.completions.create",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "request_params": {"temperature": 0.2, "max_tokens": 256, "top_p": 0.9, "stop": ["END"], "seed": 7},
        "stream": True,
        "status": "ok",
        "error": None,
        "latency_ms": latency_ms,
        "ttft_ms": 310.5,
        "usage": {
            "input_tokens": 120,
            "output_tokens": 48,
            "total_tokens": 168,
            "cache_read_input_tokens": 64,
            "cache_write_input_tokens": 0,
            "reasoning_output_tokens": 16,
            "source": "provider",
        },
        "cost_usd": 0.000123,
        "finish_reasons": ["stop"],
        "response_id": "chatcmpl-abc123",
        "request_id": "req_42",
        "system_instructions": [{"type": "text", "content": "You are terse."}],
        "input_messages": [{"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}],
        "output_messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": "Hi"}], "finish_reason": "stop"}
        ],
        "user_id": "u-1",
        "session_id": "s-1",
        "tenant_id": "acme",
        "feature": "greeter",
        "tags": ["beta", "eu"],
        "metadata": {"plan": "pro"},
        "prompt_name": "greet",
        "prompt_version": "3",
        "partial": False,
        "redactions": {},
        "budget_alerts": [],
        "service_name": "demo-app",
        "sdk_version": "0.1.0",
    }
    record.update(overrides)
    return record


@pytest.fixture
def receiver() -> Iterator[RecordingReceiver]:
    server = RecordingReceiver()
    yield server
    server.release.set()
    server.stop()


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    server = OTLPReceiver()
    yield server
    server.stop()


@pytest.fixture
def record_factory() -> Callable[..., dict[str, Any]]:
    return make_record
