"""HTTPExporter against a real loopback HTTP server: wire format, retries, rejections, circuit breaker."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
from typing import Any

import pytest

from llm_monitor_sdk.exporters._base import RecordBatch
from llm_monitor_sdk.exporters.http import HTTPExporter

FAST = {
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "circuit_cooldown": 0.05,
    "circuit_max_cooldown": 0.2,
    "shutdown_timeout": 2.0,
}


def _batches(factory: Any, n_batches: int, size: int) -> list[RecordBatch]:
    return [RecordBatch(factory() for _ in range(size)) for _ in range(n_batches)]


def test_posts_json_batches_with_record_ids_and_headers(receiver, record_factory):
    exporter = HTTPExporter(receiver.url, {"Authorization": "Bearer t0ken"}, **FAST)
    batches = _batches(record_factory, 2, 3)
    for batch in batches:
        exporter.export(batch)
    assert exporter.force_flush(5)
    exporter.shutdown()

    sent_ids = [r["record_id"] for b in batches for r in b]
    assert receiver.record_ids() == sent_ids
    first = receiver.requests[0]
    assert first["headers"]["Content-Type"] == "application/json"
    assert first["headers"]["Authorization"] == "Bearer t0ken"
    assert "Content-Encoding" not in first["headers"]
    # The body is the records exactly as the JSONL exporter writes them.
    assert json.loads(first["raw"]) == {"records": [json.loads(b) for b in batches[0].encoded()]}
    assert exporter.stats["sent"] == 6 and exporter.stats["batches_sent"] == 2
    assert exporter.stats["failed"] == exporter.stats["lost"] == 0


def test_gzip_above_threshold(receiver, record_factory):
    exporter = HTTPExporter(receiver.url, gzip_threshold=256, **FAST)
    batch = RecordBatch(record_factory() for _ in range(5))
    exporter.export(batch)
    assert exporter.force_flush(5)
    exporter.shutdown()
    request = receiver.requests[0]
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(request["raw"]))["records"] == list(batch)


def test_500s_then_200_are_retried_until_delivered(receiver, record_factory):
    receiver.respond(500, 503)
    exporter = HTTPExporter(receiver.url, **FAST)
    batch = RecordBatch([record_factory()])
    exporter.export(batch)
    assert exporter.force_flush(5)
    exporter.shutdown()
    assert [r["status"] for r in receiver.requests] == [500, 503, 200]
    assert receiver.record_ids() == [batch[0]["record_id"]]
    assert exporter.stats["retried"] == 2 and exporter.stats["sent"] == 1


def test_retry_after_wins_over_backoff(receiver, record_factory):
    # With a 60 s backoff the flush below could only succeed by honouring "Retry-After: 0".
    receiver.respond(429, headers={"Retry-After": "0"})
    exporter = HTTPExporter(receiver.url, backoff_base=60, backoff_max=60, shutdown_timeout=1)
    exporter.export([record_factory()])
    assert exporter.force_flush(5)
    exporter.shutdown()
    assert [r["status"] for r in receiver.requests] == [429, 200]


def test_other_4xx_is_not_retried_and_logged_once(receiver, record_factory, caplog):
    receiver.respond(400, 422, body=b'{"error":"bad schema"}')
    exporter = HTTPExporter(receiver.url, **FAST)
    with caplog.at_level(logging.DEBUG, logger="llm_monitor_sdk"):
        exporter.export([record_factory(), record_factory()])
        exporter.export([record_factory()])
        assert exporter.force_flush(5)
    exporter.shutdown()
    assert [r["status"] for r in receiver.requests] == [400, 422]
    assert exporter.stats["failed"] == 3 and exporter.stats["retried"] == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "bad schema" in errors[0].getMessage()


def test_circuit_breaker_stops_calling_a_failing_endpoint(receiver, record_factory):
    receiver.respond(*([503] * 50))
    exporter = HTTPExporter(
        receiver.url, max_retries=0, circuit_threshold=2, circuit_cooldown=60, shutdown_timeout=1
    )
    for _ in range(10):
        exporter.export([record_factory()])
    assert receiver.wait_until(lambda: len(receiver.requests) == 2)
    assert receiver.wait_until(lambda: exporter.stats["circuit_open_skips"] > 0)
    exporter.shutdown()
    # Two attempts opened the circuit; the other eight batches never reached the endpoint.
    assert len(receiver.requests) == 2
    stats = exporter.stats
    assert stats["circuit_opened"] == 1
    assert stats["lost"] == 10 and stats["sent"] == 0


def test_slow_endpoint_does_not_slow_export(receiver, record_factory):
    receiver.slow_seconds = 5.0
    exporter = HTTPExporter(receiver.url, max_queue_batches=4, **FAST)
    exporter.export([record_factory()])
    assert receiver.wait_until(lambda: receiver.in_flight == 1)
    for _ in range(20):
        exporter.export([record_factory()])
    # All twenty calls returned while the first request was still held open by the endpoint.
    assert receiver.in_flight == 1 and receiver.accepted == []
    assert exporter.stats["queued"] == 4 and exporter.stats["lost"] == 16
    receiver.release.set()
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert len(receiver.records) == 5


def test_slow_endpoint_overflow_goes_to_the_spool(receiver, record_factory, tmp_path):
    receiver.slow_seconds = 5.0
    exporter = HTTPExporter(receiver.url, max_queue_batches=2, spool_dir=str(tmp_path), **FAST)
    batches = _batches(record_factory, 12, 2)
    exporter.export(batches[0])
    assert receiver.wait_until(lambda: receiver.in_flight == 1)
    for batch in batches[1:]:
        exporter.export(batch)
    assert receiver.in_flight == 1 and receiver.accepted == []
    assert exporter.stats["lost"] == 0 and exporter.stats["spool_pending"] > 0
    receiver.release.set()
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == [r["record_id"] for b in batches for r in b]


def test_bad_url_is_a_value_error():
    with pytest.raises(ValueError, match="absolute http"):
        HTTPExporter("localhost:8080/ingest")


def test_importing_http_exporter_does_not_import_opentelemetry_sdk():
    code = (
        "import sys, llm_monitor_sdk.exporters.http as h; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
