"""Issue 13.7: the JSONL repair trims a torn last line of any length, so the next record never gets
glued to it (a 10 KB tail was trimmed, a 100 KB one was not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_monitor_sdk.exporters import JSONLExporter


def _record(n: int, pad: int = 0) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "llm_call", "n": n, "pad": "p" * pad}


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _torn(length: int) -> bytes:
    """The first ``length`` bytes of a record's line: what a crash mid-write leaves."""
    return _line(_record(99, pad=length))[:length]


def _ns(path: Path) -> list[int]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line)["n"] for line in raw.splitlines()]


@pytest.mark.parametrize("length", [10_000, 65_535, 65_536, 65_537, 100_000, 5 * 2**20])
def test_torn_last_line_of_any_length_is_trimmed(tmp_path: Path, length: int) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(_line(_record(0)) + _line(_record(1)) + _torn(length))
    exporter = JSONLExporter(path)
    exporter.export([_record(2)])
    exporter.shutdown()
    assert _ns(path) == [0, 1, 2]


@pytest.mark.parametrize("length", [100_000, 5 * 2**20])
def test_torn_line_that_is_the_whole_file_is_removed(tmp_path: Path, length: int) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(_torn(length))
    exporter = JSONLExporter(path)
    exporter.export([_record(2)])
    exporter.shutdown()
    assert _ns(path) == [2]


def test_huge_last_whole_record_then_a_huge_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(_line(_record(0)) + _line(_record(1, pad=3 * 2**20)) + _torn(2 * 2**20))
    exporter = JSONLExporter(path)
    exporter.export([_record(2)])
    exporter.shutdown()
    assert _ns(path) == [0, 1, 2]


def test_file_ending_with_a_newline_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    content = _line(_record(0)) + _line(_record(1, pad=200_000))
    path.write_bytes(content)
    exporter = JSONLExporter(path)
    exporter.export([_record(2)])
    exporter.shutdown()
    assert path.read_bytes() == content + _line(_record(2))
