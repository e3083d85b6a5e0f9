"""build_guard validation, store selection, status rows and the status table."""

from __future__ import annotations

from pathlib import Path

import pytest
from budget_support import FakeClock

from llm_monitor_sdk.budget import BudgetGuard, BudgetRule, build_guard, render_status
from llm_monitor_sdk.budget.store_memory import MemoryLedger
from llm_monitor_sdk.budget.store_redis import RedisLedger
from llm_monitor_sdk.budget.store_sqlite import SQLiteLedger


def test_no_rules_means_no_guard() -> None:
    assert build_guard(None) is None
    assert build_guard("") is None
    assert build_guard([]) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"store": "postgres://db"}, "LLM_MONITOR_BUDGET_STORE='postgres://db': unsupported store"),
        ({"store": "sqlite://"}, "LLM_MONITOR_BUDGET_STORE='sqlite://': write sqlite:///"),
        ({"store": "sqlite:///"}, "LLM_MONITOR_BUDGET_STORE='sqlite:///'"),
        ({"store": "redis://:6379/0"}, "the Redis URL has no host"),
        ({"store": "redis://localhost:port/0"}, "bad port"),
        ({"store": ""}, "LLM_MONITOR_BUDGET_STORE"),
        ({"mode": "block"}, "LLM_MONITOR_BUDGET_MODE='block': expected one of enforce, warn"),
        ({"on_store_error": "maybe"}, "LLM_MONITOR_BUDGET_ON_STORE_ERROR='maybe'"),
        ({"reservation_ttl_s": 0}, "LLM_MONITOR_BUDGET_RESERVATION_TTL=0"),
        ({"reservation_ttl_s": float("nan")}, "LLM_MONITOR_BUDGET_RESERVATION_TTL=nan"),
        ({"on_alert": "print"}, "on_budget_alert='print'"),
    ],
)
def test_bad_settings_name_their_variable(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_guard("user:daily=1", **kwargs)
    assert message in str(info.value)


def test_bad_settings_fail_even_without_rules() -> None:
    with pytest.raises(ValueError, match="LLM_MONITOR_BUDGET_MODE"):
        build_guard(None, mode="nope")


def test_rule_errors_name_the_right_source() -> None:
    with pytest.raises(ValueError, match=r"^LLM_MONITOR_BUDGETS: rule 'user:daily=x'"):
        build_guard("user:daily=x")
    with pytest.raises(ValueError, match=r"^budgets: rule 'user:daily=x'"):
        build_guard(["user:daily=x"])


def test_store_selection(tmp_path: Path, redis_url: str) -> None:
    cases = {
        "memory": MemoryLedger,
        " MEMORY ": MemoryLedger,
        f"sqlite:///{tmp_path}/b.db": SQLiteLedger,
        redis_url: RedisLedger,
    }
    for store, kind in cases.items():
        guard = build_guard("global:total=1", store=store, mode=" Warn ", on_store_error="CLOSED")
        assert isinstance(guard, BudgetGuard) and isinstance(guard.ledger, kind)
        assert (guard.mode, guard.on_store_error) == ("warn", "closed")
        guard.close()


def test_sqlite_relative_and_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    guard = build_guard("global:total=1", store="sqlite:///data/rel.db")
    assert guard is not None
    guard.settle(guard.reserve({}, 0.5), 0.5)
    guard.close()
    assert (tmp_path / "data" / "rel.db").exists()
    absolute = build_guard("global:total=1", store=f"sqlite:///{tmp_path}/abs.db")
    assert absolute is not None and absolute.ledger.path == f"{tmp_path}/abs.db"  # type: ignore[attr-defined]
    absolute.close()


def test_password_is_not_logged() -> None:
    guard = build_guard("global:total=1", store="redis://user:s3cret@127.0.0.1:1/0")
    assert guard is not None and "s3cret" not in guard.store_name and "***" in guard.store_name
    guard.close()


def test_status_rows_and_table(store: str, clock: FakeClock) -> None:
    rules = [
        BudgetRule(scope="global", key=None, window="daily", limit_usd=100),
        BudgetRule(scope="user", key=None, window="daily", limit_usd=2, soft=0.5),
        BudgetRule(scope="tenant", key="acme", window="monthly", limit_usd=500),
    ]
    guard = build_guard(rules, store=store, clock=clock)
    assert guard is not None
    for user, cost in (("bob", 0.5), ("alice", 1.0)):
        guard.settle(guard.reserve({"user": user, "tenant": "acme"}, cost), cost)
    held = guard.reserve({"user": "alice", "tenant": "other"}, 0.25)
    rows = guard.status()
    simple = [(r["rule"], r["key"], r["spent_usd"], r["reserved_usd"], r["limit_usd"]) for r in rows]
    assert simple == [
        ("global:daily=100", None, 1.5, 0.25, 100.0),
        ("user:daily=2:soft=0.5", "alice", 1.0, 0.25, 2.0),
        ("user:daily=2:soft=0.5", "bob", 0.5, 0.0, 2.0),
        ("tenant=acme:monthly=500", "acme", 1.5, 0.0, 500.0),
    ]
    alice = rows[1]
    assert alice["remaining_usd"] == 0.75 and alice["used_fraction"] == 0.625
    assert alice["bucket"] == clock().strftime("%Y-%m-%d") and rows[3]["bucket"] == clock().strftime("%Y-%m")
    table = render_status(rows).splitlines()
    assert table[0].split() == ["RULE", "KEY", "BUCKET", "SPENT", "$", "RESERVED", "$", "LIMIT", "$", "USED"]
    assert table[2].split() == [
        "user:daily=2:soft=0.5",
        "alice",
        alice["bucket"],
        "1.000000",
        "0.250000",
        "2.000000",
        "62.5%",
    ]
    assert table[1].split()[1] == "-"  # global has no key
    guard.release(held)
    guard.close()


def test_status_of_an_empty_store_lists_fixed_keys_only(clock: FakeClock) -> None:
    guard = build_guard("global:daily=1; user:daily=1; model=gpt-4o:daily=3", clock=clock)
    assert guard is not None
    assert [(r["rule"], r["key"], r["spent_usd"]) for r in guard.status()] == [
        ("global:daily=1", None, 0.0),
        ("model=gpt-4o:daily=3", "gpt-4o", 0.0),
    ]
    assert render_status([]) == "no budget rules configured (set LLM_MONITOR_BUDGETS)"
