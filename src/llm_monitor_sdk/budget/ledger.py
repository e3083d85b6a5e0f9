"""The one small interface every budget store implements, and the types it exchanges.

A ledger keeps, per *counter* (a rule identity, a key and a window bucket), the settled spend, the
reservations still in flight (each with an expiry time) and whether the soft alert already fired. All
amounts are integer nano-dollars. Each method is one atomic step across all the lines it is given:
either every line is reserved or none is.

Ledgers translate their driver's errors (``sqlite3.Error``, ``redis.RedisError``, ``OSError``) into
:class:`LedgerError` at their edge; the guard applies the fail-open / fail-closed policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from .rules import BudgetRule

__all__ = ["WINDOW_GRACE_S", "CounterState", "Ledger", "LedgerError", "Line", "ReserveOutcome"]

# Counters outlive their window by this much, so a call reserved just before midnight can still settle.
WINDOW_GRACE_S = 3600.0


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
    reservations this step found expired and purged."""

    blocked: int
    spent: int
    reserved: int
    expired: int


class CounterState(NamedTuple):
    """A counter as ``status`` reports it; ``reserved`` excludes expired reservations."""

    identity: str
    key: str
    bucket: str
    spent: int
    reserved: int


class Ledger(Protocol):
    """Where budget counters live: in memory, in SQLite, or in Redis."""

    def new_id(self) -> str:
        """A reservation id unique across every process sharing this store."""
        ...

    def reserve(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, expires_at: float, enforce: bool
    ) -> ReserveOutcome:
        """Atomically: purge expired reservations of these counters, then, unless ``enforce`` and some line
        has ``spent + reserved + amount > limit``, hold ``amount`` on every line until ``expires_at``."""
        ...

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float
    ) -> list[tuple[int, int]]:
        """Atomically drop the reservation (when not yet expired) and add ``actual`` to every line's spend.
        Returns ``(line index, spent after)`` for each line whose soft threshold this call crossed first in
        its window (once per counter, across all processes)."""
        ...

    def release(self, lines: Sequence[Line], amount: int, res_id: str, now: float) -> None:
        """Atomically drop the reservation and spend nothing."""
        ...

    def status(self, targets: Sequence[tuple[str, str]], now: float) -> list[CounterState]:
        """Counters of the given ``(rule identity, bucket)`` pairs, every key the store holds."""
        ...

    def close(self) -> None:
        """Release connections; the ledger is not used afterwards."""
        ...
