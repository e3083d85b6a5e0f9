"""The one small interface every budget store implements, and the types it exchanges.

A ledger keeps, per *counter* (a rule identity, a key and a window bucket), the settled spend, the
reservations still in flight (each with an expiry time) and whether the soft alert already fired. All
amounts are integer nano-dollars. Each method is one atomic step across all the lines it is given:
either every line is reserved or none is.

Ledgers translate their driver's errors (``sqlite3.Error``, ``redis.RedisError``, ``OSError``) into
:class:`LedgerError` at their edge; the guard applies the fail-open / fail-closed policy.

A shared store (SQLite, Redis) also has an *epoch*: a random id kept in the store itself. A store that
lost its data (a Redis restarted without persistence, a flushed database) comes back without it, or
with another one, and every ledger operation given the epoch the caller last saw refuses to act on a
store whose epoch differs (``applied=False``): the guard then restores what it knew before it trusts
the store again (see ``guard.py``). An empty ``epoch`` argument means "any" (first contact).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from .rules import BudgetRule

__all__ = [
    "WINDOW_GRACE_S",
    "CounterState",
    "IdSource",
    "Ledger",
    "LedgerError",
    "Line",
    "ReserveOutcome",
    "SettleOutcome",
    "WriteBackOutcome",
]

# Counters outlive their window by this much, so a call reserved just before midnight can still settle.
WINDOW_GRACE_S = 3600.0


class IdSource:
    """Ids unique across processes and hosts without a random draw per call (``os.urandom`` costs
    microseconds on a busy host): a random prefix per process plus a counter. :meth:`reset` in a forked
    child, or parent and child would hand out the same ids."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A fresh prefix and counter (call it in a forked child)."""
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count(1)

    def next(self) -> str:
        """The next id."""
        return f"{self._prefix}{next(self._counter):x}"

    def epoch_proposal(self) -> str:
        """A fresh epoch for a store that has none: never one this process proposed before."""
        return f"{self._prefix}-{time.time_ns():x}-{next(self._counter):x}"


class LedgerError(Exception):
    """The budget store could not be reached or failed; ``kind`` names the failure for once-only logging."""

    def __init__(self, message: str, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind


class Line:
    """One counter a reservation touches: ``rule`` applied to ``key`` in window ``bucket``.

    ``identity``, ``limit`` and ``soft`` are the rule's, precomputed once by the guard (nano-dollars).
    """

    __slots__ = ("bucket", "counter", "expire_at", "identity", "key", "limit", "rule", "soft")

    def __init__(
        self,
        rule: BudgetRule,
        identity: str,
        limit: int,
        soft: int,
        key: str,
        bucket: str,
        expire_at: float | None,
    ) -> None:
        self.rule = rule
        self.identity = identity
        self.limit = limit
        self.soft = soft
        # "" for global (it has no key); ledgers store it as-is.
        self.key = key
        self.bucket = bucket
        # Epoch seconds after which the store may forget this counter; None for the "total" window.
        self.expire_at = expire_at
        # The counter's identity in the store.
        self.counter = (identity, key, bucket)

    @classmethod
    def of(cls, rule: BudgetRule, key: str, bucket: str, expire_at: float | None) -> Line:
        """A line computing the rule's identity and amounts (the guard uses a precomputed path)."""
        return cls(rule, rule.identity, rule.limit_nano, rule.soft_nano, key, bucket, expire_at)

    def __repr__(self) -> str:
        return f"Line({self.identity!r}, key={self.key!r}, bucket={self.bucket!r}, limit={self.limit})"


class ReserveOutcome(NamedTuple):
    """What a reserve did: ``blocked`` is the index of the first line that would go over its limit
    (``-1`` when none); ``spent``/``reserved`` are that line's totals before this call; ``expired`` counts
    reservations this step found expired and purged; ``spents`` is every line's settled spend before
    this call (the guard's last known spend); ``epoch`` is the store's epoch; ``applied`` is False when
    that epoch is not the one the caller passed (then nothing was checked or held)."""

    blocked: int
    spent: int
    reserved: int
    expired: int
    spents: tuple[int, ...] = ()
    epoch: str = ""
    applied: bool = True


class SettleOutcome(NamedTuple):
    """What a settle or release did: ``fired`` holds ``(line index, spent after)`` for each line whose soft
    threshold this call crossed first in its window; ``spents`` is every line's spend after the call
    (empty for a release); ``applied`` is False when the store's epoch differed (nothing was done)."""

    fired: list[tuple[int, int]]
    spents: tuple[int, ...] = ()
    applied: bool = True


class WriteBackOutcome(NamedTuple):
    """What a write-back did: ``spents`` is every line's spend afterwards, ``fired`` as in
    :class:`SettleOutcome`; ``applied`` is False when the store's epoch differed (nothing was written)."""

    spents: tuple[int, ...]
    fired: list[tuple[int, int]]
    applied: bool = True


class CounterState(NamedTuple):
    """A counter as ``status`` reports it; ``reserved`` excludes expired reservations."""

    identity: str
    key: str
    bucket: str
    spent: int
    reserved: int


class Ledger(Protocol):
    """Where budget counters live: in memory, in SQLite, or in Redis.

    ``shared`` is True for stores other processes use too (and that can therefore be unreachable).
    """

    shared: bool

    def new_id(self) -> str:
        """A reservation id unique across every process sharing this store."""
        ...

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
        """Atomically: purge expired reservations of these counters, then, unless ``enforce`` and some line
        has ``spent + reserved + amount > limit``, hold ``amount`` on every line until ``expires_at``."""
        ...

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """Atomically drop the reservation (when not yet expired) and add ``actual`` to every line's spend.
        Soft alerts fire once per counter, across all processes."""
        ...

    def release(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """Atomically drop the reservation and spend nothing."""
        ...

    def probe(self, proposal: str) -> str:
        """The store's epoch, set to ``proposal`` first when the store has none (it is new, or lost its
        data). Cheap; raises :class:`LedgerError` when the store is unreachable."""
        ...

    def write_back(
        self, entries: Sequence[tuple[Line, int, int]], epoch: str, now: float
    ) -> WriteBackOutcome:
        """Atomically, for each ``(line, floor, add)``: add ``add`` (spend settled while the store was
        unreachable) to the line's spend, and make ``floor`` (the spend this process knew before the store
        lost its data) count: the store remembers the largest floor any process restored in this epoch
        and raising it adds the difference, so the spend ends as that largest floor plus every addition,
        in whatever order processes write. A floor that reaches the soft threshold marks the alert as
        fired without firing it (it fired before the data was lost); an ``add`` that crosses it fires it."""
        ...

    def status(self, targets: Sequence[tuple[str, str]], now: float) -> list[CounterState]:
        """Counters of the given ``(rule identity, bucket)`` pairs, every key the store holds."""
        ...

    def close(self) -> None:
        """Release connections; the ledger is not used afterwards."""
        ...
