"""Redis outages with a real redis-server killed (SIGKILL), frozen (SIGSTOP) and restarted empty, by PID.

The numbers these tests pin down (one rule ``global:daily=1``, $0.01 calls, so 100 calls fill it):

- killed after the limit was reached: before, 300 more calls went through (4x the limit); now none.
- restarted empty: before, spend started again at $0 (2x the limit); now the last known spend is
  restored and the limit still holds, for both policies and for several hosts.
- frozen: before, calls stalled 2 s each on the caller's thread; now only the first call of the outage
  waits, for at most the store timeout (0.1 s), and the spend settled meanwhile reaches the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from budget_support import RedisProcess, wait_until

from llm_monitor_sdk.budget import BudgetGuard, build_guard
from llm_monitor_sdk.errors import BudgetExceededError

COST = 0.01
RULE = "global:daily=1"


@pytest.fixture(params=["open", "closed"])
def policy(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def guards() -> Iterator[list[BudgetGuard]]:
    made: list[BudgetGuard] = []
    yield made
    for guard in made:
        guard.close()


def new_guard(made: list[BudgetGuard], url: str, **kwargs: object) -> BudgetGuard:
    guard = build_guard(RULE, store=url, store_retry_s=0.05, **kwargs)  # type: ignore[arg-type]
    assert guard is not None
    made.append(guard)
    return guard


def call(guard: BudgetGuard) -> bool:
    """One $0.01 call: reserve and settle; False when blocked."""
    try:
        res = guard.reserve({}, COST)
    except BudgetExceededError:
        return False
    guard.settle(res, COST)
    return True


def fill(guard: BudgetGuard, dollars: float) -> None:
    for _ in range(round(dollars / COST)):
        assert call(guard)


def store_spent(url: str) -> float:
    reader = build_guard(RULE, store=url)
    assert reader is not None
    try:
        return float(reader.status()[0]["spent_usd"])
    finally:
        reader.close()


def test_killed_after_the_limit_lets_nothing_through(
    own_redis: RedisProcess, policy: str, guards: list[BudgetGuard]
) -> None:
    guard = new_guard(guards, own_redis.url, on_store_error=policy)
    fill(guard, 1.0)
    assert not call(guard)
    own_redis.kill()
    allowed = sum(call(guard) for _ in range(300))
    assert allowed == 0  # was 300 (policy open) before the local ledger
    assert guard.stats["store_outages"] == 1


def test_killed_below_the_limit_spends_only_the_headroom_then_writes_it_back(
    own_redis: RedisProcess, guards: list[BudgetGuard]
) -> None:
    guard = new_guard(guards, own_redis.url)
    fill(guard, 0.6)
    own_redis.kill()
    allowed = sum(call(guard) for _ in range(100))
    assert allowed == 40  # the local ledger lets this process spend what was left, no more
    own_redis.start()  # back, but empty: the probe restores 0.6 and writes back the 0.4
    assert wait_until(lambda: guard.store_healthy)
    assert store_spent(own_redis.url) == pytest.approx(1.0)
    assert not call(guard)
    assert guard.stats["store_resets"] >= 1


def test_restarted_empty_restores_the_last_known_spend(
    own_redis: RedisProcess, policy: str, guards: list[BudgetGuard]
) -> None:
    guard = new_guard(guards, own_redis.url, on_store_error=policy)
    fill(guard, 1.0)
    own_redis.restart()  # no outage seen by any call: only the epoch tells the store lost its data
    allowed = sum(call(guard) for _ in range(300))
    assert allowed == 0  # was 100 more (2x the limit) before the epoch check
    assert wait_until(lambda: guard.store_healthy)
    assert store_spent(own_redis.url) == pytest.approx(1.0)
    assert sum(call(guard) for _ in range(10)) == 0  # the store itself blocks again


def test_restarted_empty_with_several_hosts_restores_once_not_twice(
    own_redis: RedisProcess, guards: list[BudgetGuard]
) -> None:
    host_a = new_guard(guards, own_redis.url)
    host_b = new_guard(guards, own_redis.url)
    fill(host_a, 0.3)
    fill(host_b, 0.3)  # both hosts saw 0.6 spent (b last)
    assert call(host_a)  # a saw 0.61 now
    own_redis.restart()
    assert call(host_b)  # b notices the reset: local, 0.6 known + 0.01
    assert call(host_a)  # a as well: 0.61 known + 0.01
    assert wait_until(lambda: host_a.store_healthy and host_b.store_healthy)
    # The floor is the largest known spend (0.61); each host's outage spend is added once, whichever
    # host writes back first.
    assert store_spent(own_redis.url) == pytest.approx(0.63)
    fresh = new_guard(guards, own_redis.url)  # a host that never saw the old store
    assert sum(call(fresh) for _ in range(100)) == 37


def test_frozen_store_stalls_one_call_for_at_most_the_timeout_and_keeps_the_spend(
    own_redis: RedisProcess, guards: list[BudgetGuard]
) -> None:
    guard = new_guard(guards, own_redis.url)
    fill(guard, 0.5)
    own_redis.freeze()
    waits = []
    allowed = 0
    for _ in range(20):
        started = time.monotonic()
        allowed += call(guard)
        waits.append(time.monotonic() - started)
    # Generous bounds on a loaded machine; before the fix each stalled call took 2 s.
    assert max(waits) < 1.0
    assert sum(waits) < 1.5
    assert allowed == 20
    assert guard.stats["store_errors"] == 1  # only the first call met the frozen store
    own_redis.thaw()
    assert wait_until(lambda: guard.store_healthy)
    assert store_spent(own_redis.url) == pytest.approx(0.7)  # 0.5 + the 0.2 settled while frozen
    assert guard.stats["store_resets"] == 0


def test_frozen_with_policy_closed_blocks_and_keeps_the_spend_of_calls_in_flight(
    own_redis: RedisProcess, guards: list[BudgetGuard]
) -> None:
    guard = new_guard(guards, own_redis.url, on_store_error="closed")
    fill(guard, 0.2)
    in_flight = guard.reserve({}, 0.05)  # held in the store
    own_redis.freeze()
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve({}, COST)
    assert info.value.reason == "store_unavailable"
    guard.settle(in_flight, 0.03)  # the store is away: kept locally
    own_redis.thaw()
    assert wait_until(lambda: guard.store_healthy)
    reader = build_guard(RULE, store=own_redis.url)
    assert reader is not None
    (row,) = reader.status()
    reader.close()
    # The spend was written back and the reservation the settle could not remove was removed.
    assert (row["spent_usd"], row["reserved_usd"]) == (pytest.approx(0.23), 0.0)


def test_write_back_fires_a_soft_alert_the_outage_spend_crossed(
    own_redis: RedisProcess, guards: list[BudgetGuard]
) -> None:
    alerts: list[dict[str, object]] = []
    guard = new_guard(guards, own_redis.url, on_alert=alerts.append)
    fill(guard, 0.7)
    own_redis.freeze()
    fill(guard, 0.2)  # crosses the 0.8 soft threshold while the store is away
    own_redis.thaw()
    assert wait_until(lambda: guard.store_healthy)
    assert [(a["type"], a["spent_usd"]) for a in alerts] == [("soft", pytest.approx(0.9))]
    assert not call(guard) or store_spent(own_redis.url) <= 1.0


def test_killed_with_a_password_never_logs_it(
    redis_binary: str, guards: list[BudgetGuard], caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisProcess(redis_binary, password="s3cr3t-redis-pw")
    server.start()
    try:
        guard = new_guard(guards, server.url)
        fill(guard, 0.1)
        with caplog.at_level("DEBUG"):
            server.kill()
            fill(guard, 0.1)
            server.start()
            assert wait_until(lambda: guard.store_healthy)
        assert "restored the last known spend of 1 counter(s)" in caplog.text
        assert "s3cr3t-redis-pw" not in caplog.text
    finally:
        server.stop()


def test_the_url_can_allow_a_slower_server(own_redis: RedisProcess, guards: list[BudgetGuard]) -> None:
    patient = new_guard(guards, f"{own_redis.url}?socket_timeout=0.6&socket_connect_timeout=0.6")
    default = new_guard(guards, own_redis.url)
    assert call(patient) and call(default)
    own_redis.freeze()
    started = time.monotonic()
    assert call(default)
    default_wait = time.monotonic() - started
    started = time.monotonic()
    assert call(patient)
    patient_wait = time.monotonic() - started
    assert patient_wait >= 0.55  # a timeout never fires early
    assert default_wait < patient_wait
