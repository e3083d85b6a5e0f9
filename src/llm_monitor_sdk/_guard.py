"""Containment of the SDK's own failures: an SDK bug is counted and logged once per kind, never raised.

Every step the SDK runs inside the user's call (and on the export worker) goes through
:func:`report_internal_error`; the user's call result and the provider's exceptions are never touched.
The test suite checks :func:`internal_error_counts` after every test, so a bug cannot hide behind
the guard.
"""

from __future__ import annotations

import logging
from collections import Counter

logger = logging.getLogger("llm_monitor_sdk")

_counts: Counter[str] = Counter()


def report_internal_error(where: str, exc: BaseException) -> None:
    """Count an internal error under ``where`` and log it the first time that kind happens."""
    kind = f"{where}:{type(exc).__name__}"
    _counts[kind] += 1
    if _counts[kind] == 1:
        logger.warning(
            "llm_monitor_sdk internal error in %s (logged once per kind): %r", where, exc, exc_info=exc
        )


def internal_error_counts() -> dict[str, int]:
    """Internal errors by kind since start (``lm.stats()["internal_errors"]``)."""
    return dict(_counts)


def reset_internal_errors() -> None:
    """Forget the counts (tests)."""
    _counts.clear()
