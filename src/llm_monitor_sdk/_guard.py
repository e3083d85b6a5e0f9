"""Containment of the SDK's own failures: an SDK bug is counted and logged once per kind, never raised.

Every step the SDK runs inside the user's call, on the export worker and on its other threads runs
under one guard::

    with guard("openai.fill_response"):
        adapter.fill_response(record, request, response)

An ``Exception`` raised inside is counted under ``"<where>:<ExceptionType>"`` (``lm.stats()
["internal_errors"]``), logged the first time that kind happens, and swallowed; ``BaseException``
(``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``) passes through. The user's call result and
the provider's exceptions are never touched. Guards are cached per name, so entering one costs a dict
lookup and the ``with`` protocol, nothing else. The test suite checks :func:`internal_error_counts`
after every test, so a bug cannot hide behind the guard.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from types import TracebackType

logger = logging.getLogger("llm_monitor_sdk")

_counts: Counter[str] = Counter()
# Counter updates from several threads: += on a Counter is not atomic across threads.
_lock = threading.RLock()


def report_internal_error(where: str, exc: BaseException, *, traceback: bool = True) -> None:
    """Count an internal error under ``where`` and log it the first time that kind happens
    (``traceback=False``: the message alone, for conditions outside the SDK such as a refused export)."""
    kind = f"{where}:{type(exc).__name__}"
    with _lock:
        _counts[kind] += 1
        first = _counts[kind] == 1
    if first:
        try:
            message = repr(exc)
        except Exception:  # an exception whose repr is broken
            message = type(exc).__name__
        logger.warning(
            "llm_monitor_sdk internal error in %s (logged once per kind): %s",
            where,
            message,
            exc_info=exc if traceback else None,
        )


class Guard:
    """Context manager that reports and swallows an ``Exception`` raised inside (see the module notes)."""

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> Guard:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        report_internal_error(self.where, exc)
        return True


_guards: dict[str, Guard] = {}


def guard(where: str) -> Guard:
    """The guard for one named step (``"<component>.<step>"``), cached per name."""
    found = _guards.get(where)
    if found is None:
        found = _guards.setdefault(where, Guard(where))
    return found


def internal_error_counts() -> dict[str, int]:
    """Internal errors by kind since start (``lm.stats()["internal_errors"]``)."""
    with _lock:
        return dict(_counts)


def reset_internal_errors() -> None:
    """Forget the counts (tests)."""
    with _lock:
        _counts.clear()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["Guard", "guard", "internal_error_counts", "report_internal_error", "reset_internal_errors"]
