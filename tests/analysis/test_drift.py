"""Drift: detected on a constructed shift of length and of vocabulary, not on two samples of one
distribution; the same through files (both engines) and per feature."""

from __future__ import annotations

import random
import string
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from analysis_support import START, call, write_rotated

import llm_monitor_sdk.analysis as analysis
from llm_monitor_sdk.analysis.drift import drift, drift_files, js_distance, psi

VOCABULARY = ["".join(random.Random(i).choices(string.ascii_lowercase, k=3 + i % 7)) for i in range(5000)]
WEIGHTS = [1 / (i + 1) for i in range(len(VOCABULARY))]


def _calls(
    n: int,
    seed: int,
    *,
    words: tuple[int, int] = (8, 30),
    vocabulary: list[str] = VOCABULARY,
    weights: list[float] = WEIGHTS,
    feature: str = "chat",
    start_minutes: int = 0,
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.choices(vocabulary, weights, k=rng.randint(*words)))
        reply = " ".join(rng.choices(VOCABULARY[:300], k=rng.randint(5, 25)))
        out.append(
            call(
                START + timedelta(minutes=start_minutes + i),
                rng,
                feature=feature,
                latency_ms=round(rng.lognormvariate(6.5, 0.4), 3),
                usage={"input_tokens": len(text) // 4 + 12, "output_tokens": len(reply) // 4},
                input_messages=[{"role": "user", "parts": [{"type": "text", "content": text}]}],
                output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": reply}]}],
            )
        )
    return out


def test_two_samples_of_one_distribution_do_not_drift() -> None:
    result = drift(_calls(1000, 1), _calls(1000, 2))
    assert result["drifted"] is False
    assert all(d["psi"] < 0.2 for d in result["descriptors"].values())
    assert result["vocabulary"]["js_distance"] < 0.1
    assert result["emerging_terms"] == []
    assert set(result) >= {"descriptors", "vocabulary", "emerging_terms", "drifted"}
    assert set(result["descriptors"]) == {
        "input_tokens",
        "output_tokens",
        "input_chars",
        "output_chars",
        "latency_ms",
    }
    assert "warning" not in result


def test_longer_prompts_drift_in_length_only() -> None:
    result = drift(_calls(800, 3), _calls(800, 4, words=(40, 90)))
    assert result["drifted"] is True
    assert result["descriptors"]["input_chars"]["psi"] > 0.2
    assert result["descriptors"]["input_tokens"]["psi"] > 0.2
    assert result["descriptors"]["output_chars"]["psi"] < 0.2
    assert (
        result["descriptors"]["input_chars"]["current_mean"]
        > 2 * result["descriptors"]["input_chars"]["baseline_mean"]
    )


def test_new_vocabulary_drifts_and_shows_as_emerging_terms() -> None:
    new_words = ["refund", "chargeback", "lawsuit", "cancellation"]
    shifted = VOCABULARY + new_words
    result = drift(_calls(800, 5), _calls(800, 6, vocabulary=shifted, weights=WEIGHTS + [0.4] * 4))
    assert result["drifted"] is True
    assert result["vocabulary"]["js_distance"] > 0.1
    assert set(result["emerging_terms"][:4]) == set(new_words)


def test_psi_and_js_distance_by_hand() -> None:
    assert psi([1.0] * 10, [1.0] * 10) == 0.0
    baseline = [float(i) for i in range(100)]
    # Everything moves above the baseline's maximum: one bin holds it all.
    shifted = psi(baseline, [1000.0] * 100)
    assert shifted == pytest.approx(
        (1 - 0.1) * __import__("math").log(1 / 0.1) + 9 * (1e-4 - 0.1) * __import__("math").log(1e-4 / 0.1),
        rel=1e-4,
    )
    from collections import Counter

    same = Counter({w: 30 for w in ("alpha", "beta", "gamma")})
    assert js_distance(same, same) == 0.0
    assert js_distance(Counter({"alpha": 40}), Counter({"beta": 40})) == 1.0  # disjoint: the maximum
    assert js_distance(Counter(), same) is None


def test_small_samples_carry_a_warning() -> None:
    result = drift(_calls(20, 7), _calls(20, 8))
    assert "warning" in result and result["baseline_records"] == 20


def test_drift_between_time_ranges_of_files(tmp_path: Path) -> None:
    before = _calls(400, 9) + _calls(300, 10, feature="search")
    after = _calls(400, 11, words=(40, 90), start_minutes=3000) + _calls(
        300, 12, feature="search", start_minutes=3000
    )
    base = write_rotated(tmp_path, sorted(before + after, key=lambda r: r["started_at"]), parts=3, gzipped=1)
    results = [
        drift_files(
            base, "2026-11-20..2026-11-21T18:00:00", "2026-11-21T18:00:00..", by="feature", engine=engine
        )
        for engine in ("python", "duckdb")
    ]
    assert results[0] == results[1]
    result = results[0]
    assert result["baseline_records"] == 700 and result["current_records"] == 700
    assert result["drifted"] is True
    assert result["groups"]["chat"]["drifted"] is True
    assert result["groups"]["search"]["drifted"] is False
    assert analysis.drift is drift  # lm.analysis.drift


def test_drift_command_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from llm_monitor_sdk.cli import main

    base = write_rotated(
        tmp_path, _calls(200, 13) + _calls(200, 14, words=(50, 80), start_minutes=1000), parts=2
    )
    assert (
        main(
            [
                "drift",
                str(base),
                "--baseline",
                "2026-11-20..2026-11-20T12:00:00",
                "--current",
                "2026-11-20T20:00:00..",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["drifted"] is True and result["descriptors"]["input_chars"]["psi"] > 0.2
    assert (
        main(
            [
                "drift",
                str(base),
                "--baseline",
                "2026-11-20..2026-11-20T12:00:00",
                "--current",
                "2026-11-20T20:00:00..",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "input_chars" in out and out.strip().endswith("drifted")
    assert main(["drift", str(base), "--baseline", "yesterday", "--current", "2026-11-20.."]) == 2


def test_the_report_drift_panel_is_the_same_for_both_engines(tmp_path: Path) -> None:
    from llm_monitor_sdk.analysis import reader
    from llm_monitor_sdk.analysis.summary import summarize

    records = _calls(600, 15) + _calls(600, 16, words=(40, 90), start_minutes=1200)
    base = write_rotated(tmp_path, records, parts=3, gzipped=1)
    python = summarize(base, engine="python", drift=True, drift_sample=150)["drift"]
    duck = summarize(base, engine="duckdb", drift=True, drift_sample=150)["drift"]
    assert python == duck
    assert python["drifted"] is True and python["baseline_records"] == python["current_records"] == 150
    # The DuckDB engine samples from the keys it kept while loading, or reads the files again when
    # too few were kept: the same records either way.
    files = reader.expand_paths(base)
    sides = {
        "baseline": reader.TimeRange.parse("2026-11-20..2026-11-20T12:00:00"),
        "current": reader.TimeRange.parse("2026-11-21.."),
    }
    expected = reader.sample_calls(files, sides, 100)
    for keep in (reader.SAMPLE_KEY_SPACE // 2000, reader.keep_below_for(files, 100)):
        connection = reader.load_duckdb(files, keep_below=keep)
        assert reader.sample_from_duckdb(connection, files, sides, 100, keep) == expected
        connection.close()
    # A report over one time bucket has nothing to compare.
    rng = random.Random(17)
    same_second = [call(START, rng) for _ in range(5)]
    one = write_rotated(tmp_path / "one", same_second, parts=1, gzipped=0)
    for engine in ("python", "duckdb"):
        assert "too short a range" in summarize(one, engine=engine, drift=True)["drift"]["skipped"]
