"""An unreachable store: fail open (allow, log once, count) or fail closed (block)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from budget_support import FakeClock, free_port

from llm_monitor_sdk.budget import BudgetGuard, LedgerError, build_guard
from llm_monitor_sdk.errors import BudgetExceededError

USER = {"user": "alice"}


@pytest.fixture(params=["redis", "sqlite-dir", "sqlite-under-file"])
def broken_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL that cannot be used: a Redis port nothing listens on, or SQLite paths that cannot open."""
    if request.param == "redis":
        return f"redis://127.0.0.1:{free_port()}/0"
    if request.param == "sqlite-dir":
        return f"sqlite:///{tmp_path}"  # a directory is not a database file
    (tmp_path / "plain-file").write_text("x")
    return f"sqlite:///{tmp_path}/plain-file/budget.db"


def make(store: str, clock: FakeClock, **kwargs: object) -> BudgetGuard:
    guard = build_guard("user:daily=1", store=store, clock=clock, **kwargs)  # type: ignore[arg-type]
    assert guard is not None
    return guard


def test_fail_open_allows_logs_once_and_counts(
    broken_store: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = make(broken_store, clock, on_store_error="open", store_retry_s=0)
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk.budget"):
        reservations = [guard.reserve(USER, 5.0) for _ in range(3)]  # far over the limit, still allowed
    assert all(res.store_error and not res.active for res in reservations)
    assert guard.settle(reservations[0], 5.0) == []
    guard.release(reservations[1])
    stats = guard.stats
    assert (stats["store_errors"], stats["allowed_on_store_error"], stats["blocked"]) == (3, 3, 0)
    failures = [r for r in caplog.records if "failed during reserve" in r.getMessage()]
    assert len(failures) == 1  # once per kind of failure, not once per call
    guard.close()


def test_fail_closed_blocks_with_a_clear_error(broken_store: str, clock: FakeClock) -> None:
    guard = make(broken_store, clock, on_store_error="closed", store_retry_s=0)
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(USER, 0.001)
    err = info.value
    assert (err.reason, err.scope, err.key, err.window, err.spent_usd) == (
        "store_unavailable",
        "user",
        "alice",
        "daily",
        None,
    )
    assert "budget store is unreachable" in str(err)
    assert guard.stats["blocked"] == 1 and guard.stats["blocked_on_store_error"] == 1
    # A call that no rule matches never needs the store.
    assert guard.reserve({"user": None}, 0.001).active is False
    guard.close()


def test_warn_mode_never_blocks_even_when_closed(broken_store: str, clock: FakeClock) -> None:
    guard = make(broken_store, clock, mode="warn", on_store_error="closed")
    assert guard.reserve(USER, 0.001).store_error
    guard.close()


def test_after_a_failure_the_store_is_not_retried_until_the_pause_ends(clock: FakeClock) -> None:
    guard = make(f"redis://127.0.0.1:{free_port()}/0", clock, store_retry_s=3600)
    for _ in range(3):
        guard.reserve(USER, 0.001)
    assert (guard.stats["store_errors"], guard.stats["allowed_on_store_error"]) == (1, 3)
    guard.close()


def test_recovers_when_the_store_comes_back(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a directory yet")
    guard = make(f"sqlite:///{blocker}/budget.db", clock, store_retry_s=0)
    assert guard.reserve(USER, 0.001).store_error
    blocker.unlink()  # the path can be created now
    res = guard.reserve(USER, 0.001)
    assert res.active and not res.store_error
    guard.settle(res, 0.001)
    assert guard.status()[0]["spent_usd"] == 0.001
    assert "is reachable again" in caplog.text
    guard.close()


def test_status_of_an_unreachable_store_raises_ledger_error(clock: FakeClock) -> None:
    guard = make(f"redis://127.0.0.1:{free_port()}/0", clock)
    with pytest.raises(LedgerError, match="Redis budget store"):
        guard.status()
    guard.close()


def test_settle_failure_is_counted_not_raised(tmp_path: Path, clock: FakeClock) -> None:
    guard = make(f"sqlite:///{tmp_path}/budget.db", clock)
    res = guard.reserve(USER, 0.001)
    (tmp_path / "budget.db").unlink()
    (tmp_path / "budget.db-wal").unlink(missing_ok=True)
    guard.close()  # drop the open connection so the next one must reopen
    guard.ledger.path = str(tmp_path)  # type: ignore[attr-defined]  # now a directory: cannot open
    assert guard.settle(res, 0.001) == []
    assert guard.stats["store_errors"] == 1
