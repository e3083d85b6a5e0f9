"""A fork while another thread holds a budget lock (the store's, the guard's, the Redis pool's) must not
leave the child's first budgeted call blocked forever; the child gets connections of its own and its
calls are still enforced."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from budget_support import FakeClock

from llm_monitor_sdk.budget import BudgetGuard, build_guard
from llm_monitor_sdk.errors import BudgetExceededError

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _locks_of(*objects: Any) -> list[Any]:
    found = []
    for obj in objects:
        for value in vars(obj).values():
            if isinstance(value, _LOCK_TYPES):
                found.append(value)
    return found


def _every_lock(guard: BudgetGuard) -> list[Any]:
    """The guard's locks, its ledger's, and (Redis) the connection pool's."""
    owners: list[Any] = [guard, guard.ledger]
    client = getattr(guard.ledger, "_client", None)
    if client is not None:
        owners.append(client.connection_pool)
    return _locks_of(*owners)


def _hold(locks: list[Any]) -> tuple[threading.Event, threading.Thread]:
    """A thread that takes every lock and keeps them until the event is set."""
    taken = threading.Event()
    done = threading.Event()

    def holder() -> None:
        for lock in locks:
            lock.acquire()
        taken.set()
        done.wait()
        for lock in reversed(locks):
            lock.release()

    thread = threading.Thread(target=holder, daemon=True)
    thread.start()
    assert taken.wait(5)
    return done, thread


def _child(guard: BudgetGuard, write_fd: int) -> None:
    """In the child: one call that fits, then one that goes over the limit; report through the pipe."""
    try:
        res = guard.reserve({"user": "alice"}, 0.5)
        guard.settle(res, 0.5)
        try:
            guard.reserve({"user": "alice"}, 0.5)
            verdict = b"not enforced"
        except BudgetExceededError:
            verdict = b"ok" if not guard.reserve({"user": "alice"}, 0.0).store_error else b"store error"
        guard.close()
    except BaseException as exc:  # report anything, never return into pytest
        verdict = repr(exc).encode()
    os.write(write_fd, verdict)
    os._exit(0)


def _fork_and_call(guard: BudgetGuard, timeout: float = 10.0) -> str:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(guard, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    while True:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(read_fd)
            return "child hung"
        time.sleep(0.01)
    verdict = os.read(read_fd, 4096).decode()
    os.close(read_fd)
    return verdict


@pytest.mark.parametrize("repeat", range(3))
def test_fork_while_every_budget_lock_is_held(
    store: str, clock: FakeClock, tmp_path: Path, repeat: int
) -> None:
    guard = build_guard("user:daily=1", store=store, clock=clock)
    assert guard is not None
    res = guard.reserve({"user": "alice"}, 0.1)  # connections, pools and caches exist
    guard.settle(res, 0.1)
    locks = _every_lock(guard)
    assert len(locks) >= 2
    release, holder = _hold(locks)
    try:
        verdict = _fork_and_call(guard)
    finally:
        release.set()
        holder.join(5)
    assert verdict == "ok"
    # The parent is unaffected, and (shared stores) sees the child's spend.
    expected = 0.1 if store == "memory" else 0.6
    assert guard.status()[0]["spent_usd"] == pytest.approx(expected)
    guard.close()
