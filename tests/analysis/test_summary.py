"""The report's numbers equal numbers computed independently from the same records, for both engines,
across rotated and gzipped files."""

from __future__ import annotations

import math
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from analysis_support import mixed_records, nearest_rank, write_rotated

from llm_monitor_sdk.analysis import summary as summary_module
from llm_monitor_sdk.analysis.reader import ReadStats
from llm_monitor_sdk.analysis.summary import choose_bucket_seconds, parse_targets, summarize

ENGINES = ["python", "duckdb"]


def _category(error: dict[str, Any]) -> str:
    if error.get("category"):
        return error["category"]
    return {429: "rate_limit", 500: "server"}.get(error.get("status_code"), "timeout")


def _close(actual: float | None, expected: float) -> bool:
    return actual is not None and abs(actual - expected) <= 0.0101 * expected + 1e-9


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    records = mixed_records(800, seed=5)
    base = write_rotated(tmp_path_factory.mktemp("rotated"), records, parts=4, gzipped=2)
    return base, records


@pytest.mark.parametrize("engine", ENGINES)
def test_numbers_equal_independent_computation(
    dataset: tuple[Path, list[dict[str, Any]]], engine: str
) -> None:
    base, records = dataset
    s = summarize(base, engine=engine)
    calls = [r for r in records if r["kind"] == "llm_call"]
    errors = [c for c in calls if c["status"] == "error"]
    blocked = [c for c in calls if c["status"] == "blocked"]
    assert s["source"]["engine"] == engine
    assert len(s["source"]["files"]) == 4 and sum(f.endswith(".gz") for f in s["source"]["files"]) == 2
    assert s["records_by_kind"] == dict(sorted(Counter(r["kind"] for r in records).items()))
    assert s["calls"] == len(calls)
    assert s["errors"] == len(errors) and s["blocked"] == len(blocked)
    assert s["errors_by_category"] == dict(Counter(_category(c["error"]) for c in errors))
    assert s["error_rate"] == pytest.approx(len(errors) / (len(calls) - len(blocked)), abs=1e-6)
    assert s["content_filtered"] == sum(c["safety"]["content_filtered"] for c in calls)
    latencies = [c["latency_ms"] for c in calls if c["status"] != "blocked"]
    for q in (50, 90, 99):
        assert _close(s["latency_ms"][f"p{q}"], nearest_rank(latencies, q)), q
    assert s["latency_ms"]["count"] == len(latencies)
    assert s["latency_ms"]["max"] == pytest.approx(max(latencies))
    ttfts = [c["ttft_ms"] for c in calls if c["ttft_ms"] is not None]
    assert _close(s["ttft_ms"]["p90"], nearest_rank(ttfts, 90))
    priced = [c["cost_usd"] for c in calls if c["cost_usd"] is not None]
    assert s["cost_usd"] == pytest.approx(sum(priced), rel=1e-9)
    assert s["calls_with_cost"] == len(priced)
    assert s["cost_per_call_usd"] == pytest.approx(sum(priced) / len(priced), rel=1e-8)
    usage = [c["usage"] for c in calls if c["usage"]]
    assert s["tokens"]["input_tokens"] == sum(u["input_tokens"] for u in usage)
    assert s["tokens"]["cache_read_input_tokens"] == sum(u["cache_read_input_tokens"] for u in usage)
    assert s["tokens"]["reasoning_output_tokens"] == sum(u["reasoning_output_tokens"] for u in usage)
    traces = {c["trace_id"] for c in calls}
    assert s["traces"] == len(traces)
    assert s["cost_per_trace_usd"] == pytest.approx(sum(priced) / len(traces), rel=1e-8)
    sessions = {c["session_id"] for c in calls}
    assert s["sessions"] == len(sessions)
    assert s["cost_per_session_usd"] == pytest.approx(sum(priced) / len(sessions), rel=1e-8)
    # Group counts and per-group numbers.
    by_model = {row["key"]: row for row in s["by"]["model"]}
    for model in {c["response_model"] or c["request_model"] for c in calls}:
        mine = [c for c in calls if (c["response_model"] or c["request_model"]) == model]
        assert by_model[model]["calls"] == len(mine)
        assert by_model[model]["errors"] == sum(c["status"] == "error" for c in mine)
        lat = [c["latency_ms"] for c in mine if c["status"] != "blocked"]
        assert _close(by_model[model]["latency_ms"]["p50"], nearest_rank(lat, 50))
        assert by_model[model]["cost_usd"] == pytest.approx(sum(c["cost_usd"] or 0 for c in mine), rel=1e-9)
    by_feature = {row["key"]: row["calls"] for row in s["by"]["feature"]}
    assert by_feature == dict(Counter(c["feature"] for c in calls))
    top_users = s["by"]["user"]
    user_cost = Counter()
    for c in calls:
        user_cost[c["user_id"]] += c["cost_usd"] or 0
    assert top_users[0]["key"] == max(user_cost, key=lambda u: (user_cost[u], u))
    assert top_users[0]["cost_usd"] == pytest.approx(user_cost[top_users[0]["key"]], rel=1e-9)
    # Slowest and failing calls.
    slowest = sorted((c for c in calls if c["status"] != "blocked"), key=lambda c: -c["latency_ms"])
    assert [c["record_id"] for c in s["slowest"][:5]] == [c["record_id"] for c in slowest[:5]]
    newest_error = max(errors, key=lambda c: c["started_at"])
    assert s["failing"][0]["record_id"] == newest_error["record_id"]
    # Evaluations, feedback, guardrails, alerts, prompt changes.
    evaluations = [r for r in records if r["kind"] == "evaluation"]
    grounding = [r["evaluation"]["score"] for r in evaluations if r["evaluation"]["name"] == "grounding"]
    assert s["evaluations"]["grounding"]["count"] == len(grounding)
    assert s["evaluations"]["grounding"]["mean"] == pytest.approx(sum(grounding) / len(grounding), abs=1e-6)
    feedback = [r["evaluation"]["score"] for r in records if r["kind"] == "feedback"]
    assert s["feedback"]["user_rating"]["pass_rate"] == pytest.approx(
        sum(f >= 0.5 for f in feedback) / len(feedback), abs=1e-6
    )
    guards = [r["guardrail"] for r in records if r["kind"] == "guardrail"]
    assert s["guardrails"]["pii"]["count"] == len(guards)
    assert s["guardrails"]["pii"]["blocked"] == sum(g["blocked"] for g in guards)
    alerts = [r for r in records if r["kind"] == "alert"]
    assert s["alerts"]["records"] == len(alerts)
    assert s["alerts"]["by_state"] == dict(sorted(Counter(a["alert"]["state"] for a in alerts).items()))
    assert len(s["prompts"]["changes"]) == sum(r["kind"] == "event" for r in records)
    fps = {row["key"]: row["calls"] for row in s["prompts"]["fingerprints"]}
    assert fps == dict(Counter(c["prompt_fingerprint"] for c in calls))
    # The time series adds up to the totals.
    buckets = s["timeseries"]["buckets"]
    assert sum(b["calls"] for b in buckets) == len(calls)
    assert sum(b["errors"] for b in buckets) == len(errors)
    assert sum(b["cost_usd"] for b in buckets) == pytest.approx(sum(priced), rel=1e-9)
    assert len(buckets) <= summary_module.MAX_BUCKETS
    assert s["spans"] == sum(r["kind"] == "span" for r in records)


def _approx_equal(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for key in a:
            _approx_equal(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _approx_equal(x, y, f"{path}[{index}]")
    elif isinstance(a, float) and isinstance(b, float):
        # Sums may differ in the last digit (summation order); everything else is identical.
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1.5e-3), path
    else:
        assert a == b, path


def test_both_engines_give_the_same_summary(dataset: tuple[Path, list[dict[str, Any]]]) -> None:
    base, _ = dataset
    python = summarize(base, engine="python", targets=["latency_p90_ms<=1500", "error_rate<0.2"])
    duck = summarize(base, engine="duckdb", targets=["latency_p90_ms<=1500", "error_rate<0.2"])
    python["source"].pop("engine")
    duck["source"].pop("engine")
    _approx_equal(python, duck)
    # Percentiles are identical (the same histogram bucket in both), not merely close.
    assert python["latency_ms"] == duck["latency_ms"]
    assert [b["latency_ms"]["p99"] for b in python["timeseries"]["buckets"]] == [
        b["latency_ms"]["p99"] for b in duck["timeseries"]["buckets"]
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_time_filters(
    dataset: tuple[Path, list[dict[str, Any]]], engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, records = dataset
    calls = [r for r in records if r["kind"] == "llm_call"]
    start, end = "2026-11-20T12:00:00Z", "2026-11-21T00:00:00"
    s = summarize(base, start=start, end=end, engine=engine)
    inside = [c for c in calls if "2026-11-20T12:00:00" <= c["started_at"] < "2026-11-21T00:00:00"]
    assert s["calls"] == len(inside) and s["range"]["from"] >= start.rstrip("Z")
    assert s["source"]["outside_time_range"] == len(records) - sum(
        "2026-11-20T12:00:00" <= r["started_at"] < "2026-11-21T00:00:00" for r in records
    )
    # --since is relative to the monitoring clock.
    from datetime import datetime

    import llm_monitor_sdk._clock as clock

    now = datetime.fromisoformat("2026-11-21T14:00:00+00:00").timestamp()
    monkeypatch.setattr(clock, "now", lambda: now)
    recent = summarize(base, since="2h", engine=engine)
    assert recent["calls"] == sum(c["started_at"] >= "2026-11-21T12:00:00" for c in calls)


def test_bucket_size_is_auto_sized_and_the_same_for_both_engines() -> None:
    hour = 3600 * 1_000_000
    assert choose_bucket_seconds(0, 10 * 1_000_000) == 1
    assert choose_bucket_seconds(0, 24 * hour) == 600
    assert choose_bucket_seconds(0, 7 * 24 * hour) == 3600
    assert choose_bucket_seconds(0, 400 * 24 * hour) == 604800
    assert choose_bucket_seconds(0, 2000 * 24 * hour) == 2419200
    assert choose_bucket_seconds(0, 20000 * 24 * hour) == 2419200 * 4
    # The Python engine grows its buckets as it reads; it ends on the size DuckDB picks up front.
    acc = summary_module.Accumulator()
    from llm_monitor_sdk.analysis.reader import normalize

    for tus in (5 * hour, 0, 3 * 24 * hour, 7 * 24 * hour - 1):
        acc.add(normalize(tus, {"kind": "span"}))
    assert acc.bucket_seconds == choose_bucket_seconds(0, 7 * 24 * hour - 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_slo_targets_from_the_command_line_and_from_alert_rules(
    dataset: tuple[Path, list[dict[str, Any]]], engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, records = dataset
    calls = [r for r in records if r["kind"] == "llm_call" and r["status"] != "blocked"]
    s = summarize(base, engine=engine, targets=["latency_p99_ms<=2000;error_rate<0.5"], alert_targets=False)
    latency, errors = s["slo"]
    assert latency["met"] is (s["latency_ms"]["p99"] <= 2000)
    assert latency["calls_meeting"] == pytest.approx(
        sum(c["latency_ms"] <= 2000 for c in calls) / len(calls), abs=1e-6
    )
    assert errors["met"] is True and errors["buckets_judged"] == sum(
        b["calls"] >= 1 for b in s["timeseries"]["buckets"]
    )
    judged = [b for b in s["timeseries"]["buckets"] if b["calls"]]
    assert errors["compliance"] == pytest.approx(
        sum(b["error_rate"] < 0.5 for b in judged) / len(judged), abs=1e-6
    )
    # With the alert rule parser installed, LLM_MONITOR_ALERTS rules become targets (negated).
    fake = types.ModuleType("llm_monitor_sdk.monitoring.rules")
    fake.parse_rules = lambda text: [  # type: ignore[attr-defined]
        types.SimpleNamespace(metric="error_rate", op=">", threshold=0.02, min_calls=5, text=text)
    ]
    monkeypatch.setitem(sys.modules, "llm_monitor_sdk.monitoring.rules", fake)
    monkeypatch.setenv("LLM_MONITOR_ALERTS", "error_rate>0.02 over 5m min_calls=5")
    s = summarize(base, engine=engine)
    (target,) = s["slo"]
    assert target["target"] == "error_rate<=0.02" and target["source"].startswith("LLM_MONITOR_ALERTS")
    assert target["met"] is (s["error_rate"] <= 0.02)
    assert target["buckets_judged"] == sum(b["calls"] >= 5 for b in s["timeseries"]["buckets"])


def test_bad_slo_targets_are_rejected() -> None:
    with pytest.raises(ValueError, match="latency_p100_ms"):
        parse_targets(["latency_p100_ms<5"])
    with pytest.raises(ValueError, match="expected METRIC OP NUMBER"):
        parse_targets(["error_rate is low"])


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_input_gives_an_empty_summary(tmp_path: Path, engine: str) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("")
    s = summarize(path, engine=engine)
    assert s["calls"] == 0 and s["latency_ms"]["p50"] is None and s["timeseries"]["buckets"] == []
    assert s["source"]["records"] == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_stats_object_is_filled(dataset: tuple[Path, list[dict[str, Any]]], engine: str) -> None:
    base, records = dataset
    stats = ReadStats()
    summarize(base, engine=engine, stats=stats)
    assert stats.records == len(records) and stats.skipped_total == 0 and not stats.noteworthy
