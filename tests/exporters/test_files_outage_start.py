"""Issue 13.6: the spool covers the start of an outage. With a spool, a batch that fails its first
attempt is on disk before its first retry, so a process killed during the backoff loses nothing the
HTTP exporter had received. The kill test makes calls against a dead endpoint and SIGKILLs the
process 0.5 s, 2 s and 10 s after the last call (three processes in parallel)."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk
from llm_monitor_sdk.exporters._base import RecordBatch
from llm_monitor_sdk.exporters._spool import MAGIC, DiskSpool
from llm_monitor_sdk.exporters.http import HTTPExporter

SRC = str(Path(llm_monitor_sdk.__file__).resolve().parents[1])  # the package under test


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ingest"  # nothing listens: connections are refused


def _wait(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _spooled_records(directory: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")):
        data = path.read_bytes()
        assert data.startswith(MAGIC)
        out.extend(json.loads(data.split(b"\n", 1)[1])["records"])
    return out


def _batch(prefix: str, n: int) -> RecordBatch:
    return RecordBatch({"record_id": f"{prefix}-{i}", "kind": "llm_call"} for i in range(n))


def test_batch_is_on_disk_before_its_first_retry(tmp_path: Path) -> None:
    # A first backoff of 30 s: the batch can only reach the disk before the retry, not after it.
    exporter = HTTPExporter(
        _dead_url(), spool_dir=str(tmp_path), max_retries=3, backoff_base=30, backoff_max=30, timeout=2
    )
    try:
        exporter.export(_batch("first", 5))
        assert _wait(lambda: exporter.stats["spool_pending"] == 5)
        assert exporter.stats["retried"] == 0  # still waiting for its first retry
        assert [r["record_id"] for r in _spooled_records(tmp_path)] == [f"first-{i}" for i in range(5)]
        # Later batches queue behind it on disk, in order.
        exporter.export(_batch("second", 2))
        assert _wait(lambda: exporter.stats["spool_pending"] == 7)
    finally:
        exporter.shutdown()
    # Shutting down mid-backoff does not write the batch a second time.
    ids = [r["record_id"] for r in _spooled_records(tmp_path)]
    assert ids == [f"first-{i}" for i in range(5)] + ["second-0", "second-1"]
    assert exporter.stats["lost"] == 0


def test_batch_delivered_by_a_retry_leaves_nothing_on_disk(receiver: Any, tmp_path: Path) -> None:
    receiver.respond(503)  # the first attempt fails, the retry is accepted
    exporter = HTTPExporter(receiver.url, spool_dir=str(tmp_path), max_retries=3, backoff_base=0.2)
    exporter.export(_batch("b", 3))
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == ["b-0", "b-1", "b-2"]  # once: the disk copy was not replayed as well
    assert os.listdir(tmp_path) == []
    stats = exporter.stats
    assert (stats["sent"], stats["spooled"], stats["spool_pending"], stats["lost"]) == (3, 3, 0, 0)


_CHILD = textwrap.dedent("""
    import sys, time
    import llm_monitor_sdk as lm
    from llm_monitor_sdk.testing import FakeProvider

    url, spool_dir = sys.argv[1], sys.argv[2]
    # Default HTTP exporter settings (5 retries, 0.5 s first backoff); batches leave every 0.1 s.
    lm.instrument(["openai"], exporters=["http"], http_url=url, spool_dir=spool_dir, flush_interval=0.1)
    with FakeProvider() as fake:
        client = fake.openai_client()
        for i in range(12):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"call {i}"}]
            )
            if i == 5:
                time.sleep(0.3)  # a second batch while the first one is already failing
        print("LAST", flush=True)
        time.sleep(120)
""")


@pytest.mark.slow
def test_sigkill_after_the_last_call_loses_nothing(tmp_path: Path) -> None:
    url = _dead_url()
    delays = (0.5, 2.0, 10.0)
    env = {**os.environ, "PYTHONPATH": SRC}
    children = []
    for delay in delays:
        spool = tmp_path / f"spool-{delay}"
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, str(spool)], stdout=subprocess.PIPE, text=True, env=env
        )
        children.append((delay, spool, child))
    try:
        last_call: dict[float, float] = {}
        for delay, _, child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "LAST"
            last_call[delay] = time.monotonic()
        for delay, _, child in sorted(children, key=lambda c: c[0]):
            time.sleep(max(0.0, last_call[delay] + delay - time.monotonic()))
            child.send_signal(signal.SIGKILL)
    finally:
        for _, _, child in children:
            child.kill()
            child.wait(10)
    for delay, spool, child in children:
        assert child.returncode == -signal.SIGKILL
        records = _spooled_records(spool)
        calls = [r for r in records if r["kind"] == "llm_call"]
        assert len(calls) == 12, f"killed {delay} s after the last call: {len(calls)} of 12 on disk"
        assert len({r["record_id"] for r in calls}) == 12


def test_failed_early_spool_write_is_not_a_drop_when_the_retry_delivers(
    receiver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.respond(503)

    def disk_full(self: Any, path: str, body: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(DiskSpool, "_write_atomically", disk_full)
    exporter = HTTPExporter(receiver.url, spool_dir=str(tmp_path), max_retries=3, backoff_base=0.2)
    exporter.export(_batch("b", 3))
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == ["b-0", "b-1", "b-2"]
    stats = exporter.stats
    assert (stats["sent"], stats["spool_errors"], stats["spool_dropped"], stats["lost"]) == (3, 1, 0, 0)
