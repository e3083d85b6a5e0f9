"""Build a :class:`BudgetGuard` from settings: rules, store URL, mode and failure policy.

Every bad value is a ``ValueError`` naming the environment variable that sets it, so ``instrument()``
fails loudly at start-up instead of at the first call. An unreachable store is *not* a configuration
error: stores connect lazily and the failure policy decides at call time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .._secrets import mask_text, mask_url
from .guard import AlertCallback, BudgetGuard
from .ledger import Ledger
from .rules import BudgetRule, coerce_rules, parse_rules
from .windows import Clock

__all__ = ["build_guard", "open_ledger"]

MODES = ("enforce", "warn")
STORE_ERROR_POLICIES = ("open", "closed")


def open_ledger(
    store: str, *, timeout_s: float | None = None, variable: str = "LLM_MONITOR_BUDGET_STORE"
) -> Ledger:
    """The ledger for ``LLM_MONITOR_BUDGET_STORE``: ``memory``, ``sqlite:///path/to.db`` (three slashes
    then a relative path; four for an absolute one) or ``redis://host:port/db`` (also ``rediss://``,
    ``unix://``).

    ``timeout_s`` bounds each Redis network step (default 0.1 s). Error messages name ``variable`` once
    and never show a password or token (see :mod:`llm_monitor_sdk._secrets`).
    """
    if not isinstance(store, str) or not store.strip():
        raise ValueError(
            f"{variable}: expected memory, sqlite:///path/to.db or redis://host:port/db, got "
            f"{mask_url(store) if isinstance(store, str) else store!r}"
        )
    text = store.strip()
    shown = mask_url(text)
    if text.lower() == "memory":
        from .store_memory import MemoryLedger

        return MemoryLedger()
    scheme = text.split(":", 1)[0].lower()
    if scheme == "sqlite":
        if not text.lower().startswith("sqlite:///") or len(text) == len("sqlite:///"):
            raise ValueError(
                f"{variable}={shown!r}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        from .store_sqlite import SQLiteLedger

        path = text[len("sqlite:///") :]
        if os.path.islink(path):
            raise ValueError(
                f"{variable}={shown!r}: {path} is a symbolic link; the budget store never follows one "
                "(it holds user ids and spend): point the variable at the real file"
            )
        return SQLiteLedger(path)
    if scheme in ("redis", "rediss", "unix"):
        parts = urlsplit(text)
        if scheme != "unix" and not parts.hostname:
            raise ValueError(f"{variable}={shown!r}: the Redis URL has no host (redis://host:port/db)")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{variable}={shown!r}: the Redis URL has a bad port") from None
        from .store_redis import DEFAULT_TIMEOUT_S, RedisLedger

        try:
            return RedisLedger(text, timeout_s=DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s)
        except ValueError as exc:
            raise ValueError(f"{variable}={shown!r}: {mask_text(str(exc))}") from None
    raise ValueError(
        f"{variable}={shown!r}: unsupported store (expected memory, sqlite:///path/to.db or redis://host:port/db)"
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
    store_timeout_s: float | None = None,
    rules_variable: str | None = None,
    store_variable: str = "LLM_MONITOR_BUDGET_STORE",
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
        store_retry_s: longest pause between two probes of an unreachable store (the first comes after
            50 ms, then the pause doubles). Calls never wait for the probes.
        store_timeout_s: seconds each Redis network step may take (default 0.1; the URL's own
            ``socket_timeout`` wins). No call waits longer than that for a dead or frozen Redis.
        rules_variable: what error messages call the rules (default ``LLM_MONITOR_BUDGETS`` for text,
            ``budgets`` for objects); ``llm-monitor budget status --rules`` passes ``--rules``.
        store_variable: what error messages call the store setting.
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
    if store_timeout_s is not None and (
        isinstance(store_timeout_s, bool)
        or not isinstance(store_timeout_s, int | float)
        or not math.isfinite(store_timeout_s)
        or store_timeout_s <= 0
    ):
        raise ValueError(f"store_timeout_s={store_timeout_s!r}: expected seconds > 0")
    if isinstance(rules, str):
        parsed = parse_rules(rules, rules_variable or "LLM_MONITOR_BUDGETS")
    else:
        parsed = coerce_rules(rules, rules_variable or "budgets")
    if not isinstance(store, str):
        raise ValueError(f"{store_variable}={store!r}: expected a string")
    ledger = open_ledger(store, timeout_s=store_timeout_s, variable=store_variable)
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
        store_name=mask_url(store.strip()),
    )
