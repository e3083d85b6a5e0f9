"""Sliding windows and the engine in isolation: exact judging, percentiles within 1 %, expiry, the group
cap, baselines. Records are built directly and time is passed in, so these run in microseconds."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from llm_monitor_sdk.monitoring.alerts import AlertEngine
from llm_monitor_sdk.monitoring.classify import content_filtered, error_category
from llm_monitor_sdk.monitoring.rules import parse_rules
from llm_monitor_sdk.monitoring.windows import BUCKETS, Baseline

T0 = 1_800_000_000.0


def rec(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"kind": "llm_call", "status": "ok", "provider": "openai", "latency_ms": 10.0}
    base.update(fields)
    return base


def engine(rules: str) -> AlertEngine:
    return AlertEngine(parse_rules(rules))


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]


@pytest.mark.parametrize("q", [50, 90, 99])
def test_percentile_value_within_one_percent_and_judged_exactly(q: int) -> None:
    rng = random.Random(q)
    values = [rng.lognormvariate(6, 1) for _ in range(2000)]
    exact = exact_percentile(values, q)
    # Thresholds just below and just above the exact percentile: judging is exact on both sides.
    below = engine(f"latency_p{q}_ms>{exact * 0.999} over 1h min_calls=1 cooldown=0s name=below")
    above = engine(f"latency_p{q}_ms>{exact * 1.001} over 1h min_calls=1 cooldown=0s name=above")
    for i, value in enumerate(values):
        below.process(rec(latency_ms=value), T0 + i * 0.5)
        above.process(rec(latency_ms=value), T0 + i * 0.5)
    assert is_firing(below) and not is_firing(above)
    windows = below.window_sets[0]
    (group,) = windows.groups.values()
    measure = windows.measures[0]
    value = measure.value(windows, group)
    assert value is not None and abs(value - exact) / exact < 0.01


def is_firing(eng: AlertEngine) -> bool:
    windows = eng.window_sets[0]
    return any(
        group.states is not None and any(s is not None and s.phase == 2 for s in group.states)
        for group in windows.groups.values()
    )


def test_rates_are_shares_of_calls_in_the_window_and_old_buckets_expire() -> None:
    eng = engine("error_rate>0.3 over 30s min_calls=4")
    for i in range(4):
        assert eng.process(rec(status="error" if i == 0 else "ok"), T0 + i) is None  # 1/4
    fired = eng.process(rec(status="error"), T0 + 5)  # 2/5 = 0.4
    assert fired and fired[0]["value"] == 0.4 and fired[0]["calls"] == 5
    windows = eng.window_sets[0]
    (group,) = windows.groups.values()
    assert len(group.buckets) <= BUCKETS
    # At T0+34 the window holds the buckets from T0+5 on: the calls of T0..T0+3 left it.
    resolved = eng.process(rec(), T0 + 34)
    assert resolved and resolved[0]["state"] == "resolved"
    assert windows.total(group, 1) == 2  # the calls at T0+5 (bucket 29 back: still inside) and T0+34


def test_buckets_slide_at_one_thirtieth_of_the_window() -> None:
    eng = engine("calls>=3 over 30s")
    eng.process(rec(), T0)
    eng.process(rec(), T0 + 10)
    assert eng.process(rec(), T0 + 29.5)  # all three inside 30 s
    eng2 = engine("calls>=3 over 30s")
    eng2.process(rec(), T0)
    eng2.process(rec(), T0 + 10)
    assert eng2.process(rec(), T0 + 31.5) is None  # the first one slid out


def test_group_cap_evicts_the_least_recent_quiet_group_and_counts_it() -> None:
    eng = engine("error_rate>0.5 over 1m by=user min_calls=2 max_groups=3")
    for user in ("a", "b", "c"):
        eng.process(rec(user_id=user), T0)
    eng.process(rec(user_id="a"), T0 + 5)  # a is recent again
    eng.process(rec(user_id="d"), T0 + 6)  # evicts b, the least recently active
    windows = eng.window_sets[0]
    assert set(windows.groups) == {"c", "a", "d"}
    assert eng.stats()["groups_evicted"] == 1


def test_groups_with_a_firing_alert_are_never_evicted() -> None:
    eng = engine("error_rate>0.5 over 1m by=user min_calls=1 max_groups=2")
    assert eng.process(rec(user_id="a", status="error"), T0)
    assert eng.process(rec(user_id="b", status="error"), T0)
    assert eng.process(rec(user_id="c", status="error"), T0 + 1) is None  # nowhere to put it
    assert eng.stats()["groups_dropped"] == 1
    assert set(eng.window_sets[0].groups) == {"a", "b"}


def test_tick_forgets_quiet_groups_and_memory_stays_bounded() -> None:
    eng = engine("error_rate>0.5 over 10s by=user min_calls=2")
    for i in range(5000):
        eng.process(rec(user_id=f"u{i % 500}"), T0 + i * 0.01)
    windows = eng.window_sets[0]
    assert len(windows.groups) == 500
    assert all(len(g.buckets) <= BUCKETS for g in windows.groups.values())
    eng.tick(T0 + 100)
    assert windows.groups == {}


def test_rules_sharing_population_window_and_group_share_one_window_set() -> None:
    eng = engine(
        "error_rate>0.5 over 5m by=provider; latency_p99_ms>100 over 5m by=provider; calls>1 over 5m;"
        " eval.grounding<0.5 over 5m"
    )
    sets = eng.window_sets
    assert len(sets) == 3
    assert sorted(len(s.measures) for s in sets) == [1, 1, 2]


def test_baseline_median_and_robust_scale() -> None:
    baseline = Baseline(10)
    for value in (10, 11, 9, 10, 12, 8, 10, 100):  # one outlier barely moves a robust baseline
        baseline.push(value)
    assert baseline.median == 10
    assert baseline.scale == pytest.approx(1.4826 * 1.0)
    assert baseline.zscore(10) == 0
    flat = Baseline(5)
    for _ in range(5):
        flat.push(4.0)
    assert flat.scale == pytest.approx(0.04)  # 1 % of the median when every window is equal
    assert flat.zscore(4.0) == 0 and flat.zscore(5.0) == pytest.approx(25)


def test_percentile_zscore_uses_the_histogram_and_fires_on_a_latency_spike() -> None:
    eng = engine("latency_p90_ms.zscore>5 over 1s baseline=10s min_calls=5")
    rng = random.Random(1)
    fired: list[dict[str, Any]] = []
    now = T0
    for _ in range(20):
        now += 1.0
        for j in range(10):
            fired += eng.process(rec(latency_ms=rng.uniform(90, 110)), now + j * 0.01) or []
    assert fired == []
    now += 1.0
    for j in range(10):
        fired += eng.process(rec(latency_ms=1000.0), now + j * 0.01) or []
    fired += eng.tick(now + 0.9)
    assert [a["state"] for a in fired] == ["firing"]
    assert fired[0]["value"] > 5


def test_consecutive_errors_by_category() -> None:
    assert error_category({"status": "error", "error": {"type": "openai.APIConnectionError"}}) == "connection"
    assert error_category({"status": "error", "error": {"type": "openai.APITimeoutError"}}) == "timeout"
    assert error_category({"status": "error", "error": {"type": "httpx.ConnectError"}}) == "connection"
    assert error_category({"status": "error", "error": {"type": "x.Y", "status_code": 503}}) == "server"
    assert error_category({"status": "error", "error": {"type": "x.Y", "status_code": 429}}) == "rate_limit"
    assert error_category({"status": "error", "error": {"type": "x.Y", "status_code": 404}}) == "client"
    assert error_category({"status": "error", "error": {"type": "asyncio.CancelledError"}}) == "cancelled"
    assert error_category({"status": "error", "error": {"type": "ValueError"}}) == "other"
    assert error_category({"status": "error", "error": None}) == "other"
    # The record's own category always wins.
    assert (
        error_category({"status": "error", "error": {"type": "x.Timeout", "category": "server"}}) == "server"
    )
    assert error_category({"status": "ok"}) is None
    assert content_filtered({"finish_reasons": ["SAFETY"]})
    assert (
        content_filtered({"safety": {"content_filtered": False}, "finish_reasons": ["content_filter"]})
        is False
    )
    assert content_filtered({}, "content_filter")
    eng = engine("consecutive_errors>=2 over 1m")
    assert eng.process(rec(status="error", error={"type": "x", "category": "content_filter"}), T0) is None
    assert eng.process(rec(status="error", error={"type": "x", "category": "timeout"}), T0) is None
    assert eng.process(rec(status="blocked"), T0) is None  # neither counts nor resets
    assert eng.process(rec(status="error", error={"type": "x", "category": "server"}), T0)


def test_content_filter_rate_reads_safety_or_the_category() -> None:
    eng = engine("content_filter_rate>0.5 over 1m min_calls=2")
    assert eng.process(rec(safety={"content_filtered": True, "refusal": False}), T0) is None
    fired = eng.process(
        rec(status="error", error={"type": "openai.BadRequestError", "category": "content_filter"}), T0
    )
    assert fired and fired[0]["value"] == 1.0


def test_calls_per_second_and_means() -> None:
    eng = engine("calls_per_s>=2 over 10s; cost_per_call_usd>0.5 over 10s min_calls=2")
    for i in range(19):
        assert eng.process(rec(cost_usd=0.1), T0 + i * 0.1) is None
    fired = eng.process(rec(cost_usd=None), T0 + 1.95)
    assert [a["metric"] for a in fired or []] == ["calls_per_s"]
    assert fired and fired[0]["value"] == 2.0
    fired = eng.process(rec(cost_usd=30.0), T0 + 2)  # (1.9 + 30) / 20 priced calls
    assert [a["metric"] for a in fired or []] == ["cost_per_call_usd"]
    assert fired and fired[0]["value"] == pytest.approx(31.9 / 20, rel=1e-5)


def test_a_clock_that_steps_back_keeps_counting_in_the_open_bucket() -> None:
    eng = engine("calls>=3 over 10s")
    eng.process(rec(), T0 + 5)
    eng.process(rec(), T0 + 1)
    assert eng.process(rec(), T0 + 5)


def test_the_compiled_judge_agrees_with_each_measures_reference() -> None:
    # The generated code and the measures' plain-Python breached() must say the same thing on
    # every record of mixed random traffic, for every kind of measure.
    rules = (
        "latency_p90_ms>300 over 20s min_calls=3 name=a; latency_p50_ms<=200 over 20s min_calls=3 name=b;"
        " ttft_p99_ms>=150 over 20s min_calls=2 name=c; error_rate>0.3 over 20s min_calls=4 name=d;"
        " cost_per_call_usd<0.002 over 20s min_calls=2 name=e; calls_per_s>0.5 over 20s name=f;"
        " total_tokens>=900 over 20s name=g; consecutive_errors>=2 over 20s name=h;"
        " cost_usd.zscore>1 over 2s baseline=10s name=i; blocked_rate<0.2 over 20s min_calls=5 name=j"
    )
    eng = engine(rules)
    rng = random.Random(5)
    mismatches = 0
    judged = 0
    for i in range(3000):
        status = rng.choice(["ok", "ok", "ok", "error", "blocked"])
        record = rec(
            status=status,
            latency_ms=rng.uniform(50, 500),
            ttft_ms=rng.choice([None, rng.uniform(50, 300)]),
            cost_usd=rng.choice([None, rng.uniform(0, 0.004)]),
            usage={"total_tokens": rng.randrange(400)},
            error={"type": "x", "category": rng.choice(["server", "client"])} if status == "error" else None,
        )
        now = T0 + i * rng.uniform(0.01, 0.3)
        eng.process(record, now)
        for windows in eng.window_sets:
            for window in windows.groups.values():
                compiled = windows.judge(window)
                for slot, measure in enumerate(windows.measures):
                    if measure.inline() is None:
                        continue
                    judged += 1
                    mismatches += bool(compiled & (1 << slot)) != measure.breached(windows, window)
    assert judged > 20_000 and mismatches == 0


def test_an_idle_group_cooling_down_is_freed_when_the_cooldown_ends() -> None:
    eng = engine("error_rate>0.5 over 10s by=user min_calls=1 cooldown=60s")
    assert eng.process(rec(user_id="a", status="error"), T0)
    resolved = eng.tick(T0 + 11)  # the window empties: resolved, cooling down for 60 s
    assert [a["state"] for a in resolved] == ["resolved"]
    windows = eng.window_sets[0]
    assert windows.groups["a"].active()
    for second in range(12, 80):
        eng.tick(T0 + second)
    assert windows.groups == {}  # freed and forgotten, so the group cap never fills with them
