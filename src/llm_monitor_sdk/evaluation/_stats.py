"""The cheap processor behind ``lm.stats()["evaluations"]``, ``["feedback"]`` and ``["guardrails"]``.

It reads every ``feedback``, ``evaluation`` and ``guardrail`` record the worker exports (its own
kinds only: an ``llm_call`` record costs one dict lookup) and keeps running aggregates per name:

- ``evaluations`` / ``feedback``: ``{name: {count, mean, fail_rate}}``: ``mean`` over the records
  that have a score, ``fail_rate`` the share of records with ``passed`` set that did not pass
  (feedback: a score below 0.5 fails, as a thumbs-down does), ``None`` when nothing was measured;
- ``guardrails``: ``{name: {count, block_rate, latency_ms: {p50, p90, p99}}}``.

Names are capped: the first 1000 names of each kind are kept apart; records with other names are
merged under ``"(other)"`` and counted in ``evaluation_stats_overflow``. ``stats()`` returns a snapshot taken
under a lock and may be called from any thread.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import _forksafe
from ..metrics import LogHistogram

#: Most distinct names kept per kind; more are merged under ``OTHER``.
MAX_NAMES = 1000
OTHER = "(other)"


class _Score:
    __slots__ = ("count", "failed", "judged", "scored", "total")

    def __init__(self) -> None:
        self.count = 0
        self.scored = 0
        self.total = 0.0
        self.judged = 0
        self.failed = 0

    def add(self, score: Any, passed: Any) -> None:
        self.count += 1
        if isinstance(score, int | float) and not isinstance(score, bool) and score == score:
            self.scored += 1
            self.total += float(score)
        if isinstance(passed, bool):
            self.judged += 1
            if not passed:
                self.failed += 1

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": round(self.total / self.scored, 6) if self.scored else None,
            "fail_rate": round(self.failed / self.judged, 6) if self.judged else None,
        }


class _Guard:
    __slots__ = ("blocked", "count", "latency")

    def __init__(self) -> None:
        self.count = 0
        self.blocked = 0
        self.latency = LogHistogram()

    def add(self, blocked: Any, latency_ms: Any) -> None:
        self.count += 1
        if blocked is True:
            self.blocked += 1
        if isinstance(latency_ms, int | float) and not isinstance(latency_ms, bool) and latency_ms >= 0:
            self.latency.add(float(latency_ms))

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "block_rate": round(self.blocked / self.count, 6) if self.count else None,
            "latency_ms": {
                "p50": self.latency.percentile(50),
                "p90": self.latency.percentile(90),
                "p99": self.latency.percentile(99),
            },
        }


def feedback_passed(evaluation: dict[str, Any]) -> bool | None:
    """Whether a feedback counts as a pass: its ``passed``, else ``score >= 0.5``."""
    passed = evaluation.get("passed")
    if isinstance(passed, bool):
        return passed
    score = evaluation.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        return score >= 0.5
    return None


class EvaluationStats:
    """Processor: per-name aggregates of evaluation, feedback and guardrail records (see the module)."""

    name = "evaluation_stats"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _forksafe.after_fork(self, _forksafe.fresh_lock)
        self._evaluations: dict[str, _Score] = {}
        self._feedback: dict[str, _Score] = {}
        self._guardrails: dict[str, _Guard] = {}
        self.overflow = 0

    def _slot(self, table: dict[str, Any], name: Any, factory: type) -> Any:
        key = name if isinstance(name, str) and name else OTHER
        found = table.get(key)
        if found is None:
            if len(table) >= MAX_NAMES:
                self.overflow += 1
                key = OTHER
                found = table.get(key)
            if found is None:
                found = table[key] = factory()
        return found

    def process(self, record: dict[str, Any]) -> None:
        """Add one record to its kind's aggregates (other kinds are ignored)."""
        kind = record.get("kind")
        if kind == "evaluation" or kind == "feedback":
            evaluation = record.get("evaluation")
            if not isinstance(evaluation, dict):
                return None
            passed = evaluation.get("passed") if kind == "evaluation" else feedback_passed(evaluation)
            table = self._evaluations if kind == "evaluation" else self._feedback
            with self._lock:
                self._slot(table, evaluation.get("name"), _Score).add(evaluation.get("score"), passed)
        elif kind == "guardrail":
            guardrail = record.get("guardrail")
            if not isinstance(guardrail, dict):
                return None
            with self._lock:
                self._slot(self._guardrails, guardrail.get("name"), _Guard).add(
                    guardrail.get("blocked"), guardrail.get("latency_ms")
                )
        return None

    def stats(self) -> dict[str, Any]:
        """``evaluations``, ``feedback`` and ``guardrails`` aggregates (a snapshot)."""
        with self._lock:
            result: dict[str, Any] = {
                "evaluations": {name: agg.summary() for name, agg in self._evaluations.items()},
                "feedback": {name: agg.summary() for name, agg in self._feedback.items()},
                "guardrails": {name: agg.summary() for name, agg in self._guardrails.items()},
            }
            if self.overflow:
                result["evaluation_stats_overflow"] = self.overflow
        return result


__all__ = ["MAX_NAMES", "OTHER", "EvaluationStats", "feedback_passed"]
