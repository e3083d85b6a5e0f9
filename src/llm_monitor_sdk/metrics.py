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
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if value <= 0:
            self.zeros += 1
        else:
            self.buckets[math.floor(math.log(value) / _GROWTH)] += 1

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

    def add(self, record: dict[str, Any]) -> None:
        self.by_status[record.get("status") or "ok"] += 1
        latency = record.get("latency_ms")
        if isinstance(latency, int | float) and record.get("status") != "blocked":
            self.latency.add(latency)
        ttft = record.get("ttft_ms")
        if isinstance(ttft, int | float):
            self.ttft.add(ttft)
        usage = record.get("usage") or {}
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            value = usage.get(key)
            if isinstance(value, int):
                self.tokens[key] += value
        cost = record.get("cost_usd")
        if isinstance(cost, int | float):
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
            "tokens": {key: self.tokens.get(key, 0) for key in ("input_tokens", "output_tokens", "total_tokens")},
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
        with self._lock:
            if record.get("kind") == "span":
                self.spans += 1
                return
            self._all.add(record)
            model = record.get("response_model") or record.get("request_model") or "unknown"
            key = f"{record.get('provider')}/{model}"
            group = self._by_model.get(key)
            if group is None:
                group = self._by_model[key] = _Group()
            group.add(record)

    def summary(self) -> dict[str, Any]:
        """Everything as plain data."""
        with self._lock:
            result = self._all.summary()
            result["spans"] = self.spans
            result["sampled_out"] = self.sampled_out
            result["by_model"] = {key: group.summary() for key, group in sorted(self._by_model.items())}
            return result


__all__ = ["Aggregates", "LogHistogram"]
