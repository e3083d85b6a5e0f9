"""``llm-monitor report`` (globs, several paths, rotated and gzipped files, --since, --by, --html, --slo)
and ``llm-monitor tail`` (timestamps, filters, -f across rotation)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "analysis"))

from analysis_support import START, call, line, mixed_records, write_rotated

from llm_monitor_sdk.cli import main


def test_report_reads_rotated_gzipped_files_globs_and_several_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = mixed_records(200, seed=1)
    second = mixed_records(100, seed=2)
    write_rotated(tmp_path / "a", first, parts=3, gzipped=1)
    write_rotated(tmp_path / "b", second, parts=2, gzipped=0)
    calls = sum(r["kind"] == "llm_call" for r in first + second)
    assert main(["report", str(tmp_path / "a" / "records.jsonl"), str(tmp_path / "b"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["calls"] == calls and len(summary["source"]["files"]) == 5
    assert main(["report", str(tmp_path / "*" / "records.jsonl"), "--json", "--engine", "duckdb"]) == 0
    assert json.loads(capsys.readouterr().out)["calls"] == calls
    assert main(["report", str(tmp_path / "a"), "--by", "feature"]) == 0
    out = capsys.readouterr().out
    assert "by feature" in out and "summarize" in out
    assert main(["report", str(tmp_path / "a"), "--by", "colour"]) == 2
    assert "--by must be one of" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing-*.jsonl")]) == 1


def test_report_since_slo_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import llm_monitor_sdk._clock as clock

    records = mixed_records(300, seed=3, hours=10)
    base = write_rotated(tmp_path, records, parts=2, gzipped=1)
    end = START + timedelta(hours=10)
    monkeypatch.setattr(clock, "now", lambda: end.timestamp())
    assert main(["report", str(base), "--since", "2h", "--json", "--slo", "error_rate<0.3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    cutoff = (end - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    assert summary["calls"] == sum(r["kind"] == "llm_call" and r["started_at"] >= cutoff for r in records)
    assert summary["slo"][0]["target"] == "error_rate<0.3"
    page = tmp_path / "out" / "report.html"
    assert main(["report", str(base), "--html", str(page)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {page}" in err and page.stat().st_size > 1_000_000
    assert main(["report", str(base), "--since", "soon"]) == 2


def test_tail_shows_timestamps_and_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = mixed_records(120, seed=4)
    base = write_rotated(tmp_path, records, parts=3, gzipped=1)
    assert main(["tail", str(base), "-n", "5", "--status", "error"]) == 0
    lines = capsys.readouterr().out.splitlines()
    errors = [r for r in records if r["kind"] == "llm_call" and r["status"] == "error"][-5:]
    assert len(lines) == 5 and all(" error " in line for line in lines)
    assert [line.split()[0] for line in lines] == [r["started_at"] for r in errors]
    assert main(["tail", str(base), "-n", "3", "--kind", "feedback", "--no-time"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("feedback user_rating") for line in lines)
    assert main(["tail", str(base), "-n", "4", "--model", "gpt-4.1", "--feature", "chat"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all("gpt-4.1" in line and "feature=chat" in line for line in lines)


def test_tail_follow_keeps_following_across_a_rotation(tmp_path: Path) -> None:
    rng = random.Random(5)
    path = tmp_path / "records.jsonl"
    path.write_text(line(call(START, rng, feature="before")) + "\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llm_monitor_sdk.cli",
            "tail",
            str(path),
            "-f",
            "-n",
            "1",
            "--poll",
            "0.05",
            "--status",
            "ok",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "feature=before" in process.stdout.readline()  # type: ignore[union-attr]

        def append(feature: str, status: str = "ok") -> None:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line(call(START, rng, feature=feature, status=status)) + "\n")

        append("one")
        append("skipped", status="error")
        append("two")
        time.sleep(0.3)
        append("three")
        os.replace(path, f"{path}.1")  # rotation
        append("four")
        seen = []
        deadline = time.monotonic() + 20
        while len(seen) < 4 and time.monotonic() < deadline:
            text = process.stdout.readline()  # type: ignore[union-attr]
            if text:
                seen.append(text.split("feature=")[1].split()[0])
        assert seen == ["one", "two", "three", "four"]
    finally:
        process.terminate()
        process.wait(10)
