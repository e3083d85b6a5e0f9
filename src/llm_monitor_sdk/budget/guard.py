"""The budget guard: matches a call to rules, reserves its worst case, settles or releases it.

Lifecycle of one call (driven by ``instrumentation/_call.py``)::

    res = guard.reserve({"user": ..., "tenant": ..., "feature": ..., "model": ...}, worst_case_usd)
    # enforce mode: raises BudgetExceededError here, before any network I/O, when a limit would be exceeded
    ... provider call ...
    alerts = guard.settle(res, actual_cost_usd)   # or guard.release(res) when the provider call failed

``reserve`` runs on the user's thread; with the memory store it takes one lock and touches a few dicts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import BudgetExceededError
from .ledger import WINDOW_GRACE_S, Ledger, LedgerError, Line
from .rules import SCOPES, BudgetRule, nano_to_usd, usd_to_nano
from .windows import Clock, WindowBucket, bucket_for, clock_reader

__all__ = ["AlertCallback", "BudgetGuard", "Reservation"]

logger = logging.getLogger("llm_monitor_sdk.budget")

AlertCallback = Callable[[dict[str, Any]], object]
_KEYED_SCOPES = tuple(scope for scope in SCOPES if scope != "global")
# The per-process memory of which warn-mode limit alerts were already logged stays bounded.
_MAX_REMEMBERED_ALERTS = 10_000
# Distinct (user, tenant, feature, model) combinations whose matching lines are remembered.
_MATCH_CACHE_SIZE = 4096


class Reservation:
    """Budget held for one call between ``reserve`` and ``settle``/``release``.

    Attributes:
        id: the reservation id in the store.
        lines: the counters (rule, key, window bucket) it holds budget on; empty when no rule matched.
        cost_usd: the worst-case cost that was reserved.
        expires_at: epoch seconds after which the store stops counting it.
        active: False when nothing is held (no rule matched, or the store was unreachable and the policy
            let the call through); settling it is then a no-op.
        store_error: True when the store was unreachable at reserve time.
        would_block: in warn mode, the error enforce mode would have raised; otherwise ``None``.
        alerts: alerts raised at reserve time (warn mode's ``limit`` alert); ``settle`` returns them too.
    """

    __slots__ = (
        "_done",
        "active",
        "alerts",
        "amount",
        "cost_usd",
        "expires_at",
        "id",
        "lines",
        "store_error",
        "would_block",
    )

    def __init__(
        self,
        res_id: str,
        lines: Sequence[Line],
        amount: int,
        expires_at: float,
        *,
        active: bool = True,
        store_error: bool = False,
    ) -> None:
        self.id = res_id
        self.lines = lines
        self.amount = amount
        self.cost_usd = nano_to_usd(amount)
        self.expires_at = expires_at
        self.active = active
        self.store_error = store_error
        self.would_block: BudgetExceededError | None = None
        self.alerts: list[dict[str, Any]] = []
        self._done = False

    def __repr__(self) -> str:
        return (
            f"Reservation(id={self.id!r}, cost_usd={self.cost_usd!r}, lines={len(self.lines)}, "
            f"active={self.active}, would_block={self.would_block is not None})"
        )


class _CompiledRule:
    """A rule with the values the hot path needs, computed once."""

    __slots__ = ("identity", "limit", "rule", "soft", "window")

    def __init__(self, rule: BudgetRule) -> None:
        self.rule = rule
        self.identity = rule.identity
        self.limit = rule.limit_nano
        self.soft = rule.soft_nano
        self.window = rule.window


class BudgetGuard:
    """Enforces budget rules against one ledger; thread-safe; one per process (per ``instrument()``)."""

    def __init__(
        self,
        rules: Sequence[BudgetRule],
        ledger: Ledger,
        *,
        mode: str = "enforce",
        on_alert: AlertCallback | None = None,
        on_store_error: str = "open",
        reservation_ttl_s: float = 600.0,
        clock: Clock | None = None,
        store_retry_s: float = 1.0,
        store_name: str = "memory",
    ) -> None:
        self.rules = list(rules)
        self.ledger = ledger
        self.mode = mode
        self.enforce = mode == "enforce"
        self.on_alert = on_alert
        self.on_store_error = on_store_error
        self.reservation_ttl_s = reservation_ttl_s
        self.store_name = store_name
        self._now = clock_reader(clock)
        self._store_retry_s = store_retry_s
        self._retry_at = 0.0  # time.monotonic() before which a failed store is not tried again
        self._logged_failures: set[str] = set()
        self._limit_alerted: set[tuple[str, str, str]] = set()
        self._buckets: dict[str, WindowBucket] = {}
        self._valid_from = math.inf
        self._valid_until = -math.inf
        self._match_cache: dict[tuple[Any, ...], tuple[float, tuple[Line, ...]]] = {}
        self._stats_lock = threading.Lock()
        self._stats: dict[str, int] = dict.fromkeys(
            (
                "blocked",
                "would_block",
                "settled",
                "released",
                "alerts",
                "expired_reservations",
                "store_errors",
                "allowed_on_store_error",
                "blocked_on_store_error",
            ),
            0,
        )
        compiled = [_CompiledRule(rule) for rule in self.rules]
        self._compiled = compiled
        self._global = [c for c in compiled if c.rule.scope == "global"]
        # Per scope: rules for every key, and rules for one key (looked up by the key's value).
        self._scopes: list[tuple[str, list[_CompiledRule], dict[str, list[_CompiledRule]]]] = []
        for scope in _KEYED_SCOPES:
            unkeyed = [c for c in compiled if c.rule.scope == scope and c.rule.key is None]
            keyed: dict[str, list[_CompiledRule]] = {}
            for c in compiled:
                if c.rule.scope == scope and c.rule.key is not None:
                    keyed.setdefault(c.rule.key, []).append(c)
            if unkeyed or keyed:
                self._scopes.append((scope, unkeyed, keyed))

    # ----------------------------------------------------------------------------------------- helpers
    def _bucket(self, window: str, now: float) -> WindowBucket:
        bucket = self._buckets.get(window)
        if bucket is None or not bucket.start <= now < bucket.end:
            bucket = self._buckets[window] = bucket_for(window, now)
        return bucket

    def _line(self, c: _CompiledRule, key: str, now: float) -> Line:
        bucket = self._bucket(c.window, now)
        expire_at = None if c.window == "total" else bucket.end + WINDOW_GRACE_S
        return Line(c.rule, c.identity, c.limit, c.soft, key, bucket.name, expire_at)

    def _build(self, keys: Mapping[str, str | None], now: float) -> tuple[Line, ...]:
        lines = [self._line(c, "", now) for c in self._global]
        for scope, unkeyed, keyed in self._scopes:
            value = keys.get(scope)
            if value is None:
                continue
            if not isinstance(value, str):
                value = str(value)
            for c in unkeyed:
                lines.append(self._line(c, value, now))
            for c in keyed.get(value, ()):
                lines.append(self._line(c, value, now))
        return tuple(lines)

    def _epoch(self, now: float) -> float:
        """Start of the span in which every rule's window bucket stays the same; moving out of it (a
        window rolled over, or an injected clock went back) starts a fresh match cache."""
        if not self._valid_from <= now < self._valid_until:
            buckets = [self._bucket(c.window, now) for c in self._compiled]
            self._valid_from = max(b.start for b in buckets)
            self._valid_until = min(b.end for b in buckets)
            self._match_cache = {}
        return self._valid_from

    def match(self, keys: Mapping[str, str | None], now: float | None = None) -> tuple[Line, ...]:
        """The counters a call with these keys touches: every global rule, every rule of a scope whose key
        is set, and every rule written for exactly that key. Cached per keys until a window rolls over."""
        if now is None:
            now = self._now()
        epoch = self._epoch(now)
        cache = self._match_cache
        cache_key = (keys.get("user"), keys.get("tenant"), keys.get("feature"), keys.get("model"))
        try:
            hit = cache.get(cache_key)
        except TypeError:  # an unhashable key value: match without the cache
            return self._build(keys, now)
        if hit is not None and hit[0] == epoch:
            return hit[1]
        lines = self._build(keys, now)
        if len(cache) >= _MATCH_CACHE_SIZE:
            cache.clear()
        cache[cache_key] = (epoch, lines)
        return lines

    def _count(self, name: str, by: int = 1) -> None:
        with self._stats_lock:
            self._stats[name] += by

    @staticmethod
    def _error_for(
        line: Line, spent: int | None, reserved: int | None, amount: int, reason: str
    ) -> BudgetExceededError:
        rule = line.rule
        return BudgetExceededError(
            scope=rule.scope,
            key=line.key if rule.scope != "global" else None,
            window=rule.window,
            limit_usd=rule.limit_usd,
            spent_usd=None if spent is None else nano_to_usd(spent),
            reserved_usd=None if reserved is None else nano_to_usd(reserved),
            requested_usd=nano_to_usd(amount),
            rule=str(rule),
            bucket=line.bucket,
            reason=reason,
        )

    def _alert(
        self, line: Line, kind: str, spent: int, threshold: float, requested: int = 0
    ) -> dict[str, Any]:
        rule = line.rule
        alert: dict[str, Any] = {
            "type": kind,
            "rule": str(rule),
            "scope": rule.scope,
            "key": line.key if rule.scope != "global" else None,
            "window": rule.window,
            "bucket": line.bucket,
            "limit_usd": rule.limit_usd,
            "spent_usd": nano_to_usd(spent),
            "threshold": threshold,
        }
        if kind == "limit":
            alert["requested_usd"] = nano_to_usd(requested)
        return alert

    def _emit(self, alert: dict[str, Any]) -> None:
        """Log the alert and hand it to the user's callback; the callback can never break the SDK."""
        self._count("alerts")
        who = "global" if alert["key"] is None else f"{alert['scope']} {alert['key']!r}"
        if alert["type"] == "soft":
            logger.warning(
                "budget soft limit reached for %s: $%.6f spent of $%.6f (%s, %s)",
                who,
                alert["spent_usd"],
                alert["limit_usd"],
                alert["rule"],
                alert["bucket"],
            )
        else:
            logger.warning(
                "budget limit exceeded for %s (warn mode, call allowed): $%.6f spent + $%.6f requested "
                "> $%.6f (%s, %s)",
                who,
                alert["spent_usd"],
                alert["requested_usd"],
                alert["limit_usd"],
                alert["rule"],
                alert["bucket"],
            )
        if self.on_alert is not None:
            try:
                self.on_alert(dict(alert))
            except Exception:
                logger.exception("on_budget_alert callback raised; the alert was still recorded")

    def _store_failed(self, exc: LedgerError, operation: str) -> None:
        self._count("store_errors")
        self._retry_at = time.monotonic() + self._store_retry_s
        kind = f"{operation}:{exc.kind}"
        if kind not in self._logged_failures:  # once per kind, not once per call
            self._logged_failures.add(kind)
            logger.warning("budget store %s failed during %s: %s", self.store_name, operation, exc)

    def _store_ok(self) -> None:
        if self._logged_failures:
            self._logged_failures.clear()
            logger.warning("budget store %s is reachable again", self.store_name)

    def _unguarded(self, lines: Sequence[Line], amount: int, now: float) -> Reservation:
        """Reserve without the store: fail open (or warn mode) lets the call through, fail closed blocks."""
        if self.enforce and self.on_store_error == "closed":
            self._count("blocked")
            self._count("blocked_on_store_error")
            raise self._error_for(lines[0], None, None, amount, "store_unavailable")
        self._count("allowed_on_store_error")
        return Reservation("", lines, amount, now, active=False, store_error=True)

    # --------------------------------------------------------------------------------------- lifecycle
    def reserve(self, keys: Mapping[str, str | None], cost_usd: float | None) -> Reservation:
        """Hold ``cost_usd`` (the call's worst case) on every matching rule, atomically.

        Enforce mode raises :class:`BudgetExceededError` when any matching rule's spent + reserved + cost
        would exceed its limit, and nothing is held. Warn mode never raises: the reservation is held and
        ``would_block`` carries the error enforce mode would have raised. ``cost_usd=None`` (the model's
        price is unknown) reserves nothing but still blocks when a matching rule is already over its limit.
        """
        now = self._now()
        amount = (
            usd_to_nano(cost_usd) if cost_usd is not None and cost_usd > 0 and math.isfinite(cost_usd) else 0
        )
        lines = self.match(keys, now)
        if not lines:
            return Reservation("", lines, amount, now, active=False)
        if self._retry_at and time.monotonic() < self._retry_at:
            return self._unguarded(lines, amount, now)
        res_id = self.ledger.new_id()
        expires_at = now + self.reservation_ttl_s
        try:
            outcome = self.ledger.reserve(lines, amount, res_id, now, expires_at, self.enforce)
        except LedgerError as exc:
            self._store_failed(exc, "reserve")
            return self._unguarded(lines, amount, now)
        self._retry_at = 0.0
        self._store_ok()
        if outcome.expired:
            self._count("expired_reservations", outcome.expired)
        if outcome.blocked >= 0:
            line = lines[outcome.blocked]
            error = self._error_for(line, outcome.spent, outcome.reserved, amount, "limit")
            if self.enforce:
                self._count("blocked")
                raise error
            self._count("would_block")
            res = Reservation(res_id, lines, amount, expires_at)
            res.would_block = error
            alert = self._alert(line, "limit", outcome.spent + outcome.reserved, 1.0, amount)
            res.alerts.append(alert)
            with self._stats_lock:  # log and call back once per rule, key and window in this process
                first = line.counter not in self._limit_alerted
                if first:
                    if len(self._limit_alerted) >= _MAX_REMEMBERED_ALERTS:
                        self._limit_alerted.clear()
                    self._limit_alerted.add(line.counter)
            if first:
                self._emit(alert)
            return res
        return Reservation(res_id, lines, amount, expires_at)

    def settle(self, res: Reservation, actual_cost_usd: float | None) -> list[dict[str, Any]]:
        """Replace the reservation by the real cost and return the alerts this call raised.

        ``actual_cost_usd=None`` (the price is unknown) settles at the reserved worst case: the guard
        cannot prove the call cost less. A reservation that already expired still records its spend.
        Soft alerts fire once per rule, key and window across every process sharing the store; each is
        logged, passed to ``on_alert`` and returned. Settling twice is a no-op.
        """
        if res._done:
            return []
        res._done = True
        alerts = list(res.alerts)
        if not res.active:
            return alerts
        if actual_cost_usd is None:
            actual = res.amount
        else:
            actual = (
                usd_to_nano(actual_cost_usd) if actual_cost_usd > 0 and math.isfinite(actual_cost_usd) else 0
            )
        try:
            fired = self.ledger.settle(res.lines, res.amount, res.id, actual, self._now())
        except LedgerError as exc:
            self._store_failed(exc, "settle")
            return alerts
        self._count("settled")
        for index, spent in fired:
            line = res.lines[index]
            alert = self._alert(line, "soft", spent, line.rule.soft)
            alerts.append(alert)
            self._emit(alert)
        return alerts

    def release(self, res: Reservation) -> None:
        """Return the reservation unspent (the provider call failed). Releasing twice is a no-op."""
        if res._done:
            return
        res._done = True
        if not res.active:
            return
        try:
            self.ledger.release(res.lines, res.amount, res.id, self._now())
        except LedgerError as exc:
            self._store_failed(exc, "release")
            return
        self._count("released")

    # ------------------------------------------------------------------------------------- visibility
    @property
    def stats(self) -> dict[str, int]:
        """Counters since start: ``blocked`` (including ``blocked_on_store_error``),
        ``would_block`` (warn mode), ``settled``, ``released``, ``alerts``, ``expired_reservations``,
        ``store_errors``, ``allowed_on_store_error``, ``blocked_on_store_error``."""
        with self._stats_lock:
            return dict(self._stats)

    def status(self) -> list[dict[str, Any]]:
        """Spend, reserved and limit per rule and key in the current windows, read from the store.

        Raises :class:`LedgerError` when the store cannot be read.
        """
        now = self._now()
        targets = [(c.identity, self._bucket(c.window, now).name) for c in self._compiled]
        states = self.ledger.status(targets, now)
        by_target: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
        for state in states:
            by_target.setdefault((state.identity, state.bucket), []).append(
                (state.key, state.spent, state.reserved)
            )
        rows: list[dict[str, Any]] = []
        for c, target in zip(self._compiled, targets, strict=True):
            found = sorted(by_target.get(target, []))
            if not found and (c.rule.scope == "global" or c.rule.key is not None):
                found = [(c.rule.key or "", 0, 0)]
            for key, spent, reserved in found:
                limit = c.rule.limit_usd
                used = spent + reserved
                rows.append(
                    {
                        "rule": str(c.rule),
                        "scope": c.rule.scope,
                        "key": None if c.rule.scope == "global" else key,
                        "window": c.window,
                        "bucket": target[1],
                        "spent_usd": nano_to_usd(spent),
                        "reserved_usd": nano_to_usd(reserved),
                        "limit_usd": limit,
                        "remaining_usd": max(0.0, nano_to_usd(c.limit - used)),
                        "used_fraction": (used / c.limit) if c.limit else (1.0 if used else 0.0),
                    }
                )
        return rows

    def close(self) -> None:
        """Close the store's connections."""
        self.ledger.close()
