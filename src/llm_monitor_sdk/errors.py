"""Exceptions the SDK raises into user code.

The SDK never raises into user code except for two cases: a ``ValueError`` for bad configuration at
``instrument()`` time, and :class:`BudgetExceededError` *before* a provider call that a hard budget limit
would not allow. ``llm_monitor_sdk`` re-exports it as ``lm.BudgetExceededError``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BudgetExceededError"]


class BudgetExceededError(Exception):
    """A hard budget limit blocked an LLM call before any network I/O.

    Attributes:
        scope: ``global``, ``user``, ``tenant``, ``feature`` or ``model``: the scope of the rule that blocked.
        key: the key the rule was applied to (the user id, tenant id, ...); ``None`` for ``global``.
        window: ``hourly``, ``daily``, ``weekly``, ``monthly`` or ``total``.
        limit_usd: the rule's limit in USD.
        spent_usd: USD already settled in the current window; ``None`` when the budget store was unreachable.
        reserved_usd: USD held by calls still in flight; ``None`` when the store was unreachable.
        requested_usd: this call's worst-case cost in USD.
        rule: the rule as written in ``LLM_MONITOR_BUDGETS`` grammar, e.g. ``user:daily=2``.
        bucket: the calendar window the call fell in, e.g. ``2026-11-27`` (``total`` for ``total``).
        reason: ``limit`` when the limit would be exceeded; ``store_unavailable`` when the budget store
            could not be reached and the failure policy is ``closed``.
    """

    def __init__(
        self,
        *,
        scope: str,
        key: str | None,
        window: str,
        limit_usd: float,
        spent_usd: float | None,
        reserved_usd: float | None = 0.0,
        requested_usd: float = 0.0,
        rule: str = "",
        bucket: str = "",
        reason: str = "limit",
    ) -> None:
        self.scope = scope
        self.key = key
        self.window = window
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.requested_usd = requested_usd
        self.rule = rule
        self.bucket = bucket
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        who = "global budget" if self.key is None else f"{self.scope} {self.key!r}"
        where = f"rule {self.rule!r}, {self.window} window {self.bucket}".rstrip()
        if self.reason == "store_unavailable":
            return (
                f"Budget check failed closed for {who} ({where}): the budget store is unreachable and "
                f"LLM_MONITOR_BUDGET_ON_STORE_ERROR=closed blocks calls until it is back"
            )
        return (
            f"Budget exceeded for {who} ({where}): spent ${self.spent_usd or 0.0:.6f} + reserved "
            f"${self.reserved_usd or 0.0:.6f} + this call ${self.requested_usd:.6f} > limit ${self.limit_usd:.6f}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The error's fields as a JSON-ready dict (used for a blocked call's record)."""
        return {
            "scope": self.scope,
            "key": self.key,
            "window": self.window,
            "bucket": self.bucket,
            "rule": self.rule,
            "limit_usd": self.limit_usd,
            "spent_usd": self.spent_usd,
            "reserved_usd": self.reserved_usd,
            "requested_usd": self.requested_usd,
            "reason": self.reason,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ breaks the default exception pickling; rebuild from the fields instead,
        # so the error survives multiprocessing and concurrent.futures process pools.
        return (_rebuild, (self.to_dict(),))


def _rebuild(fields: dict[str, Any]) -> BudgetExceededError:
    return BudgetExceededError(**fields)
