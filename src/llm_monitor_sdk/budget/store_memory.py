"""In-process ledger: one lock, plain dicts. Exact for every thread of one process.

Reserve runs on the caller's thread before the provider call (never inside a GC finalizer) and settle
on the export worker thread, so a plain ``threading.Lock`` is safe; it is re-created in a forked child,
which gets its own copy of the counters.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections.abc import Sequence

from .ledger import CounterState, Line, ReserveOutcome, SettleOutcome, WriteBackOutcome

__all__ = ["MemoryLedger"]

# How often stale counters of finished windows are dropped (seconds of ledger time).
_GC_INTERVAL_S = 60.0

_instances: weakref.WeakSet[MemoryLedger] = weakref.WeakSet()


class _Counter:
    __slots__ = ("alerted", "expire_at", "floor", "reserved", "spent")

    def __init__(self, expire_at: float | None) -> None:
        self.spent = 0
        self.floor = 0
        self.reserved = 0
        self.alerted = False
        self.expire_at = expire_at


class MemoryLedger:
    """Counters in a dict guarded by one lock; reservations expire lazily on the next reserve."""

    #: Only this process uses it, and it cannot be unreachable.
    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str, str], _Counter] = {}
        # Live reservations in insertion order; with one TTL per guard that is also expiry order, so the
        # oldest is always first and purging stops at the first one still valid.
        self._live: dict[str, tuple[float, int, Sequence[Line]]] = {}
        self._ids = itertools.count(1)
        self._next_gc = 0.0
        _instances.add(self)

    def new_id(self) -> str:
        """A process-local reservation id (this store is never shared between processes)."""
        return str(next(self._ids))

    def _purge(self, now: float) -> int:
        expired = 0
        live = self._live
        while live:
            res_id = next(iter(live))
            expires_at, amount, lines = live[res_id]
            if expires_at > now:
                break
            del live[res_id]
            for line in lines:
                counter = self._counters.get(line.counter)
                if counter is not None:
                    counter.reserved -= amount
            expired += 1
        if now >= self._next_gc:
            self._next_gc = now + _GC_INTERVAL_S
            stale = [k for k, c in self._counters.items() if c.expire_at is not None and c.expire_at <= now]
            for counter_key in stale:
                del self._counters[counter_key]
        return expired

    def reserve(
        self,
        lines: Sequence[Line],
        amount: int,
        res_id: str,
        now: float,
        expires_at: float,
        enforce: bool,
        epoch: str = "",
    ) -> ReserveOutcome:
        """See :meth:`Ledger.reserve`."""
        with self._lock:
            expired = self._purge(now) if self._live or now >= self._next_gc else 0
            counters = self._counters
            found: list[_Counter] = []
            blocked, blocked_spent, blocked_reserved = -1, 0, 0
            for index, line in enumerate(lines):
                counter = counters.get(line.counter)
                if counter is None:
                    counter = counters[line.counter] = _Counter(line.expire_at)
                found.append(counter)
                if blocked < 0 and counter.spent + counter.reserved + amount > line.limit:
                    blocked, blocked_spent, blocked_reserved = index, counter.spent, counter.reserved
            if blocked >= 0 and enforce:
                return ReserveOutcome(blocked, blocked_spent, blocked_reserved, expired)
            for counter in found:
                counter.reserved += amount
            self._live[res_id] = (expires_at, amount, lines)
            return ReserveOutcome(blocked, blocked_spent, blocked_reserved, expired)

    def _drop(self, res_id: str) -> bool:
        entry = self._live.pop(res_id, None)
        if entry is None:
            return False  # expired (and purged) or never held
        _, amount, lines = entry
        for line in lines:
            counter = self._counters.get(line.counter)
            if counter is not None:
                counter.reserved -= amount
        return True

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """See :meth:`Ledger.settle`."""
        fired: list[tuple[int, int]] = []
        with self._lock:
            self._drop(res_id)
            for index, line in enumerate(lines):
                counter = self._counters.get(line.counter)
                if counter is None:  # dropped by the window GC while the call ran
                    counter = self._counters[line.counter] = _Counter(line.expire_at)
                counter.spent += actual
                if not counter.alerted and counter.spent > 0 and counter.spent >= line.soft:
                    counter.alerted = True
                    fired.append((index, counter.spent))
        return SettleOutcome(fired)

    def release(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """See :meth:`Ledger.release`."""
        with self._lock:
            self._drop(res_id)
        return SettleOutcome([])

    def probe(self, proposal: str) -> str:
        """See :meth:`Ledger.probe`: this store never loses its data while the process lives."""
        return "memory"

    def write_back(
        self, entries: Sequence[tuple[Line, int, int]], epoch: str, now: float
    ) -> WriteBackOutcome:
        """See :meth:`Ledger.write_back` (the guard never needs it for this store)."""
        spents: list[int] = []
        fired: list[tuple[int, int]] = []
        with self._lock:
            for index, (line, floor, add) in enumerate(entries):
                counter = self._counters.get(line.counter)
                if counter is None:
                    counter = self._counters[line.counter] = _Counter(line.expire_at)
                if floor > counter.floor:
                    counter.spent += floor - counter.floor
                    counter.floor = floor
                if floor > 0 and floor >= line.soft:
                    counter.alerted = True
                counter.spent += add
                if counter.spent > 0 and counter.spent >= line.soft and not counter.alerted:
                    counter.alerted = True
                    fired.append((index, counter.spent))
                spents.append(counter.spent)
        return WriteBackOutcome(tuple(spents), fired)

    def status(self, targets: Sequence[tuple[str, str]], now: float) -> list[CounterState]:
        """See :meth:`Ledger.status`."""
        wanted = set(targets)
        with self._lock:
            self._purge(now)
            return [
                CounterState(identity, key, bucket, counter.spent, counter.reserved)
                for (identity, key, bucket), counter in self._counters.items()
                if (identity, bucket) in wanted
            ]

    def close(self) -> None:
        """Nothing to release."""

    def _after_fork(self) -> None:
        # The parent's lock may have been held by another thread at fork time.
        self._lock = threading.Lock()


def _reinit_after_fork() -> None:
    for ledger in list(_instances):
        ledger._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
