"""Guard behaviour, run against every ledger: memory, SQLite and a real Redis."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from budget_support import DAY, FakeClock

from llm_monitor_sdk.budget import BudgetGuard, build_guard
from llm_monitor_sdk.errors import BudgetExceededError

ALICE = {"user": "alice", "tenant": "acme", "feature": "chat", "model": "gpt-4o"}


def make(rules: str, store: str, clock: FakeClock, **kwargs: Any) -> BudgetGuard:
    guard = build_guard(rules, store=store, clock=clock, **kwargs)
    assert guard is not None
    return guard


def row(guard: BudgetGuard, rule: str, key: str | None) -> dict[str, Any]:
    matches = [r for r in guard.status() if r["rule"] == rule and r["key"] == key]
    assert len(matches) == 1, guard.status()
    return matches[0]


def test_blocks_when_limit_would_be_exceeded(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.005", store, clock)
    for _ in range(5):
        guard.settle(guard.reserve(ALICE, 0.001), 0.001)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(ALICE, 0.001)
    err = info.value
    assert (err.scope, err.key, err.window, err.limit_usd) == ("user", "alice", "daily", 0.005)
    assert (err.spent_usd, err.reserved_usd, err.requested_usd) == (0.005, 0.0, 0.001)
    assert err.rule == "user:daily=0.005" and err.reason == "limit"
    assert "Budget exceeded for user 'alice'" in str(err) and "limit $0.005000" in str(err)
    # Another user has a budget of their own; a call without a user id matches no user rule.
    guard.settle(guard.reserve({"user": "bob"}, 0.005), 0.005)
    assert guard.reserve({"user": None}, 1.0).active is False
    assert guard.stats["blocked"] == 1
    guard.close()


def test_reserved_budget_counts_before_settle(store: str, clock: FakeClock) -> None:
    guard = make("global:daily=0.003", store, clock)
    held = [guard.reserve({}, 0.001) for _ in range(3)]
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve({}, 0.001)
    assert (info.value.key, info.value.spent_usd, info.value.reserved_usd) == (None, 0.0, 0.003)
    assert "global budget" in str(info.value)
    current = row(guard, "global:daily=0.003", None)
    assert (current["spent_usd"], current["reserved_usd"], current["remaining_usd"]) == (0.0, 0.003, 0.0)
    for res in held:
        guard.settle(res, 0.0005)
    current = row(guard, "global:daily=0.003", None)
    assert (current["spent_usd"], current["reserved_usd"]) == (0.0015, 0.0)
    guard.close()


def test_reservation_is_atomic_across_rules(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=1; tenant=acme:daily=0.003; feature:daily=1", store, clock)
    for _ in range(3):
        guard.settle(guard.reserve(ALICE, 0.001), 0.001)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(ALICE, 0.001)
    assert (info.value.scope, info.value.key) == ("tenant", "acme")
    # The blocked call held nothing on the rules that had room.
    user = row(guard, "user:daily=1", "alice")
    feature = row(guard, "feature:daily=1", "chat")
    assert (user["spent_usd"], user["reserved_usd"]) == (0.003, 0.0)
    assert (feature["spent_usd"], feature["reserved_usd"]) == (0.003, 0.0)
    # The tenant rule is for acme only: another tenant's calls are not limited by it.
    guard.settle(guard.reserve({**ALICE, "user": "carol", "tenant": "other"}, 0.5), 0.5)
    guard.close()


def test_release_returns_budget_and_double_settle_is_noop(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.002", store, clock)
    first = guard.reserve(ALICE, 0.002)
    with pytest.raises(BudgetExceededError):
        guard.reserve(ALICE, 0.001)
    guard.release(first)
    guard.release(first)
    second = guard.reserve(ALICE, 0.002)
    guard.settle(second, 0.002)
    assert guard.settle(second, 0.002) == []
    current = row(guard, "user:daily=0.002", "alice")
    assert (current["spent_usd"], current["reserved_usd"]) == (0.002, 0.0)
    assert guard.stats["released"] == 1 and guard.stats["settled"] == 1
    guard.close()


def test_unknown_price_settles_at_reserved_worst_case(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=1", store, clock)
    guard.settle(guard.reserve(ALICE, 0.25), None)
    assert row(guard, "user:daily=1", "alice")["spent_usd"] == 0.25
    guard.close()


def test_expired_reservation_frees_budget_but_late_settle_still_counts(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.01", store, clock, reservation_ttl_s=30)
    crashed = guard.reserve(ALICE, 0.01)
    with pytest.raises(BudgetExceededError):
        guard.reserve(ALICE, 0.001)
    assert guard.stats["expired_reservations"] == 0
    clock.advance(31)  # still the same day; the crashed call's reservation has expired
    after = guard.reserve(ALICE, 0.004)
    assert guard.stats["expired_reservations"] == 1
    guard.settle(after, 0.004)
    guard.settle(crashed, 0.003)  # the call did finish after all: its spend is recorded
    current = row(guard, "user:daily=0.01", "alice")
    assert (current["spent_usd"], current["reserved_usd"]) == (0.007, 0.0)
    guard.close()


def test_daily_window_rolls_over_and_total_never_resets(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.002; user:total=0.003; user:hourly=1", store, clock)
    guard.settle(guard.reserve(ALICE, 0.002), 0.002)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(ALICE, 0.001)
    assert info.value.window == "daily"
    settled_in_old_day = guard.reserve(ALICE, 0.0)
    clock.advance(120)  # 00:01 the next day
    guard.settle(settled_in_old_day, 0.0)
    guard.settle(guard.reserve(ALICE, 0.001), 0.001)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(ALICE, 0.001)
    assert (info.value.window, info.value.spent_usd) == ("total", 0.003)
    daily = row(guard, "user:daily=0.002", "alice")
    assert (daily["bucket"], daily["spent_usd"]) == (FakeClock(clock.now)().strftime("%Y-%m-%d"), 0.001)
    clock.advance(40 * DAY)
    with pytest.raises(BudgetExceededError, match="total"):
        guard.reserve(ALICE, 0.001)
    guard.close()


def test_soft_alert_fires_once_per_window(store: str, clock: FakeClock) -> None:
    seen: list[dict[str, Any]] = []
    guard = make("user:daily=0.01:soft=0.5; global:daily=100", store, clock, on_alert=seen.append)
    alerts_per_call = [guard.settle(guard.reserve(ALICE, 0.002), 0.002) for _ in range(5)]
    assert [len(a) for a in alerts_per_call] == [0, 0, 1, 0, 0]
    alert = alerts_per_call[2][0]
    assert alert == {
        "type": "soft",
        "rule": "user:daily=0.01:soft=0.5",
        "scope": "user",
        "key": "alice",
        "window": "daily",
        "bucket": alert["bucket"],
        "limit_usd": 0.01,
        "spent_usd": 0.006,
        "threshold": 0.5,
    }
    assert seen == [alert]
    clock.advance(120)  # the next day: a new window, a new alert
    fired = [guard.settle(guard.reserve(ALICE, 0.005), 0.005) for _ in range(2)]
    assert [len(a) for a in fired] == [1, 0]
    assert fired[0][0]["bucket"] != alert["bucket"] and len(seen) == 2
    assert guard.stats["alerts"] == 2
    guard.close()


def test_failing_alert_callback_is_contained(
    store: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(alert: dict[str, Any]) -> None:
        raise RuntimeError("user callback bug")

    guard = make("user:daily=1:soft=0.1", store, clock, on_alert=boom)
    alerts = guard.settle(guard.reserve(ALICE, 0.5), 0.5)
    assert [a["type"] for a in alerts] == ["soft"]
    assert "on_budget_alert callback raised" in caplog.text
    assert "budget soft limit reached for user 'alice'" in caplog.text
    guard.close()


def test_warn_mode_never_raises_but_reports(store: str, clock: FakeClock) -> None:
    seen: list[dict[str, Any]] = []
    guard = make("user:daily=0.002", store, clock, mode="warn", on_alert=seen.append)
    results = []
    for _ in range(4):
        res = guard.reserve(ALICE, 0.001)
        results.append((res.would_block, guard.settle(res, 0.001)))
    assert [wb is None for wb, _ in results] == [True, True, False, False]
    blocked_error = results[2][0]
    assert isinstance(blocked_error, BudgetExceededError) and blocked_error.spent_usd == 0.002
    # Every call over the limit carries a "limit" alert; the soft alert fired once, at 80 %.
    assert [[a["type"] for a in alerts] for _, alerts in results] == [[], ["soft"], ["limit"], ["limit"]]
    assert results[2][1][0]["requested_usd"] == 0.001 and results[2][1][0]["threshold"] == 1.0
    assert [a["type"] for a in seen] == ["soft", "limit"]  # the limit alert is logged and called back once
    assert guard.stats["would_block"] == 2 and guard.stats["blocked"] == 0
    assert row(guard, "user:daily=0.002", "alice")["spent_usd"] == 0.004  # warn mode still counts spend
    guard.close()


def test_actual_cost_larger_than_reserved_is_recorded(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.01", store, clock)
    guard.settle(guard.reserve(ALICE, 0.001), 0.012)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(ALICE, 0.0)
    assert info.value.spent_usd == 0.012
    guard.close()


def test_zero_limit_blocks_every_paid_call(store: str, clock: FakeClock) -> None:
    guard = make("feature=disabled:daily=0", store, clock)
    with pytest.raises(BudgetExceededError):
        guard.reserve({"feature": "disabled"}, 0.000001)
    guard.close()


def test_keyed_rule_and_unkeyed_rule_both_apply(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.01; user=alice:daily=0.002", store, clock)
    guard.settle(guard.reserve(ALICE, 0.002), 0.002)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(ALICE, 0.001)
    assert info.value.rule == "user=alice:daily=0.002"
    guard.settle(guard.reserve({"user": "bob"}, 0.01), 0.01)
    guard.close()


def test_keys_with_separators_are_kept_apart(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.002", store, clock)
    guard.settle(guard.reserve({"user": "a:b"}, 0.002), 0.002)
    guard.settle(guard.reserve({"user": "a"}, 0.002), 0.002)
    guard.settle(guard.reserve({"user": "a%3Ab"}, 0.002), 0.002)
    keys = sorted(r["key"] for r in guard.status())
    assert keys == ["a", "a%3Ab", "a:b"]
    guard.close()


def test_error_pickles_with_its_fields() -> None:
    err = BudgetExceededError(
        scope="user",
        key="alice",
        window="daily",
        limit_usd=2.0,
        spent_usd=1.5,
        reserved_usd=0.25,
        requested_usd=0.5,
        rule="user:daily=2",
        bucket="2026-11-27",
    )
    copy = pickle.loads(pickle.dumps(err))
    assert copy.to_dict() == err.to_dict() and str(copy) == str(err)


def test_unknown_worst_case_reserves_nothing_but_respects_a_spent_limit(store: str, clock: FakeClock) -> None:
    guard = make("user:daily=0.002", store, clock)
    res = guard.reserve(ALICE, None)
    assert res.active and res.cost_usd == 0.0
    guard.settle(res, 0.002)
    guard.settle(guard.reserve(ALICE, None), 0.0)  # exactly at the limit: a call of unknown cost still fits
    guard.settle(guard.reserve(ALICE, 0.0), 0.0005)  # it cost more than nothing after all
    with pytest.raises(BudgetExceededError):
        guard.reserve(ALICE, None)
    guard.close()
