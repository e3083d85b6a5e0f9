"""``JSONLExporter``: whole lines, folders, permissions, rotation, torn tails, failed writes."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from core_support import RecordingExporter

import llm_monitor_sdk as lm
from llm_monitor_sdk.exporters import JSONLExporter, RecordBatch
from llm_monitor_sdk.exporters import jsonl as jsonl_module


def _record(n: int, text: str = "") -> dict[str, Any]:
    return {"kind": "span", "n": n, "text": text, "unicode": "héllo ✓"}


def _lines(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw == b"" or raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode().splitlines()]


def test_one_object_per_line_folders_created_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "records.jsonl"
    exporter = JSONLExporter(path)
    exporter.export([_record(0), _record(1, "multi\nline")])
    exporter.export(RecordBatch([_record(2)]))
    exporter.shutdown()
    assert [r["n"] for r in _lines(path)] == [0, 1, 2]
    assert _lines(path)[1]["text"] == "multi\nline"
    assert _lines(path)[0]["unicode"] == "héllo ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    first = JSONLExporter(path)
    first.export([_record(0)])
    first.shutdown()
    second = JSONLExporter(path)
    second.export([_record(1)])
    second.shutdown()
    assert [r["n"] for r in _lines(path)] == [0, 1]


def test_size_rotation_keeps_backups(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    line_size = len(json.dumps(_record(0, "x" * 50), ensure_ascii=False, separators=(",", ":")).encode()) + 1
    exporter = JSONLExporter(path, max_bytes=line_size * 3, backups=2)
    for n in range(20):
        exporter.export([_record(n, "x" * (50 - len(str(n)) + 1))])
    exporter.shutdown()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["records.jsonl", "records.jsonl.1", "records.jsonl.2"]
    for name in names:
        assert (tmp_path / name).stat().st_size <= line_size * 3
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    newest = [r["n"] for r in _lines(path)]
    older = [r["n"] for r in _lines(tmp_path / "records.jsonl.1")]
    oldest = [r["n"] for r in _lines(tmp_path / "records.jsonl.2")]
    # Nothing lost or reordered among the kept files: the newest records, contiguous.
    assert oldest + older + newest == list(range(20 - len(oldest + older + newest), 20))
    assert newest[-1] == 19 and len(oldest + older + newest) >= 7


def test_two_writers_on_one_file_rotate_together(tmp_path: Path) -> None:
    # Pre-fork servers: each worker process has its own exporter on the same path.
    path = tmp_path / "records.jsonl"
    writers = [JSONLExporter(path, max_bytes=1000, backups=50) for _ in range(3)]
    for n in range(150):
        writers[n % 3].export([_record(n, "p" * 40)])
    for writer in writers:
        writer.shutdown()
    files = sorted(tmp_path.iterdir())
    assert all(f.stat().st_size <= 1000 for f in files), [(f.name, f.stat().st_size) for f in files]
    seen = sorted(r["n"] for f in files for r in _lines(f))
    assert seen == list(range(150))


def test_rotation_without_backups_truncates(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    exporter = JSONLExporter(path, max_bytes=200, backups=0)
    for n in range(10):
        exporter.export([_record(n, "y" * 60)])
    exporter.shutdown()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.jsonl"]
    assert _lines(path)[-1]["n"] == 9


def test_max_bytes_zero_never_rotates(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    exporter = JSONLExporter(path, max_bytes=0, backups=2)
    for n in range(30):
        exporter.export([_record(n, "z" * 100)])
    exporter.shutdown()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.jsonl"]
    assert len(_lines(path)) == 30


def test_torn_tail_is_repaired_on_open(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    whole = json.dumps(_record(0)) + "\n"
    path.write_text(whole + '{"kind": "span", "n": 1, "te')  # a crash mid-write
    exporter = JSONLExporter(path)
    exporter.export([_record(2)])
    exporter.shutdown()
    assert [r["n"] for r in _lines(path)] == [0, 2]


def test_torn_first_line_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"kind": "span", "n": 0, "half')  # begins like a record: ours
    exporter = JSONLExporter(path)
    exporter.export([_record(1)])
    exporter.shutdown()
    assert [r["n"] for r in _lines(path)] == [1]


def _failing_write_after(monkeypatch: pytest.MonkeyPatch, exporter: JSONLExporter, partial: int) -> list[int]:
    """Make writes to ``exporter``'s file write ``partial`` bytes, then fail with ENOSPC."""
    real_write = os.write
    calls: list[int] = []

    def write(fd: int, data: Any) -> int:
        if fd != exporter._fd:
            return real_write(fd, data)
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:partial]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonl_module.os, "write", write)
    return calls


def test_disk_full_raises_and_leaves_no_half_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "records.jsonl"
    exporter = JSONLExporter(path)
    exporter.export([_record(0)])
    calls = _failing_write_after(monkeypatch, exporter, partial=17)
    with pytest.raises(OSError) as info:
        exporter.export([_record(1), _record(2)])
    assert info.value.errno == errno.ENOSPC
    assert len(calls) == 2  # partial write, then the failing retry of the rest
    assert [r["n"] for r in _lines(path)] == [0]
    monkeypatch.undo()
    exporter.export([_record(3)])
    exporter.shutdown()
    assert [r["n"] for r in _lines(path)] == [0, 3]


def test_permission_error_raises(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = tmp_path / "is-a-dir"  # root ignores permissions: use a path that cannot be a file
        target.mkdir()
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "records.jsonl"
    with pytest.raises(OSError):
        JSONLExporter(target).export([_record(0)])


@pytest.mark.internal_errors_expected
def test_pipeline_counts_failed_jsonl_batches_without_crashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.jsonl"
    jsonl = JSONLExporter(path)
    other = RecordingExporter("other")
    lm.instrument(providers=[], exporters=[jsonl, other], flush_interval=60)

    @lm.observe("step")
    def step(n: int) -> int:
        return n

    step(0)
    assert lm.flush(10)
    _failing_write_after(monkeypatch, jsonl, partial=5)
    step(1)
    step(2)
    assert not lm.flush(10)  # the batch was counted as failed: not everything was exported
    monkeypatch.undo()
    step(3)
    assert lm.flush(10)
    assert [r["input"]["n"] for r in _lines(path)] == [0, 3]
    counters = lm.stats()["exporters"]
    assert (counters["jsonl"]["exported"], counters["jsonl"]["failed"]) == (2, 2)
    assert "No space left" in counters["jsonl"]["last_error"]
    assert lm.stats()["internal_errors"] == {
        "exporter.jsonl:OSError": 1
    }  # one failed batch, through the guard
    assert (counters["other"]["exported"], counters["other"]["failed"]) == (4, 0)
