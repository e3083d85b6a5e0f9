"""Nothing lost while the endpoint is down: the disk spool, its bound, a killed process, a full disk."""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest

from llm_monitor_sdk.exporters import _spool
from llm_monitor_sdk.exporters._base import RecordBatch
from llm_monitor_sdk.exporters._spool import DiskSpool
from llm_monitor_sdk.exporters.http import HTTPExporter

FAST = {
    "backoff_base": 0.01,
    "backoff_max": 0.05,
    "circuit_cooldown": 0.05,
    "circuit_max_cooldown": 0.1,
    "max_retries": 1,
    "shutdown_timeout": 2.0,
}


def _batches(factory: Any, n_batches: int, size: int, **fields: Any) -> list[RecordBatch]:
    return [RecordBatch(factory(**fields) for _ in range(size)) for _ in range(n_batches)]


def _ids(batches: list[RecordBatch]) -> list[str]:
    return [r["record_id"] for b in batches for r in b]


def test_endpoint_down_then_up_every_record_arrives_in_order(receiver, record_factory, tmp_path):
    receiver.stop()
    exporter = HTTPExporter(receiver.url, spool_dir=str(tmp_path), **FAST)
    batches = _batches(record_factory, 20, 5)
    for batch in batches:
        exporter.export(batch)
    assert receiver.wait_until(lambda: exporter.stats["spool_pending"] == 100)
    assert exporter.stats["sent"] == 0 and exporter.stats["lost"] == 0

    receiver.start()
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == _ids(batches)
    stats = exporter.stats
    assert stats["sent"] == stats["replayed"] == 100 and stats["spool_pending"] == 0
    assert os.listdir(tmp_path) == []


def test_shutdown_while_down_spools_and_a_new_exporter_replays(receiver, record_factory, tmp_path):
    receiver.stop()
    first = HTTPExporter(receiver.url, spool_dir=str(tmp_path), **FAST)
    batches = _batches(record_factory, 6, 3)
    for batch in batches:
        first.export(batch)
    first.shutdown()
    assert first.stats["spool_pending"] == 18 and first.stats["lost"] == 0

    receiver.start()
    second = HTTPExporter(receiver.url, spool_dir=str(tmp_path), **FAST)
    later = _batches(record_factory, 2, 1)
    for batch in later:
        second.export(batch)
    assert second.force_flush(10)
    second.shutdown()
    assert receiver.record_ids() == _ids(batches) + _ids(later)


def test_process_killed_with_records_spooled_then_restarted(receiver, record_factory, tmp_path):
    receiver.stop()
    spool_dir = tmp_path / "spool"
    script = textwrap.dedent(f"""
        import sys, time
        from llm_monitor_sdk.exporters.http import HTTPExporter
        exporter = HTTPExporter({receiver.url!r}, spool_dir={str(spool_dir)!r}, max_retries=0,
                                backoff_base=0.01, circuit_cooldown=0.05)
        for i in range(30):
            exporter.export([{{"record_id": f"killed-{{i:03d}}", "kind": "llm_call"}}])
        while exporter.stats["spool_pending"] < 30:
            time.sleep(0.01)
        print("SPOOLED", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "SPOOLED"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL

    receiver.start()
    exporter = HTTPExporter(receiver.url, spool_dir=str(spool_dir), **FAST)
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == [f"killed-{i:03d}" for i in range(30)]


def test_spool_bound_drops_oldest_first_and_counts(receiver, record_factory, tmp_path):
    receiver.stop()
    batches = _batches(record_factory, 10, 1)
    size = len(b'{"records":[' + batches[0].encoded()[0] + b"]}")
    exporter = HTTPExporter(
        receiver.url, spool_dir=str(tmp_path), spool_max_bytes=int(size * 3.5), spool_fsync=False, **FAST
    )
    for batch in batches:
        exporter.export(batch)
    assert receiver.wait_until(
        lambda: exporter.stats["spool_dropped"] + exporter.stats["spool_pending"] == 10
    )
    assert exporter.stats["spool_dropped"] == 7

    receiver.start()
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == _ids(batches[-3:])


def _mount_tiny_tmpfs(path: str) -> bool:
    os.makedirs(path)
    if os.geteuid() != 0:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", path], capture_output=True)
    return result.returncode == 0


def test_disk_full_is_counted_logged_once_and_never_raises(
    receiver, record_factory, tmp_path, monkeypatch, caplog
):
    receiver.stop()
    spool_dir = str(tmp_path / "tiny")
    mounted = _mount_tiny_tmpfs(spool_dir)
    if not mounted:
        # Without root, simulate the same failure the kernel reports on a full filesystem.
        real_write = os.write
        written = {"bytes": 0}

        def write(fd: int, data: Any) -> int:
            written["bytes"] += len(data)
            if written["bytes"] > 64 * 1024:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(_spool.os, "write", write)
    try:
        exporter = HTTPExporter(receiver.url, spool_dir=spool_dir, **FAST)
        # ~12 KB per batch: the 64 KB filesystem fills after a handful.
        batches = _batches(record_factory, 12, 10, metadata={"blob": "x" * 1000})
        with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
            for batch in batches:
                exporter.export(batch)
            assert receiver.wait_until(
                lambda: exporter.stats["spool_dropped"] + exporter.stats["spool_pending"] == 120
            )
        stats = exporter.stats
        assert stats["spool_errors"] > 0 and stats["spool_dropped"] > 0 and stats["spool_pending"] > 0
        assert sum("cannot write to the spool" in r.getMessage() for r in caplog.records) == 1

        receiver.start()
        assert exporter.force_flush(10)
        exporter.shutdown()
        # What reached the disk is delivered, in order; what did not is exactly what was counted.
        delivered = receiver.record_ids()
        assert len(delivered) == stats["spool_pending"] == 120 - stats["spool_dropped"]
        all_ids = _ids(batches)
        assert delivered == sorted(delivered, key=all_ids.index)
    finally:
        if mounted:
            subprocess.run(["umount", spool_dir], check=True)


def test_spool_restart_cleans_partial_writes_and_continues_the_sequence(tmp_path):
    spool = DiskSpool(str(tmp_path), max_bytes=10_000, fsync=False)
    assert spool.put(0, b"a", 1) and spool.put(1, b"bb", 2)
    # A crash mid-write leaves our header and part of a body (foreign .tmp- files are kept: test_files_*).
    (tmp_path / ".tmp-123-00000000000000000002-1.json").write_bytes(_spool.spool_header(1) + b"half")
    (tmp_path / "unrelated.txt").write_bytes(b"keep")

    reopened = DiskSpool(str(tmp_path), max_bytes=10_000, fsync=False)
    assert reopened.next_seq() == 2 and len(reopened) == 2 and reopened.pending_records == 3
    assert sorted(os.listdir(tmp_path)) == [
        "00000000000000000000-1.json",
        "00000000000000000001-2.json",
        "unrelated.txt",
    ]
    entry = reopened.oldest()
    assert entry is not None and reopened.read(entry) == b"a"


def test_spool_keeps_delivery_order_for_a_batch_that_failed_in_flight(tmp_path):
    spool = DiskSpool(str(tmp_path), max_bytes=10_000, fsync=False)
    spool.put(5, b"later", 1)
    spool.put(3, b"in-flight", 1)
    entry = spool.oldest()
    assert entry is not None and entry.seq == 3


@pytest.mark.parametrize("max_bytes", [0, 3])
def test_batch_larger_than_the_spool_is_dropped_and_counted(tmp_path, max_bytes):
    spool = DiskSpool(str(tmp_path), max_bytes=max_bytes, fsync=False)
    assert not spool.put(0, b"four", 4)
    assert spool.dropped_records == 4 and len(spool) == 0


def test_unique_names_do_not_collide_across_spools(tmp_path):
    a = DiskSpool(str(tmp_path / uuid.uuid4().hex), max_bytes=100, fsync=False)
    assert a.put(0, b"x", 1)
    assert a.size_bytes == len(_spool.spool_header(1)) + 1  # bytes on disk, header line included
