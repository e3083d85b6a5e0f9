"""The budget guard: matches a call to rules, reserves its worst case, settles or releases it.

Lifecycle of one call (driven by ``instrumentation/_call.py``)::

    res = guard.reserve({"user": ..., "tenant": ..., "feature": ..., "model": ...}, worst_case_usd)
    # enforce mode: raises BudgetExceededError here, before any network I/O, when a limit would be exceeded
    ... provider call ...
    alerts = guard.settle(res, actual_cost_usd)   # or guard.release(res) when the provider call failed

``reserve`` runs on the user's thread; with the memory store it takes one lock and touches a few dicts.

Shared stores (SQLite, Redis) can be unreachable. The guard then opens its *breaker*: calls stop
touching the store and are checked against this process's :class:`~.local.LocalLedger` (the last known
spend plus what this process spent and holds since) under the ``open`` policy, or blocked under
``closed``; spend settled meanwhile is kept there. A background thread probes the store (backoff up to
``store_retry_s``) and, once it answers, writes the outage spend back and closes the breaker. Every store
operation carries the store's *epoch*: a store that came back without its data is detected, and the
last known spend of every counter is restored (as a floor) before calls use it again. Each store
operation gives up after the store's timeout (Redis: 0.1 s per network step), so no call waits longer
for a dead or frozen store; once the breaker is open, calls do not wait for it at all.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._secrets import mask_text
from ..errors import BudgetExceededError
from .ledger import WINDOW_GRACE_S, Ledger, LedgerError, Line, ReserveOutcome
from .local import LocalLedger
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
# Counters written back per store operation after an outage.
_WRITE_BACK_CHUNK = 200
# First pause before probing an unreachable store; it doubles up to ``store_retry_s``.
_FIRST_PROBE_S = 0.05

_guards: weakref.WeakSet[BudgetGuard] = weakref.WeakSet()


class Reservation:
    """Budget held for one call between ``reserve`` and ``settle``/``release``.

    Attributes:
        id: the reservation id in the store.
        lines: the counters (rule, key, window bucket) it holds budget on; empty when no rule matched.
        cost_usd: the worst-case cost that was reserved.
        expires_at: epoch seconds after which the store stops counting it.
        active: False when nothing is held (no rule matched); settling it is then a no-op.
        store_error: True when the store was unreachable at reserve time (the call was checked against
            this process's local ledger instead).
        local: True when the budget is held in this process's local ledger, not in the store.
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
        "local",
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
        local: bool = False,
    ) -> None:
        self.id = res_id
        self.lines = lines
        self.amount = amount
        self.cost_usd = nano_to_usd(amount)
        self.expires_at = expires_at
        self.active = active
        self.store_error = store_error
        self.local = local
        self.would_block: BudgetExceededError | None = None
        self.alerts: list[dict[str, Any]] = []
        self._done = False

    def __repr__(self) -> str:
        return (
            f"Reservation(id={self.id!r}, cost_usd={self.cost_usd!r}, lines={len(self.lines)}, "
            f"active={self.active}, local={self.local}, would_block={self.would_block is not None})"
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
        self.store_name = mask_text(store_name)
        self._now = clock_reader(clock)
        self._store_retry_s = store_retry_s
        self._shared = bool(getattr(ledger, "shared", True))
        # The breaker and the local ledger, all under self._lock (never held across store I/O).
        self._lock = threading.Lock()
        self._local = LocalLedger()
        self._healthy = True
        self._store_epoch = ""  # the store's epoch as this process last saw it ("" before the first contact)
        self._outage_since = 0.0
        self._outage_reset = False
        self._probe_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False
        self._pid = os.getpid()
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
                "store_outages",
                "store_resets",
                "allowed_on_store_error",
                "blocked_on_store_error",
                "local_settles",
                "written_back",
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
        _guards.add(self)

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

    # ----------------------------------------------------------------------------------------- breaker
    def _open_breaker(self, reason: str, *, reset: bool = False) -> bool:
        """Stop using the store (caller holds ``self._lock``); True when this starts a new outage."""
        if reset:
            self._outage_reset = True
        if not self._healthy:
            return False
        self._healthy = False
        self._outage_since = time.monotonic()
        return True

    def _announce_outage(self, started: bool, reason: str, operation: str, *, reset: bool = False) -> None:
        """Log (once per outage), count, and make sure a probe is running; never under ``self._lock``."""
        if started:
            self._count("store_outages")
            if reset:
                self._count("store_resets")
                logger.warning(
                    "budget store %s came back without its data (its epoch changed); budgets are enforced "
                    "locally until the last known spend is restored",
                    self.store_name,
                )
            else:
                policy = (
                    "blocking budgeted calls (LLM_MONITOR_BUDGET_ON_STORE_ERROR=closed)"
                    if self.enforce and self.on_store_error == "closed"
                    else "enforcing budgets from this process's last known spend"
                )
                logger.warning(
                    "budget store %s failed during %s: %s; %s until it is back",
                    self.store_name,
                    operation,
                    mask_text(reason),
                    policy,
                )
        elif reset:
            self._count("store_resets")
        self._ensure_probe()

    def _store_failed(self, exc: LedgerError, operation: str) -> None:
        self._count("store_errors")
        with self._lock:
            started = self._open_breaker(str(exc))
        self._announce_outage(started, str(exc), operation)

    def _ensure_probe(self) -> None:
        with self._lock:
            if self._closed or self._healthy:
                return
            thread = self._probe_thread
            if thread is not None and thread.is_alive() and self._pid == os.getpid():
                return
            thread = threading.Thread(target=self._probe_loop, name="llm-monitor-budget-probe", daemon=True)
            self._probe_thread = thread
        thread.start()

    def _probe_loop(self) -> None:
        delay = min(_FIRST_PROBE_S, self._store_retry_s) or 0.01
        stop = self._stop
        while not stop.wait(delay):
            try:
                if self._recover():
                    return
                delay = 0.01  # more outage spend arrived while writing back: go again soon
            except LedgerError as exc:
                logger.debug("budget store %s still unreachable: %s", self.store_name, mask_text(str(exc)))
                delay = max(0.01, min(delay * 2, self._store_retry_s))
            except Exception as exc:
                from .._guard import report_internal_error

                report_internal_error("budget.recover", exc)
                delay = max(0.01, self._store_retry_s)

    def _recover(self) -> bool:
        """Probe the store; when it answers, write back what the outage left and close the breaker.

        True when the breaker is closed. Raises :class:`LedgerError` while the store is unreachable.
        """
        current = self.ledger.probe(uuid.uuid4().hex)
        with self._lock:
            known_epoch = self._store_epoch
            reset = bool(known_epoch) and current != known_epoch
            counted = self._outage_reset
            self._outage_reset = self._outage_reset or reset
            entries = self._local.pending_entries(reset)
            if reset:
                self._local.drops.clear()  # the reservations they would remove are gone with the data
            drops = list(self._local.drops.items())
        if reset and not counted:
            self._count("store_resets")
        now = self._now()
        written = 0
        for start in range(0, len(entries), _WRITE_BACK_CHUNK):
            chunk = entries[start : start + _WRITE_BACK_CHUNK]
            outcome = self.ledger.write_back(chunk, current, now)
            if not outcome.applied:
                return False  # the epoch changed again meanwhile: start over
            with self._lock:
                self._local.written(chunk, outcome.spents)
            written += sum(add for _, _, add in chunk)
            self._count("written_back", sum(1 for _, _, add in chunk if add > 0))
            for index, spent in outcome.fired:
                line = chunk[index][0]
                self._emit(self._alert(line, "soft", spent, line.rule.soft))
        for res_id, (amount, lines) in drops:
            self.ledger.release(lines, amount, res_id, now, current)
            with self._lock:
                self._local.drops.pop(res_id, None)
        with self._lock:
            self._store_epoch = current
            if self._local.has_pending():
                return False
            self._healthy = True
            self._outage_reset = False
            took = time.monotonic() - self._outage_since
        restored = f"; restored the last known spend of {len(entries)} counter(s)" if reset else ""
        logger.warning(
            "budget store %s is reachable again after %.1f s; wrote back $%.6f spent meanwhile%s",
            self.store_name,
            took,
            nano_to_usd(written),
            restored,
        )
        return True

    @property
    def store_healthy(self) -> bool:
        """False while the store is unreachable (or being restored) and calls use the local ledger."""
        return self._healthy

    # --------------------------------------------------------------------------------------- lifecycle
    def _finish_reserve(
        self,
        lines: Sequence[Line],
        outcome: ReserveOutcome,
        res_id: str,
        amount: int,
        expires_at: float,
        *,
        local: bool,
    ) -> Reservation:
        """Blocked, warn-mode or plain reservation from a store's (or the local ledger's) outcome."""
        if outcome.blocked >= 0:
            line = lines[outcome.blocked]
            error = self._error_for(line, outcome.spent, outcome.reserved, amount, "limit")
            if self.enforce:
                self._count("blocked")
                raise error
            self._count("would_block")
            res = Reservation(res_id, lines, amount, expires_at, store_error=local, local=local)
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
        return Reservation(res_id, lines, amount, expires_at, store_error=local, local=local)

    def _reserve_locally(self, lines: Sequence[Line], amount: int, now: float) -> Reservation | None:
        """Reserve while the store is unreachable; ``None`` when it came back meanwhile."""
        closed = self.enforce and self.on_store_error == "closed"
        with self._lock:
            if self._healthy:
                return None
            if not closed:
                outcome = self._local.reserve(lines, amount, self.enforce)
        self._ensure_probe()
        if closed:
            self._count("blocked")
            self._count("blocked_on_store_error")
            raise self._error_for(lines[0], None, None, amount, "store_unavailable")
        if outcome.blocked < 0 or not self.enforce:
            self._count("allowed_on_store_error")
        return self._finish_reserve(
            lines, outcome, self.ledger.new_id(), amount, now + self.reservation_ttl_s, local=True
        )

    def reserve(self, keys: Mapping[str, str | None], cost_usd: float | None) -> Reservation:
        """Hold ``cost_usd`` (the call's worst case) on every matching rule, atomically.

        Enforce mode raises :class:`BudgetExceededError` when any matching rule's spent + reserved + cost
        would exceed its limit, and nothing is held. Warn mode never raises: the reservation is held and
        ``would_block`` carries the error enforce mode would have raised. ``cost_usd=None`` (the model's
        price is unknown) reserves nothing but still blocks when a matching rule is already over its limit.
        While the store is unreachable the same check runs against the local ledger (policy ``open``) or
        the call is blocked with reason ``store_unavailable`` (policy ``closed``).
        """
        now = self._now()
        amount = (
            usd_to_nano(cost_usd) if cost_usd is not None and cost_usd > 0 and math.isfinite(cost_usd) else 0
        )
        lines = self.match(keys, now)
        if not lines:
            return Reservation("", lines, amount, now, active=False)
        if not self._healthy:
            res = self._reserve_locally(lines, amount, now)
            if res is not None:
                return res
        res_id = self.ledger.new_id()
        expires_at = now + self.reservation_ttl_s
        try:
            outcome = self.ledger.reserve(
                lines, amount, res_id, now, expires_at, self.enforce, self._store_epoch
            )
        except LedgerError as exc:
            with self._lock:
                # A timeout leaves it open whether the store held the budget: remove it once it is back.
                self._local.drop_later(res_id, amount, lines)
            self._store_failed(exc, "reserve")
            return self._reserve_now_or_locally(lines, amount, now)
        if not outcome.applied:  # the store lost its data: restore before trusting it
            with self._lock:
                started = self._open_breaker("epoch changed", reset=True)
            self._announce_outage(started, "epoch changed", "reserve", reset=True)
            return self._reserve_now_or_locally(lines, amount, now)
        if self._shared:
            with self._lock:
                if not self._store_epoch:
                    self._store_epoch = outcome.epoch
                if outcome.blocked >= 0 and self.enforce:
                    self._local.seen(lines, outcome.spents)
                else:
                    self._local.held(lines, amount, outcome.spents)
        if outcome.expired:
            self._count("expired_reservations", outcome.expired)
        return self._finish_reserve(lines, outcome, res_id, amount, expires_at, local=False)

    def _reserve_now_or_locally(self, lines: Sequence[Line], amount: int, now: float) -> Reservation:
        res = self._reserve_locally(lines, amount, now)
        if res is None:  # the probe already closed the breaker: check with the local ledger anyway
            with self._lock:
                outcome = self._local.reserve(lines, amount, self.enforce)
            res = self._finish_reserve(
                lines, outcome, self.ledger.new_id(), amount, now + self.reservation_ttl_s, local=True
            )
        return res

    def _spent_locally(self, res: Reservation, actual: int | None) -> bool:
        """Record a settle (``actual``) or release (``None``) in the local ledger when the store is
        unreachable; False when it is healthy (the caller then uses the store)."""
        with self._lock:
            if self._healthy:
                return False
            self._keep_locally(res, actual)
        return True

    def _keep_locally(self, res: Reservation, actual: int | None) -> None:
        # Caller holds self._lock.
        if actual is None:
            self._local.release(res.lines, res.amount)
        else:
            self._local.settle(res.lines, res.amount, actual)
        if not res.local:
            self._local.drop_later(res.id, res.amount, res.lines)

    def settle(self, res: Reservation, actual_cost_usd: float | None) -> list[dict[str, Any]]:
        """Replace the reservation by the real cost and return the alerts this call raised.

        ``actual_cost_usd=None`` (the price is unknown) settles at the reserved worst case: the guard
        cannot prove the call cost less. A reservation that already expired still records its spend.
        Soft alerts fire once per rule, key and window across every process sharing the store; each is
        logged, passed to ``on_alert`` and returned. Settling twice is a no-op. While the store is
        unreachable the spend is kept in the local ledger and written back when it is reachable again.
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
        if not self._healthy and self._spent_locally(res, actual):
            self._count("local_settles")
            return alerts
        try:
            outcome = self.ledger.settle(
                res.lines, res.amount, res.id, actual, self._now(), self._store_epoch
            )
        except LedgerError as exc:
            self._count("store_errors")
            with self._lock:
                started = self._open_breaker(str(exc))
                self._keep_locally(res, actual)
            self._count("local_settles")
            self._announce_outage(started, str(exc), "settle")
            return alerts
        if not outcome.applied:
            with self._lock:
                started = self._open_breaker("epoch changed", reset=True)
                self._keep_locally(res, actual)
            self._count("local_settles")
            self._announce_outage(started, "epoch changed", "settle", reset=True)
            return alerts
        if self._shared:
            with self._lock:
                self._local.finished(res.lines, res.amount, outcome.spents)
        self._count("settled")
        for index, spent in outcome.fired:
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
        if not self._healthy and self._spent_locally(res, None):
            return
        try:
            outcome = self.ledger.release(res.lines, res.amount, res.id, self._now(), self._store_epoch)
        except LedgerError as exc:
            self._count("store_errors")
            with self._lock:
                started = self._open_breaker(str(exc))
                self._keep_locally(res, None)
            self._announce_outage(started, str(exc), "release")
            return
        if self._shared:
            with self._lock:
                self._local.finished(res.lines, res.amount, outcome.spents)
        self._count("released")

    # ------------------------------------------------------------------------------------- visibility
    @property
    def stats(self) -> dict[str, int]:
        """Counters since start: ``blocked`` (including ``blocked_on_store_error``), ``would_block``
        (warn mode), ``settled``, ``released``, ``alerts``, ``expired_reservations``, ``store_errors``
        (failed store operations of calls), ``store_outages`` (times the breaker opened),
        ``store_resets`` (the store came back without its data), ``allowed_on_store_error`` (calls let
        through by the local ledger), ``blocked_on_store_error`` (policy ``closed``), ``local_settles``
        (spend kept locally during an outage) and ``written_back`` (counters written back after one)."""
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
        """Stop the probe, make one last attempt to write back outage spend, close the store's connections.

        Spend that still cannot be written back is logged with its amount (it is lost to the store).
        """
        with self._lock:
            self._closed = True
            thread = self._probe_thread
            outage = not self._healthy
        self._stop.set()
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout=1.0)
        if outage:
            try:
                self._recover()
            except Exception as exc:  # the store is still away: say what is lost
                logger.debug(
                    "budget store %s: last write-back failed: %s", self.store_name, mask_text(str(exc))
                )
            with self._lock:
                lost, counters = self._local.pending_total()
            if lost:
                logger.warning(
                    "budget store %s is unreachable at shutdown: $%.6f spent during the outage on %d "
                    "counter(s) could not be written back",
                    self.store_name,
                    nano_to_usd(lost),
                    counters,
                )
        self.ledger.close()

    def _after_fork(self) -> None:
        # Locks another thread held at fork time stay held forever in the child; the probe thread does
        # not exist here; the parent's calls in flight and unwritten spend are the parent's to settle.
        self._lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stop = threading.Event()
        self._probe_thread = None
        self._pid = os.getpid()
        self._local.forget_in_flight()


def _reinit_after_fork() -> None:
    for guard in list(_guards):
        guard._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
