"""Log-bucketed histograms (buckets 1% wide) shared by the Python and the DuckDB paths.

A value ``v > 0`` falls in bucket ``floor(ln(v) / ln(1.01))``; zero and negative values are counted
apart. A percentile is the nearest-rank bucket's geometric middle, clamped to the smallest and
largest value seen, so it is within 1% of the exact nearest-rank percentile. DuckDB computes the
same bucket index in SQL (``ln`` is the same C library function), and both paths turn a bucket index
into a value with :func:`bucket_value`: the two engines report identical percentiles.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

GROWTH = math.log(1.01)
#: Bucket index that stands for "zero or negative" in SQL (Python uses ``None``).
ZERO_BUCKET = -(2**62)
#: SQL expression of a value's bucket (``{v}`` is the column).
SQL_BUCKET = "CASE WHEN {v} > 0 THEN floor(ln({v}) / ln(1.01))::BIGINT ELSE " + str(ZERO_BUCKET) + " END"
QUANTILES = (50, 90, 99)


def bucket_of(value: float) -> int:
    """The bucket index of ``value`` (``ZERO_BUCKET`` for zero and negative values)."""
    return math.floor(math.log(value) / GROWTH) if value > 0 else ZERO_BUCKET


def rank_of(count: int, q: float) -> int:
    """Nearest rank (1-based) of the ``q``-th percentile among ``count`` values."""
    return max(1, math.ceil(count * q / 100.0))


def bucket_value(index: int | None, low: float, high: float) -> float | None:
    """The value reported for bucket ``index``, clamped to ``[low, high]``."""
    if index is None:
        return None
    if index == ZERO_BUCKET:
        return 0.0
    value = math.exp((index + 0.5) * GROWTH)
    return round(min(max(value, low), high), 3)


def bucket_bounds(index: int) -> tuple[float, float]:
    """Lower and upper edge of bucket ``index``."""
    return math.exp(index * GROWTH), math.exp((index + 1) * GROWTH)


class Hist:
    """Counts of values per bucket, with count, total, min and max; mergeable."""

    __slots__ = ("buckets", "count", "high", "low", "total")

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf

    def add(self, value: float) -> None:
        """Observe one value."""
        self.buckets[bucket_of(value)] += 1
        self.count += 1
        self.total += value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def merge(self, other: Hist) -> None:
        """Fold ``other`` in."""
        self.buckets.update(other.buckets)
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def quantile_bucket(self, q: float) -> int | None:
        """Bucket index holding the ``q``-th percentile, or None when empty."""
        if not self.count:
            return None
        rank = rank_of(self.count, q)
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return index
        return max(self.buckets)  # pragma: no cover - counts always add up

    def quantile(self, q: float) -> float | None:
        """The ``q``-th percentile (within 1%), or None when empty."""
        return bucket_value(self.quantile_bucket(q), self.low, self.high)

    def summary(self) -> dict[str, Any]:
        """``count``, ``mean``, ``p50``, ``p90``, ``p99``, ``max``."""
        return summary_from(
            self.count, self.total, self.low, self.high, [self.quantile_bucket(q) for q in QUANTILES]
        )


def summary_from(
    count: int, total: float, low: float, high: float, buckets: list[int | None]
) -> dict[str, Any]:
    """The summary dict from aggregates and the bucket index of each of :data:`QUANTILES`."""
    if not count:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "max": None}
    p50, p90, p99 = (bucket_value(b, low, high) for b in buckets)
    return {
        "count": count,
        "mean": round(total / count, 3),
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "max": round(high, 3),
    }


__all__ = [
    "GROWTH",
    "QUANTILES",
    "SQL_BUCKET",
    "ZERO_BUCKET",
    "Hist",
    "bucket_bounds",
    "bucket_of",
    "bucket_value",
    "rank_of",
    "summary_from",
]
