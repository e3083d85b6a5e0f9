"""The reader: file layout (rotation, gzip, directories, globs), time ranges, and bad input counted."""

from __future__ import annotations

import gzip
import json
import os
import random
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from analysis_support import START, call, line, other, write_rotated

from llm_monitor_sdk.analysis import reader
from llm_monitor_sdk.analysis.reader import ReadStats, TimeRange, expand_paths, follow, parse_duration
from llm_monitor_sdk.analysis.summary import summarize


def test_rotated_and_gzipped_siblings_are_read_oldest_first(tmp_path: Path) -> None:
    rng = random.Random(3)
    records = [call(START + timedelta(minutes=i), rng) for i in range(40)]
    base = write_rotated(tmp_path / "logs", records, parts=4, gzipped=1)
    (tmp_path / "logs" / "notes.txt").write_text("not records")
    names = [os.path.basename(p) for p in expand_paths(base)]
    assert names == ["records.jsonl.3.gz", "records.jsonl.2", "records.jsonl.1", "records.jsonl"]
    assert [os.path.basename(p) for p in expand_paths(tmp_path / "logs")] == names  # a directory
    assert [os.path.basename(p) for p in expand_paths(str(tmp_path / "lo*" / "*.jsonl"))] == names  # a glob
    read = list(reader.iter_records(base))
    assert [r["record_id"] for r in read] == [r["record_id"] for r in records]
    with pytest.raises(FileNotFoundError, match=r"missing\.jsonl"):
        expand_paths(tmp_path / "missing.jsonl")
    assert expand_paths(str(tmp_path / "nothing-*.jsonl")) == []


def test_the_base_file_may_be_gone_after_rotation(tmp_path: Path) -> None:
    rng = random.Random(4)
    path = tmp_path / "records.jsonl.1"
    path.write_text(line(call(START, rng)) + "\n")
    assert [os.path.basename(p) for p in expand_paths(tmp_path / "records.jsonl")] == ["records.jsonl.1"]


BAD_LINES = [
    "not json at all\n",
    "[1, 2, 3]\n",
    '"a string"\n',
    '{"kind": "future_kind", "started_at": "2026-11-20T08:00:00Z"}\n',
    '{"started_at": "2026-11-20T08:00:00Z"}\n',
    '{"kind": "llm_call", "started_at": "yesterday"}\n',
    "\n",
    "   \n",
]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_bad_lines_are_skipped_and_counted(tmp_path: Path, engine: str) -> None:
    rng = random.Random(5)
    good = [call(START + timedelta(seconds=i), rng, latency_ms=float(i + 1)) for i in range(30)]
    newer = call(START, rng, schema_version=2, new_field={"x": 1})
    no_status = call(START, rng)
    del no_status["status"]
    no_latency = call(START, rng, latency_ms="slow")
    extra = {
        1: BAD_LINES,
        0: [line(newer) + "\n", line(no_status) + "\n", line(no_latency) + "\n", '{"kind": "llm_call", "sta'],
    }
    base = write_rotated(tmp_path, good, parts=2, gzipped=0, extra_lines=extra)
    stats = ReadStats()
    s = summarize(base, engine=engine, stats=stats)
    assert stats.skipped == {
        "not_json": 1,
        "not_object": 2,
        "unknown_kind": 2,
        "no_time": 1,
        "torn_line": 1,
    }
    assert stats.notes == {"newer_schema": 1, "status_defaulted": 1, "latency_missing": 1}
    assert s["calls"] == 33 and s["by_status"] == {"ok": 33}  # defaulted records are still counted
    assert s["latency_ms"]["count"] == 32
    line_text = stats.summary_line()
    assert "skipped 7 line(s)" in line_text and "1 an unfinished last line" in line_text
    assert "1 of a newer schema version" in line_text
    assert s["source"]["skipped"]["torn_line"] == 1


def test_a_torn_line_inside_a_gzipped_file_counts_as_not_json(tmp_path: Path) -> None:
    rng = random.Random(6)
    with gzip.open(tmp_path / "records.jsonl.1.gz", "wt") as handle:
        handle.write(line(call(START, rng)) + '\n{"kind": "llm')
    for engine in ("python", "duckdb"):
        stats = ReadStats()
        s = summarize(tmp_path / "records.jsonl", engine=engine, stats=stats)
        assert s["calls"] == 1 and stats.skipped == {"not_json": 1}, engine


def test_records_of_every_kind_are_read() -> None:
    rng = random.Random(7)
    kinds = ["llm_call", "span", "feedback", "evaluation", "alert", "guardrail", "event"]
    rows = [reader.normalize(0, other(kind, START, rng)) for kind in kinds]
    assert [r["kind"] for r in rows] == kinds


def test_durations_times_and_ranges() -> None:
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300 and parse_duration("24h") == 86400
    assert parse_duration("1.5d") == 129600 and parse_duration("2w") == 1209600
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
    window = TimeRange.parse("2026-11-20..2026-11-21T06:00:00+02:00")
    assert reader.format_us(window.start_us) == "2026-11-20T00:00:00.000000Z"
    assert reader.format_us(window.end_us) == "2026-11-21T04:00:00.000000Z"
    assert TimeRange.parse("2026-11-20..").end_us is None
    with pytest.raises(ValueError, match=r"FROM\.\.TO"):
        TimeRange.parse("2026-11-20")
    with pytest.raises(ValueError, match="empty time range"):
        TimeRange.parse("2026-11-21..2026-11-20")
    with pytest.raises(ValueError, match="not an ISO date"):
        TimeRange.build(start="last tuesday")
    since = TimeRange.build("1h", now=7200.0)
    assert since.start_us == 3600 * 1_000_000 and since.end_us is None


def _append(path: Path, records: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line(r) + "\n" for r in records))


def test_follow_keeps_following_across_rotation(tmp_path: Path) -> None:
    rng = random.Random(8)
    path = tmp_path / "records.jsonl"
    _append(path, [call(START, rng, feature="old")])
    seen: list[str] = []
    done = threading.Event()

    def run() -> None:
        for record in follow(str(path), poll=0.02, stop=done.is_set):
            seen.append(record["feature"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.2)
    _append(path, [call(START, rng, feature="a1"), call(START, rng, feature="a2")])
    half = line(call(START, rng, feature="a3"))
    with open(path, "a", encoding="utf-8") as handle:  # half a line now, the rest later
        handle.write(half[:40])
    time.sleep(0.2)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(half[40:] + "\n")
    # Rotation as the JSONL exporter does it: the file is renamed, a new one is created.
    _append(path, [call(START, rng, feature="a4")])
    os.replace(path, f"{path}.1")
    _append(path, [call(START, rng, feature="b1")])
    deadline = time.monotonic() + 10
    while len(seen) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Truncation in place (copytruncate): read again from the start.
    path.write_text("")
    time.sleep(0.3)
    _append(path, [call(START, rng, feature="c1")])
    while len(seen) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    thread.join(5)
    assert seen == ["a1", "a2", "a3", "a4", "b1", "c1"]


def test_last_records_reaches_into_rotated_files(tmp_path: Path) -> None:
    rng = random.Random(9)
    records = [call(START + timedelta(seconds=i), rng, feature=f"f{i}") for i in range(10)]
    base = write_rotated(tmp_path, records, parts=3, gzipped=1)
    last = reader.last_records(base, 6)
    assert [r["feature"] for r in last] == [f"f{i}" for i in range(4, 10)]
    errors_only = reader.last_records(base, 3, accept=lambda r: r["feature"] in ("f1", "f2"))
    assert [r["feature"] for r in errors_only] == ["f1", "f2"]


def test_sampling_is_deterministic_and_the_same_for_both_engines(tmp_path: Path) -> None:
    rng = random.Random(10)
    records = [call(START + timedelta(minutes=i), rng) for i in range(300)]
    records[5]["status"] = "error"
    base = write_rotated(tmp_path, records, parts=3, gzipped=1)
    files = expand_paths(base)
    sides = {
        "a": TimeRange.parse("2026-11-20T08:00:00..2026-11-20T10:00:00"),
        "b": TimeRange.parse("2026-11-20T09:00:00.."),
    }
    python = reader.sample_calls(files, sides, 25, engine="python")
    duck = reader.sample_calls(files, sides, 25, engine="duckdb")
    for name in sides:
        ids = [r["record_id"] for r in python[name]]
        assert ids == [r["record_id"] for r in duck[name]]
        assert len(ids) == 25
        population = [
            r for r in records if r["status"] == "ok" and sides[name].contains(reader.record_time_us(r))
        ]
        expected = sorted(population, key=lambda r: int(r["record_id"][:15], 16))[:25]
        assert ids == [r["record_id"] for r in expected]
    json.dumps(python)  # plain records
