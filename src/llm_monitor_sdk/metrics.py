"""In-process aggregates behind ``lm.stats()``: counts, P50/P90/P99 latency and TTFT, tokens, cost.

Updated by the export worker only (never on the caller's thread). Percentiles come from a log-bucketed
histogram (buckets 1% apart), so memory stays constant however many calls are observed and a
reported percentile is within 1% of the exact one.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections import Counter
from typing import Any

_GROWTH = math.log(1.01)
_TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def _measure(value: Any) -> float | None:
    """A latency, TTFT or cost fit for the aggregates: a finite, non-negative number, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if 0 <= value < math.inf else None  # NaN fails both comparisons
    return None


def _bucket(value: float) -> int | None:
    # None for values that count as zero.
    return math.floor(math.log(value) / _GROWTH) if value > 0 else None


class LogHistogram:
    """Counts of positive values in buckets 1% wide; constant memory, percentiles within 1%."""

    __slots__ = ("buckets", "count", "max", "min", "total", "zeros")

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0
        self.zeros = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        """Observe one value (negative values count as zero)."""
        self.add_at(value, _bucket(value))

    def add_at(self, value: float, bucket: int | None) -> None:
        """Observe ``value`` whose bucket (``_bucket(value)``) is already known: one log for two histograms."""
        self.count += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if bucket is None:
            self.zeros += 1
        else:
            self.buckets[bucket] += 1

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0-100), or None when empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * q / 100.0))
        if rank <= self.zeros:
            return 0.0
        seen = self.zeros
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                # The bucket's geometric middle, clamped to what was really seen.
                value = math.exp((index + 0.5) * _GROWTH)
                return round(min(max(value, self.min), self.max), 3)
        return round(self.max, 3)  # pragma: no cover

    def summary(self) -> dict[str, float | int | None]:
        """count, mean, p50, p90, p99, max."""
        return {
            "count": self.count,
            "mean": round(self.total / self.count, 3) if self.count else None,
            "p50": self.percentile(50),
            "p90": self.percentile(90),
            "p99": self.percentile(99),
            "max": round(self.max, 3) if self.count else None,
        }


class _Group:
    __slots__ = ("by_status", "cost", "cost_calls", "latency", "tokens", "ttft")

    def __init__(self) -> None:
        self.by_status: Counter[str] = Counter()
        self.latency = LogHistogram()
        self.ttft = LogHistogram()
        self.tokens: Counter[str] = Counter()
        self.cost = 0.0
        self.cost_calls = 0

    def add(
        self,
        status: str,
        latency: float | None,
        latency_bucket: int | None,
        ttft: float | None,
        ttft_bucket: int | None,
        tokens: list[tuple[str, int]],
        cost: float | None,
    ) -> None:
        # Values are read from the record once (``Aggregates.add``) and folded into two groups.
        self.by_status[status] += 1
        if latency is not None:
            self.latency.add_at(latency, latency_bucket)
        if ttft is not None:
            self.ttft.add_at(ttft, ttft_bucket)
        for key, value in tokens:
            self.tokens[key] += value
        if cost is not None:
            self.cost += cost
            self.cost_calls += 1

    def summary(self) -> dict[str, Any]:
        calls = sum(self.by_status.values())
        errors = self.by_status.get("error", 0)
        attempted = calls - self.by_status.get("blocked", 0)
        return {
            "calls": calls,
            "by_status": dict(self.by_status),
            "error_rate": round(errors / attempted, 6) if attempted else 0.0,
            "latency_ms": self.latency.summary(),
            "ttft_ms": self.ttft.summary(),
            "tokens": {
                key: self.tokens.get(key, 0) for key in ("input_tokens", "output_tokens", "total_tokens")
            },
            "cost_usd": round(self.cost, 10),
            "cost_per_call_usd": round(self.cost / self.cost_calls, 10) if self.cost_calls else None,
        }


def _reset_lock(ref: weakref.ref[Aggregates]) -> None:
    aggregates = ref()
    if aggregates is not None:
        aggregates._lock = threading.Lock()


class Aggregates:
    """All calls, and the same per ``provider/model``; span records are only counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all = _Group()
        # A fork while the export worker holds the lock would leave it held forever in the child.
        self_ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_lock(self_ref))
        self._by_model: dict[str, _Group] = {}
        self.spans = 0
        self.sampled_out = 0

    def add(self, record: dict[str, Any]) -> None:
        """Fold one finished record in (called on the export worker)."""
        if record.get("kind") == "span":
            with self._lock:
                self.spans += 1
            return
        status = record.get("status") or "ok"
        latency = _measure(record.get("latency_ms"))
        if status == "blocked":
            latency = None
        ttft = _measure(record.get("ttft_ms"))
        usage = record.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        # Only counts a record can really hold reach the totals: a NaN, negative, bool or text count
        # (from a submitted record or a processor's) is left out rather than poisoning every total.
        tokens = [(key, value) for key in _TOKEN_KEYS if type(value := usage.get(key)) is int and value >= 0]
        cost = _measure(record.get("cost_usd"))
        values = (
            status,
            latency,
            None if latency is None else _bucket(latency),
            ttft,
            None if ttft is None else _bucket(ttft),
            tokens,
            cost,
        )
        model = record.get("response_model") or record.get("request_model") or "unknown"
        key = f"{record.get('provider')}/{model}"
        with self._lock:
            self._all.add(*values)
            group = self._by_model.get(key)
            if group is None:
                group = self._by_model[key] = _Group()
            group.add(*values)

    def summary(self) -> dict[str, Any]:
        """Everything as plain data."""
        with self._lock:
            result = self._all.summary()
            result["spans"] = self.spans
            result["sampled_out"] = self.sampled_out
            result["by_model"] = {key: group.summary() for key, group in sorted(self._by_model.items())}
            return result


class MetricsProcessor:
    """The first processor of every monitor: folds each finished record into :class:`Aggregates`."""

    name = "metrics"

    def __init__(self, aggregates: Aggregates) -> None:
        self.aggregates = aggregates

    def process(self, record: dict[str, Any]) -> None:
        """Count ``llm_call`` and ``span`` records (other kinds have their own processors)."""
        if record.get("kind") in ("llm_call", "span"):
            self.aggregates.add(record)


__all__ = ["Aggregates", "LogHistogram", "MetricsProcessor"]
