"""The one wall clock of the monitoring side (windows, alerts, evaluation and guardrail timing).

Everything on that side calls :func:`now` through this module, so a test can replace it in one place
(``monkeypatch.setattr(llm_monitor_sdk._clock, "now", fake)``) and drive windows of minutes in
milliseconds. The caller's hot path keeps its own ``time.perf_counter`` reads.
"""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch (``time.time()`` unless a test replaced this function)."""
    return time.time()


__all__ = ["now"]
