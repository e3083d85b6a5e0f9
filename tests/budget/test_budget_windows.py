"""Calendar window buckets in UTC and the injectable clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from llm_monitor_sdk.budget import bucket_for
from llm_monitor_sdk.budget.windows import clock_reader


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("window", "moment", "name", "start", "end"),
    [
        ("hourly", ts(2026, 11, 27, 6, 59, 59), "2026-11-27T06", ts(2026, 11, 27, 6), ts(2026, 11, 27, 7)),
        ("daily", ts(2026, 11, 27, 23, 59, 59), "2026-11-27", ts(2026, 11, 27), ts(2026, 11, 28)),
        ("daily", ts(2026, 11, 28), "2026-11-28", ts(2026, 11, 28), ts(2026, 11, 29)),
        # ISO week 53 of 2026 runs Monday 2026-12-28 to Sunday 2027-01-03.
        ("weekly", ts(2027, 1, 3, 12), "2026-W53", ts(2026, 12, 28), ts(2027, 1, 4)),
        ("weekly", ts(2027, 1, 4), "2027-W01", ts(2027, 1, 4), ts(2027, 1, 11)),
        ("monthly", ts(2026, 12, 31, 23), "2026-12", ts(2026, 12, 1), ts(2027, 1, 1)),
        ("monthly", ts(2028, 2, 29, 12), "2028-02", ts(2028, 2, 1), ts(2028, 3, 1)),
    ],
)
def test_calendar_buckets(window: str, moment: float, name: str, start: float, end: float) -> None:
    bucket = bucket_for(window, moment)
    assert (bucket.name, bucket.start, bucket.end) == (name, start, end)


def test_total_is_one_bucket_forever() -> None:
    bucket = bucket_for("total", ts(2026, 1, 1))
    assert (bucket.name, bucket.start, bucket.end) == ("total", -math.inf, math.inf)
    assert bucket_for("total", ts(2099, 1, 1)).name == "total"


def test_unknown_window() -> None:
    with pytest.raises(ValueError, match="unknown window"):
        bucket_for("yearly", 0.0)


def test_clock_reader_accepts_datetimes_and_epoch_seconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert clock_reader(lambda: datetime(2026, 11, 27, 8, tzinfo=plus_two))() == ts(2026, 11, 27, 6)
    assert clock_reader(lambda: datetime(2026, 11, 27, 6))() == ts(2026, 11, 27, 6)  # naive is UTC
    assert clock_reader(lambda: 1234)() == 1234.0
    with pytest.raises(ValueError, match="budget clock returned 'noon'"):
        clock_reader(lambda: "noon")()  # type: ignore[arg-type,return-value]
