"""An unreachable store: the breaker opens, calls are checked against the local ledger (policy ``open``)
or blocked (policy ``closed``), outage spend is kept and written back when the store is reachable again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from budget_support import FakeClock, free_port, wait_until

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


def test_fail_open_enforces_the_limit_locally_logs_once_and_counts(
    broken_store: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = make(broken_store, clock, on_store_error="open")
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk.budget"):
        with pytest.raises(BudgetExceededError) as info:
            guard.reserve(USER, 5.0)  # over the limit on its own: blocked even without the store
        assert info.value.reason == "limit"
        first, second = guard.reserve(USER, 0.4), guard.reserve(USER, 0.4)
        with pytest.raises(BudgetExceededError):
            guard.reserve(USER, 0.4)  # 0.8 held locally + 0.4 > 1
    assert all(res.store_error and res.local and res.active for res in (first, second))
    assert guard.settle(first, 0.1) == []
    guard.release(second)
    guard.reserve(USER, 0.85)  # 0.1 spent locally + 0.85 fits; the released 0.4 came back
    stats = guard.stats
    assert stats["store_errors"] == 1  # the breaker opened at the first failure: no call tried again
    assert (stats["store_outages"], stats["allowed_on_store_error"], stats["blocked"]) == (1, 3, 2)
    assert stats["local_settles"] == 1
    failures = [r for r in caplog.records if "failed during reserve" in r.getMessage()]
    assert len(failures) == 1  # once per outage, not once per call
    assert not guard.store_healthy
    guard.close()


def test_fail_closed_blocks_with_a_clear_error(broken_store: str, clock: FakeClock) -> None:
    guard = make(broken_store, clock, on_store_error="closed")
    for _ in range(2):
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
    assert guard.stats["blocked"] == 2 and guard.stats["blocked_on_store_error"] == 2
    assert guard.stats["store_errors"] == 1
    # A call that no rule matches never needs the store.
    assert guard.reserve({"user": None}, 0.001).active is False
    guard.close()


def test_warn_mode_never_blocks_even_when_closed(broken_store: str, clock: FakeClock) -> None:
    guard = make(broken_store, clock, mode="warn", on_store_error="closed")
    res = guard.reserve(USER, 5.0)
    assert res.store_error and res.would_block is not None and res.would_block.reason == "limit"
    guard.close()


def test_recovers_writes_outage_spend_back_and_uses_the_store_again(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("not a directory yet")
    guard = make(f"sqlite:///{blocker}/budget.db", clock, store_retry_s=0.02)
    res = guard.reserve(USER, 0.001)
    assert res.store_error
    guard.settle(res, 0.0007)  # kept locally
    blocker.unlink()  # the path can be created now: the probe finds the store
    assert wait_until(lambda: guard.store_healthy)
    (row,) = guard.status()
    assert (row["spent_usd"], row["reserved_usd"]) == (0.0007, 0.0)
    res = guard.reserve(USER, 0.001)
    assert res.active and not res.store_error and not res.local
    guard.settle(res, 0.001)
    assert guard.status()[0]["spent_usd"] == 0.0017
    assert "is reachable again" in caplog.text and "wrote back $0.000700" in caplog.text
    assert guard.stats["written_back"] == 1
    guard.close()


def test_status_of_an_unreachable_store_raises_ledger_error(clock: FakeClock) -> None:
    guard = make(f"redis://127.0.0.1:{free_port()}/0", clock)
    with pytest.raises(LedgerError, match="Redis budget store"):
        guard.status()
    guard.close()


def test_settle_failure_is_kept_locally_not_raised_and_written_back(tmp_path: Path, clock: FakeClock) -> None:
    guard = make(f"sqlite:///{tmp_path}/budget.db", clock, store_retry_s=0.02)
    res = guard.reserve(USER, 0.001)
    real_path = guard.ledger.path  # type: ignore[attr-defined]
    guard.ledger.close()  # drop the open connection so the next one must reopen
    guard.ledger.path = str(tmp_path)  # type: ignore[attr-defined]  # now a directory: cannot open
    assert guard.settle(res, 0.0004) == []
    assert guard.stats["store_errors"] == 1 and guard.stats["local_settles"] == 1
    guard.ledger.path = real_path  # type: ignore[attr-defined]
    assert wait_until(lambda: guard.store_healthy)
    (row,) = guard.status()
    # The spend reached the store, and the reservation the failed settle left there was removed.
    assert (row["spent_usd"], row["reserved_usd"]) == (0.0004, 0.0)
    guard.close()


def test_unwritten_outage_spend_is_logged_at_close(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    guard = make(f"redis://127.0.0.1:{free_port()}/0", clock)
    res = guard.reserve(USER, 0.25)
    guard.settle(res, 0.25)
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk.budget"):
        guard.close()
    assert "$0.250000 spent during the outage on 1 counter(s) could not be written back" in caplog.text
