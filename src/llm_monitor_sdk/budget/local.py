"""This process's own view of a shared budget store's counters: what the guard enforces from while the
store is unreachable, and the spend it still has to write back.

Per counter (rule, key, window bucket) it keeps:

- ``known``: the settled spend the store last reported (every reserve and settle reads it anyway),
- ``reserved``: the worst cases of this process's calls in flight, held in the store or locally,
- ``pending``: spend settled while the store was unreachable, not yet written back,
- the counter's latest :class:`Line` (to write it back and to judge soft alerts).

While the store is unreachable a call is checked against ``known + pending + reserved``: this process
never goes over a limit on its own, and a limit already reached stays reached. What it cannot see is
what *other* processes spend meanwhile, which bounds the overspend (``docs/budgets.md``).

Not thread-safe by itself: the guard holds its lock around every method. At most ``max_counters``
counters are remembered (least recently used ones without pending spend or calls in flight go first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from .ledger import Line, ReserveOutcome

__all__ = ["DEFAULT_MAX_COUNTERS", "LocalLedger"]

#: Counters whose last known spend is remembered.
DEFAULT_MAX_COUNTERS = 20_000


class _Local:
    __slots__ = ("known", "line", "pending", "reserved")

    def __init__(self, line: Line) -> None:
        self.line = line
        self.known = 0
        self.reserved = 0
        self.pending = 0


class LocalLedger:
    """Last known spend, in-flight worst cases and unwritten outage spend per counter."""

    def __init__(self, max_counters: int = DEFAULT_MAX_COUNTERS) -> None:
        self.max_counters = max_counters
        self.counters: OrderedDict[tuple[str, str, str], _Local] = OrderedDict()
        # Reservations held in the store whose settle or release failed: removed from the store once it
        # is back (id -> (amount, lines)), so they do not hold budget there until their TTL ends.
        self.drops: dict[str, tuple[int, Sequence[Line]]] = {}

    # ------------------------------------------------------------------------------------- bookkeeping
    def _get(self, line: Line) -> _Local:
        counters = self.counters
        entry = counters.get(line.counter)
        if entry is None:
            entry = counters[line.counter] = _Local(line)
            if len(counters) > self.max_counters:
                self._evict()
        else:
            entry.line = line
            counters.move_to_end(line.counter)
        return entry

    def _evict(self) -> None:
        counters = self.counters
        # Least recently used first; a counter with calls in flight or unwritten spend is kept (moved to
        # the end), so this looks at each entry at most once.
        for _ in range(len(counters)):
            if len(counters) <= self.max_counters:
                return
            key, entry = next(iter(counters.items()))
            if entry.reserved > 0 or entry.pending > 0:
                counters.move_to_end(key)
            else:
                del counters[key]

    def seen(self, lines: Sequence[Line], spents: Sequence[int]) -> None:
        """The store reported these spends (a reserve that held nothing, a release)."""
        for line, spent in zip(lines, spents, strict=False):
            entry = self._get(line)
            if spent > entry.known:
                entry.known = spent

    def held(self, lines: Sequence[Line], amount: int, spents: Sequence[int]) -> None:
        """The store holds ``amount`` for this process on every line; it reported these spends."""
        for index, line in enumerate(lines):
            entry = self._get(line)
            entry.reserved += amount
            if index < len(spents) and spents[index] > entry.known:
                entry.known = spents[index]

    def finished(self, lines: Sequence[Line], amount: int, spents: Sequence[int] = ()) -> None:
        """A call holding ``amount`` settled or was released in the store (which reported ``spents``)."""
        for index, line in enumerate(lines):
            entry = self._get(line)
            entry.reserved = max(0, entry.reserved - amount)
            if index < len(spents) and spents[index] > entry.known:
                entry.known = spents[index]

    # ------------------------------------------------------------------------- while the store is away
    def reserve(self, lines: Sequence[Line], amount: int, enforce: bool) -> ReserveOutcome:
        """The local check: block (enforce) when ``known + pending + reserved + amount`` exceeds a limit;
        otherwise hold ``amount`` on every line."""
        entries = [self._get(line) for line in lines]
        blocked, b_spent, b_reserved = -1, 0, 0
        for index, (line, entry) in enumerate(zip(lines, entries, strict=True)):
            spent = entry.known + entry.pending
            if spent + entry.reserved + amount > line.limit:
                blocked, b_spent, b_reserved = index, spent, entry.reserved
                break
        if blocked < 0 or not enforce:
            for entry in entries:
                entry.reserved += amount
        spents = tuple(entry.known + entry.pending for entry in entries)
        return ReserveOutcome(blocked, b_spent, b_reserved, 0, spents)

    def settle(self, lines: Sequence[Line], amount: int, actual: int) -> None:
        """A call settled while the store is unreachable: its spend waits here to be written back."""
        for line in lines:
            entry = self._get(line)
            entry.reserved = max(0, entry.reserved - amount)
            entry.pending += actual

    def release(self, lines: Sequence[Line], amount: int) -> None:
        """A call released while the store is unreachable."""
        for line in lines:
            entry = self._get(line)
            entry.reserved = max(0, entry.reserved - amount)

    def drop_later(self, res_id: str, amount: int, lines: Sequence[Line]) -> None:
        """Remember to remove a reservation from the store once it is back."""
        if len(self.drops) < self.max_counters:
            self.drops[res_id] = (amount, lines)

    # --------------------------------------------------------------------------------------- recovery
    def pending_entries(self, reset: bool) -> list[tuple[Line, int, int]]:
        """What to write back: ``(line, floor, add)``. Normally only counters with pending spend (floor 0);
        after the store lost its data (``reset``) every counter, with its last known spend as floor."""
        if reset:
            return [
                (entry.line, entry.known, entry.pending)
                for entry in self.counters.values()
                if entry.known > 0 or entry.pending > 0
            ]
        return [(entry.line, 0, entry.pending) for entry in self.counters.values() if entry.pending > 0]

    def written(self, entries: Sequence[tuple[Line, int, int]], spents: Sequence[int]) -> None:
        """These entries reached the store, which now holds ``spents``."""
        for (line, _floor, add), spent in zip(entries, spents, strict=True):
            entry = self._get(line)
            entry.pending = max(0, entry.pending - add)
            if spent > entry.known:
                entry.known = spent

    def has_pending(self) -> bool:
        """Spend or removals still to write back."""
        return bool(self.drops) or any(entry.pending > 0 for entry in self.counters.values())

    def pending_total(self) -> tuple[int, int]:
        """(nano-dollars not yet written back, counters they are on)."""
        amounts = [entry.pending for entry in self.counters.values() if entry.pending > 0]
        return sum(amounts), len(amounts)

    def forget_in_flight(self) -> None:
        """In a forked child: the parent's calls in flight and unwritten spend are the parent's."""
        for entry in self.counters.values():
            entry.reserved = 0
            entry.pending = 0
        self.drops.clear()
