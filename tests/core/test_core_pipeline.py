"""The export pipeline: exact drop counting, exporter isolation, flush/shutdown, exit hook, fork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from core_support import FailingExporter, RecordingExporter

import llm_monitor_sdk as lm


@lm.observe("unit")
def unit(n: int) -> int:
    """One span record per call."""
    return n


def test_queue_full_drops_are_counted_exactly_and_never_block() -> None:
    gate = threading.Event()
    stuck = RecordingExporter("stuck", gate=gate)
    lm.instrument(providers=[], exporters=[stuck], queue_size=10, batch_size=1, flush_interval=0.01)
    try:
        unit(-1)
        assert stuck.entered.wait(10)  # the worker holds record -1 inside export(): the queue is empty
        for n in range(35):  # 10 fit in the queue, 25 cannot; none of these calls may wait
            assert unit(n) == n
        stats = lm.stats()
        assert stats["dropped"] == 25
        assert stats["queue"]["queued"] == 10
        assert stats["exporters"]["stuck"]["dropped"] == 25
    finally:
        gate.set()
    assert lm.flush(10)
    assert [r["input"]["n"] for r in stuck.records] == [-1, *range(10)]
    assert lm.stats()["dropped"] == 25
    assert lm.stats()["exporters"]["stuck"]["exported"] == 11


@pytest.mark.internal_errors_expected
def test_failing_exporter_does_not_starve_the_others() -> None:
    failing = FailingExporter()
    good = RecordingExporter("good")
    lm.instrument(providers=[], exporters=[failing, good], batch_size=4, flush_interval=0.01)
    for n in range(10):
        unit(n)
    assert not lm.flush(10)  # one exporter failed every batch: not everything was exported
    for n in range(10, 13):
        unit(n)
    assert not lm.flush(10)
    assert sorted(r["input"]["n"] for r in good.records) == list(range(13))
    exporters = lm.stats()["exporters"]
    assert exporters["failing"]["exported"] == 0
    assert exporters["failing"]["failed"] == 13
    assert exporters["failing"]["batches"] == failing.attempts
    assert "sink is down" in exporters["failing"]["last_error"]
    assert exporters["good"]["exported"] == 13
    assert exporters["good"]["failed"] == 0
    assert exporters["good"]["batches"] == good.batches
    assert lm.stats()["internal_errors"] == {"exporter.failing:ConnectionError": failing.attempts}


def test_same_exporter_type_twice_gets_distinct_counters() -> None:
    first, second = RecordingExporter("same"), RecordingExporter("same")
    lm.instrument(providers=[], exporters=[first, second], flush_interval=0.01)
    unit(1)
    assert lm.flush(10)
    assert set(lm.stats()["exporters"]) == {"same", "same#2"}
    assert len(first.records) == len(second.records) == 1


def test_flush_really_waits_and_times_out() -> None:
    gate = threading.Event()
    slow = RecordingExporter("slow", delay=0.3, gate=gate)
    lm.instrument(providers=[], exporters=[slow], flush_interval=60)  # only flush() wakes the worker
    for n in range(5):
        unit(n)
    assert lm.flush(0.05) is False  # the exporter cannot finish before the gate opens
    gate.set()
    assert lm.flush(10) is True
    # flush() returned only after the 0.3 s export appended its records.
    assert [r["input"]["n"] for r in slow.records] == list(range(5))


def test_shutdown_flushes_and_shuts_exporters_down_once() -> None:
    slow = RecordingExporter("slow", delay=0.3)
    lm.instrument(providers=[], exporters=[slow], flush_interval=60)
    for n in range(3):
        unit(n)
    assert lm.shutdown() is True
    assert len(slow.records) == 3
    assert slow.shutdowns == 1
    assert lm.shutdown() is True
    lm.uninstrument()
    assert slow.shutdowns == 1
    unit(99)  # after shutdown spans are not recorded, and nothing raises
    assert len(slow.records) == 3


def test_reinstrument_shuts_the_previous_pipeline_down() -> None:
    first, second = RecordingExporter("first"), RecordingExporter("second")
    lm.instrument(providers=[], exporters=[first], flush_interval=60)
    unit(1)
    lm.instrument(providers=[], exporters=[second], flush_interval=60)
    unit(2)
    assert lm.flush(10)
    assert [r["input"]["n"] for r in first.records] == [1]
    assert first.shutdowns == 1
    assert [r["input"]["n"] for r in second.records] == [2]


def _child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_MONITOR_")}
    env["LLM_MONITOR_JSONL_PATH"] = str(tmp_path / "out" / "records.jsonl")
    env["LLM_MONITOR_FLUSH_INTERVAL"] = "60"  # the worker would not export on its own before exit
    return env


def test_records_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import llm_monitor_sdk as lm

        lm.instrument(providers=[])

        @lm.observe("at_exit")
        def work(x):
            return x * 2

        for i in range(3):
            work(i)
        # no flush(), no shutdown(): the atexit hook must export these
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], env=_child_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out" / "records.jsonl").read_text().splitlines()
    records = [lm.Record.model_validate(json.loads(line)) for line in lines]
    assert [(r.name, r.output) for r in records] == [("at_exit", 0), ("at_exit", 2), ("at_exit", 4)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_exports_its_own_records_once(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    lm.instrument(providers=[], exporters="jsonl", jsonl_path=str(path), flush_interval=60)
    unit(1)  # queued in the parent, not exported yet
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: record, flush through its own worker, report, leave without atexit
        code = 1
        try:
            os.close(read_end)
            unit(2)
            ok = lm.flush(10)
            os.write(write_end, json.dumps({"flushed": ok, "queued": lm.stats()["queue"]["queued"]}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read())
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert report == {"flushed": True, "queued": 0}
    # The child wrote only its own record: the parent's queued one was not inherited.
    child_lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["input"]["n"] for r in child_lines] == [2]
    unit(3)
    assert lm.flush(10)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["input"]["n"] for r in records) == [1, 2, 3]
    assert len({r["record_id"] for r in records}) == 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_during_a_jsonl_export_does_not_deadlock_the_child(tmp_path: Path) -> None:
    parent_pid = os.getpid()
    gate, inside = threading.Event(), threading.Event()

    class HeldJSONL(lm.exporters.JSONLExporter):
        """Holds the parent's write (and so the exporter's lock) until the test opens the gate."""

        def _write_all(self, fd: int, data: bytes) -> None:
            if os.getpid() == parent_pid:
                inside.set()
                gate.wait(10)
            super()._write_all(fd, data)

    path = tmp_path / "records.jsonl"
    lm.instrument(providers=[], exporters=[HeldJSONL(path)], flush_interval=0.01)
    unit(1)
    assert inside.wait(10)  # the parent's worker is mid-export, holding the lock
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            unit(2)
            code = 0 if lm.flush(5) else 3
        finally:
            os._exit(code)
    gate.set()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert lm.flush(10)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(r["input"]["n"] for r in records) == [1, 2]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_aggregates_are_locked_does_not_deadlock_the_child(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    monitor = lm.instrument(providers=[], exporters="jsonl", jsonl_path=str(path), flush_interval=0.01)
    lock = monitor.aggregates._lock
    lock.acquire()  # as if the export worker were inside Aggregates.add() at the moment of the fork
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                unit(7)
                code = 0 if lm.flush(5) else 3
            finally:
                os._exit(code)
    finally:
        lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert [json.loads(line)["input"]["n"] for line in path.read_text().splitlines()] == [7]
