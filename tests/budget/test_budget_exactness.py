"""Concurrent callers can never overspend: 16 threads, and 4 processes, hammer one user's daily limit.

Amounts are counted in integer nano-dollars, so "exactly 50 calls of $0.001 fit in $0.05" holds with no
floating-point slack, for every store.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest

from llm_monitor_sdk.budget import BudgetGuard, build_guard
from llm_monitor_sdk.errors import BudgetExceededError

LIMIT = 0.05
USER = {"user": "alice", "tenant": "acme", "feature": "chat", "model": "m"}
# A fixed instant (2030-05-29T12:00Z): the whole hammer falls in one daily bucket.
FIXED_NOW = 1906286400.0
RULES = f"user:daily={LIMIT}:soft=0.5; global:daily=1000"
THREADS, PER_THREAD = 16, 8
PROCESSES, PER_PROCESS = 4, 20


def fixed_clock() -> float:
    return FIXED_NOW


def new_guard(store: str, **kwargs: Any) -> BudgetGuard:
    guard = build_guard(RULES, store=store, clock=fixed_clock, **kwargs)
    assert guard is not None
    return guard


def one_call(guard: BudgetGuard, reserve_usd: float, outcome: str, alerts: list[dict[str, Any]]) -> bool:
    """One call's lifecycle; ``outcome`` is ``settle`` (actual = half or all of the reserve) or ``release``.
    Returns False when the call was blocked."""
    try:
        res = guard.reserve(USER, reserve_usd)
    except BudgetExceededError:
        return False
    if outcome == "release":
        guard.release(res)
    else:
        actual = reserve_usd / 2 if outcome == "half" else reserve_usd
        alerts.extend(a for a in guard.settle(res, actual) if a["type"] == "soft")
    return True


def spent(guard: BudgetGuard) -> tuple[float, float]:
    (row,) = [r for r in guard.status() if r["scope"] == "user"]
    return row["spent_usd"], row["reserved_usd"]


def run_threads(
    guard: BudgetGuard, reserve_usd: float, plan: Callable[[int], str]
) -> tuple[int, int, list[Any]]:
    """16 threads released together by a barrier, each making PER_THREAD calls."""
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, int]] = []
    alerts: list[dict[str, Any]] = []
    lock = threading.Lock()

    def worker(worker_id: int) -> None:
        ok = blocked = 0
        barrier.wait()
        for i in range(PER_THREAD):
            outcome = plan(worker_id * PER_THREAD + i)
            if one_call(guard, reserve_usd, outcome, alerts):
                ok += outcome != "release"
            else:
                blocked += 1
        with lock:
            results.append((ok, blocked))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(r[0] for r in results), sum(r[1] for r in results), alerts


def drain(guard: BudgetGuard, reserve_usd: float, outcome: str) -> int:
    """Sequentially add calls until one is blocked; returns how many more fitted."""
    extra = 0
    while one_call(guard, reserve_usd, outcome, []):
        extra += 1
    return extra


def test_threads_exactly_fill_the_limit(store: str) -> None:
    guard = new_guard(store)
    ok, blocked, alerts = run_threads(guard, 0.001, lambda n: "full")
    assert (ok, blocked) == (50, THREADS * PER_THREAD - 50)
    assert spent(guard) == (0.05, 0.0)
    assert guard.stats["blocked"] == blocked
    assert len(alerts) == 1 and alerts[0]["spent_usd"] == 0.025  # soft alert fired exactly once, at 50 %
    guard.close()


def test_threads_with_actual_below_reserved(store: str) -> None:
    # Reserve $0.002, spend $0.001: once no call is in flight, calls fit while spent + 0.002 <= 0.05, so
    # the final spend is exactly $0.049 (49 calls), whatever the interleaving was.
    guard = new_guard(store)
    ok, _, alerts = run_threads(guard, 0.002, lambda n: "half")
    ok += drain(guard, 0.002, "half")
    assert ok == 49
    assert spent(guard) == (0.049, 0.0)
    assert len(alerts) == 1
    guard.close()


def test_threads_with_a_mix_of_settles_and_releases(store: str) -> None:
    # Every third call fails at the provider and releases; the rest settle their full reservation.
    guard = new_guard(store)
    ok, _, _ = run_threads(guard, 0.001, lambda n: "release" if n % 3 == 0 else "full")
    ok += drain(guard, 0.001, "full")
    assert ok == 50
    assert spent(guard) == (0.05, 0.0)
    guard.close()


def _process_worker(store: str, reserve_usd: float, outcome: str, barrier: Any, results: Any) -> None:
    guard = new_guard(store)
    alerts: list[dict[str, Any]] = []
    ok = blocked = 0
    barrier.wait()
    for _ in range(PER_PROCESS):
        if one_call(guard, reserve_usd, outcome, alerts):
            ok += 1
        else:
            blocked += 1
    store_errors = guard.stats["store_errors"]
    guard.close()
    results.put((ok, blocked, len(alerts), store_errors))


def run_processes(store: str, reserve_usd: float, outcome: str) -> tuple[int, int, int]:
    """4 processes, each with its own guard on the shared store, released together by a barrier."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=_process_worker, args=(store, reserve_usd, outcome, barrier, queue))
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    # Processes opening the store at the same instant must wait for each other, never fail open.
    assert [r[3] for r in results] == [0] * PROCESSES
    return sum(r[0] for r in results), sum(r[1] for r in results), sum(r[2] for r in results)


def test_processes_exactly_fill_the_limit(shared_store: str) -> None:
    ok, blocked, alerts = run_processes(shared_store, 0.001, "full")
    assert (ok, blocked) == (50, PROCESSES * PER_PROCESS - 50)
    assert alerts == 1  # once across all processes
    guard = new_guard(shared_store)
    assert spent(guard) == (0.05, 0.0)
    with pytest.raises(BudgetExceededError):
        guard.reserve(USER, 0.001)
    guard.close()


def test_processes_with_actual_below_reserved(shared_store: str) -> None:
    ok, _, _ = run_processes(shared_store, 0.002, "half")
    guard = new_guard(shared_store)
    ok += drain(guard, 0.002, "half")
    assert ok == 49
    assert spent(guard) == (0.049, 0.0)
    guard.close()
