"""Helpers for the monitoring tests: a controllable clock, a webhook receiver, an instrumented harness."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.monitoring import AlertProcessor, alert_processor


class FakeClock:
    """The monitoring clock, moved by the test (starts at a round time)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


class Webhook:
    """A local HTTP receiver that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        received = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def wait_for(condition: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def monitoring_processors(**settings: Any) -> dict[str, Any]:
    """``instrument()`` keywords that switch the monitoring processors on with these settings (the
    monitor builds them from ``alerts=``, ``alert_webhook=`` and ``on_alert=``, as for an application)."""
    return settings


class Harness:
    """``lm.instrument`` with the monitoring processors, an in-memory exporter, a callback and a webhook."""

    def __init__(self, rules: Any, webhook_url: str | None, **settings: Any) -> None:
        self.exporter = lm.exporters.InMemoryExporter()
        self.callbacks: list[dict[str, Any]] = []
        lm.instrument(
            exporters=[self.exporter],
            redact=False,
            flush_interval=0.02,
            **monitoring_processors(alerts=rules, alert_webhook=webhook_url, on_alert=self.callbacks.append),
            **settings,
        )
        monitor = lm.get_monitor()
        assert monitor is not None
        processor = alert_processor(monitor.processors)
        assert processor is not None
        self.alerts: AlertProcessor = processor

    def flush(self) -> None:
        assert lm.flush(10)

    def alert_records(self, state: str | None = None) -> list[dict[str, Any]]:
        self.flush()
        found = [r["alert"] for r in self.exporter.records if r.get("kind") == "alert"]
        return [a for a in found if state is None or a["state"] == state]

    def wait_alert_records(self, count: int, timeout: float = 8.0) -> list[dict[str, Any]]:
        """Wait (for the once-a-second tick) until ``count`` alert records were exported."""
        wait_for(lambda: len(self.alert_records()) >= count, timeout)
        return self.alert_records()

    def drain(self) -> None:
        assert self.alerts.notifier.drain(10)


def alert_logs(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "llm_monitor_sdk.alerts"]
