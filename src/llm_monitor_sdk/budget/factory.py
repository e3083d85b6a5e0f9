"""Build a :class:`BudgetGuard` from settings: rules, store URL, mode and failure policy.

Every bad value is a ``ValueError`` naming the environment variable that sets it, so ``instrument()``
fails loudly at start-up instead of at the first call. An unreachable store is *not* a configuration
error: stores connect lazily and the failure policy decides at call time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .guard import AlertCallback, BudgetGuard
from .ledger import Ledger
from .rules import BudgetRule, coerce_rules, parse_rules
from .windows import Clock

__all__ = ["build_guard", "open_ledger"]

MODES = ("enforce", "warn")
STORE_ERROR_POLICIES = ("open", "closed")


def open_ledger(store: str) -> Ledger:
    """The ledger for ``LLM_MONITOR_BUDGET_STORE``: ``memory``, ``sqlite:///path/to.db`` (three slashes
    then a relative path; four for an absolute one) or ``redis://host:port/db`` (also ``rediss://``,
    ``unix://``)."""
    variable = "LLM_MONITOR_BUDGET_STORE"
    if not isinstance(store, str) or not store.strip():
        raise ValueError(
            f"{variable}: expected memory, sqlite:///path/to.db or redis://host:port/db, got {store!r}"
        )
    text = store.strip()
    if text.lower() == "memory":
        from .store_memory import MemoryLedger

        return MemoryLedger()
    scheme = text.split(":", 1)[0].lower()
    if scheme == "sqlite":
        if not text.lower().startswith("sqlite:///") or len(text) == len("sqlite:///"):
            raise ValueError(
                f"{variable}={store!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        from .store_sqlite import SQLiteLedger

        return SQLiteLedger(text[len("sqlite:///") :])
    if scheme in ("redis", "rediss", "unix"):
        parts = urlsplit(text)
        if scheme != "unix" and not parts.hostname:
            raise ValueError(f"{variable}={store!r}: the Redis URL has no host (redis://host:port/db)")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{variable}={store!r}: the Redis URL has a bad port") from None
        from .store_redis import RedisLedger

        try:
            return RedisLedger(text)
        except ValueError as exc:
            raise ValueError(f"{variable}={store!r}: {exc}") from None
    raise ValueError(
        f"{variable}={store!r}: unsupported store (expected memory, sqlite:///path/to.db or redis://host:port/db)"
    )


def _choice(value: str, allowed: tuple[str, ...], variable: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in allowed:
        raise ValueError(f"{variable}={value!r}: expected one of {', '.join(allowed)}")
    return str(text)


def build_guard(
    rules: str | BudgetRule | Iterable[str | BudgetRule | Mapping[str, Any]] | None,
    *,
    store: str = "memory",
    mode: str = "enforce",
    on_alert: AlertCallback | None = None,
    on_store_error: str = "open",
    reservation_ttl_s: float = 600.0,
    clock: Clock | None = None,
    store_retry_s: float = 1.0,
) -> BudgetGuard | None:
    """Validate every setting and return a guard, or ``None`` when there are no rules.

    Args:
        rules: ``LLM_MONITOR_BUDGETS`` text, or what ``instrument(budgets=...)`` takes (``BudgetRule``
            objects, rule strings, dicts of ``BudgetRule`` fields).
        store: ``LLM_MONITOR_BUDGET_STORE``.
        mode: ``LLM_MONITOR_BUDGET_MODE``: ``enforce`` blocks, ``warn`` only alerts.
        on_alert: called with each alert dict (``instrument(on_budget_alert=...)``).
        on_store_error: ``LLM_MONITOR_BUDGET_ON_STORE_ERROR``: ``open`` lets calls through when the store is
            unreachable, ``closed`` blocks them.
        reservation_ttl_s: ``LLM_MONITOR_BUDGET_RESERVATION_TTL``: seconds after which an unsettled
            reservation stops counting.
        clock: injectable clock returning an aware datetime or epoch seconds (tests).
        store_retry_s: after a store failure, seconds during which calls apply the policy without trying
            the store again (so an outage does not add a timeout to every call).
    """
    mode = _choice(mode, MODES, "LLM_MONITOR_BUDGET_MODE")
    on_store_error = _choice(on_store_error, STORE_ERROR_POLICIES, "LLM_MONITOR_BUDGET_ON_STORE_ERROR")
    if (
        isinstance(reservation_ttl_s, bool)
        or not isinstance(reservation_ttl_s, int | float)
        or not math.isfinite(reservation_ttl_s)
        or reservation_ttl_s <= 0
    ):
        raise ValueError(f"LLM_MONITOR_BUDGET_RESERVATION_TTL={reservation_ttl_s!r}: expected seconds > 0")
    if on_alert is not None and not callable(on_alert):
        raise ValueError(f"on_budget_alert={on_alert!r}: expected a callable taking one alert dict")
    if not isinstance(store_retry_s, int | float) or not math.isfinite(store_retry_s) or store_retry_s < 0:
        raise ValueError(f"store_retry_s={store_retry_s!r}: expected seconds >= 0")
    parsed = parse_rules(rules) if isinstance(rules, str) else coerce_rules(rules, "budgets")
    if not isinstance(store, str):
        raise ValueError(f"LLM_MONITOR_BUDGET_STORE={store!r}: expected a string")
    ledger = open_ledger(store)
    if not parsed:
        ledger.close()
        return None
    return BudgetGuard(
        parsed,
        ledger,
        mode=mode,
        on_alert=on_alert,
        on_store_error=on_store_error,
        reservation_ttl_s=float(reservation_ttl_s),
        clock=clock,
        store_retry_s=float(store_retry_s),
        store_name=_redact(store.strip()),
    )


def _redact(store: str) -> str:
    """The store URL without a password, for log lines."""
    parts = urlsplit(store)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return store
