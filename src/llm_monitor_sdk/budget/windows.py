"""Calendar windows in UTC and the clock the budget guard reads.

A window's *bucket* names the calendar period a call falls in: hourly ``2026-11-27T06``, daily
``2026-11-27``, weekly ISO week ``2026-W48``, monthly ``2026-11``, and ``total`` (one bucket forever).
Ledgers count spend per bucket, so a new period starts from zero without any reset job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "WindowBucket", "bucket_for", "clock_reader"]

# A clock returns an aware datetime (naive ones are read as UTC) or epoch seconds.
Clock = Callable[[], "datetime | float | int"]


class WindowBucket:
    """One calendar period of a window: ``name`` and its ``[start, end)`` in epoch seconds."""

    __slots__ = ("end", "name", "start")

    def __init__(self, name: str, start: float, end: float) -> None:
        self.name = name
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"WindowBucket({self.name!r}, {self.start!r}, {self.end!r})"


def bucket_for(window: str, now: float) -> WindowBucket:
    """The calendar bucket of ``window`` that contains epoch second ``now`` (UTC)."""
    if window == "total":
        return WindowBucket("total", -math.inf, math.inf)
    moment = datetime.fromtimestamp(now, UTC)
    if window == "hourly":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return WindowBucket(
            start.strftime("%Y-%m-%dT%H"), start.timestamp(), (start + timedelta(hours=1)).timestamp()
        )
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "daily":
        return WindowBucket(day.strftime("%Y-%m-%d"), day.timestamp(), (day + timedelta(days=1)).timestamp())
    if window == "weekly":
        iso = moment.isocalendar()
        start = day - timedelta(days=iso.weekday - 1)  # ISO weeks start on Monday
        return WindowBucket(
            f"{iso.year}-W{iso.week:02d}", start.timestamp(), (start + timedelta(weeks=1)).timestamp()
        )
    if window == "monthly":
        start = day.replace(day=1)
        following = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return WindowBucket(start.strftime("%Y-%m"), start.timestamp(), following.timestamp())
    raise ValueError(f"unknown window {window!r}")


def _to_epoch(value: datetime | float | int) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError(f"the budget clock returned {value!r}; expected an aware datetime or epoch seconds")


def clock_reader(clock: Clock | None) -> Callable[[], float]:
    """A zero-argument function returning epoch seconds from ``clock`` (``time.time`` when ``None``)."""
    if clock is None:
        return time.time
    return lambda: _to_epoch(clock())
