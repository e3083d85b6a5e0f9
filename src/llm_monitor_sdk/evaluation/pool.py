"""The evaluation processor and its pool: sampled calls go to evaluator threads, results come back as records.

On the export worker, :meth:`EvaluationProcessor.process` looks at each finished ``llm_call``
record (after redaction): judge calls are skipped, each evaluator's sample decision is taken from
the record's ``trace_id`` (:func:`~llm_monitor_sdk.evaluation._base.trace_fraction`: every evaluator
with the same rate picks the same traces), and the picked evaluators get one copy of the record
through a bounded queue. The worker never waits: a full queue drops the task and counts it. The
call's own record goes on to the exporters untouched, so it is exported first, never delayed.

Evaluators that share the record (``shares_record = True``: the built-in heuristics and reference
metrics, bounded and taking microseconds) run inline, on the export worker, right after the call's
record passed: handing them to a thread of their own cost more (GIL hand-overs with cold caches,
about 40 µs a record) than running them. Every other evaluator runs on the pool's threads, one
*lane* per evaluator: a lane has its own bounded queue and thread, so a slow or stuck evaluator only
fills (and drops from) its own queue. Results go back through ``host.submit()`` as
``kind="evaluation"`` records, with the call's ``trace_id``, the call's ``span_id`` as
``parent_span_id`` and ``target`` naming the call. Every LLM call an evaluator makes runs inside
``context(feature="llm-monitor-judge", metadata={"llm_monitor.judge": name})``: it is recorded as
an ordinary call, budgeted by ``feature=llm-monitor-judge`` rules, and never evaluated itself.

``raw=True`` evaluators get the record before redaction: :meth:`EvaluationProcessor.before_redaction`
copies a record only when a raw evaluator will take it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from .._guard import guard
from ..errors import BudgetExceededError
from ..metrics import LogHistogram
from ._base import (
    JUDGE_FEATURE,
    JUDGE_METADATA_KEY,
    EvaluationSkipped,
    InvalidEvaluation,
    copy_json,
    evaluate_record,
    is_judge_call,
    trace_fraction,
)
from ._text import release

logger = logging.getLogger("llm_monitor_sdk.evaluation")

#: Default bound of each lane's queue (tasks, i.e. sampled calls).
DEFAULT_QUEUE_SIZE = 1000
#: Scope fields an evaluation record copies from the call it judges (for grouping in alerts).
_SCOPE_FIELDS = ("user_id", "session_id", "tenant_id", "feature", "prompt_name", "prompt_version", "variant")


class _Entry:
    """One evaluator and its counters (written by its lane's thread; drops by the export worker)."""

    __slots__ = (
        "dropped",
        "errors",
        "evaluator",
        "include_errors",
        "invalid",
        "latency",
        "lock",
        "logged",
        "name",
        "rate",
        "raw",
        "results",
        "runs",
        "sampled",
        "shares",
        "skipped",
        "source",
    )

    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator
        self.name: str = evaluator.name
        self.rate = float(getattr(evaluator, "sample_rate", 1.0))
        self.raw = bool(getattr(evaluator, "raw", False))
        self.include_errors = bool(getattr(evaluator, "include_errors", False))
        self.source = getattr(evaluator, "source", None) or "code"
        self.shares = bool(getattr(evaluator, "shares_record", False))
        self.sampled = 0
        self.dropped = 0
        self.runs = 0
        self.results = 0
        self.errors = 0
        self.invalid = 0
        self.skipped: Counter[str] = Counter()
        self.latency = LogHistogram()
        self.lock = threading.Lock()
        self.logged: set[str] = set()

    def wants(self, fraction: float, status: Any) -> bool:
        return fraction < self.rate and (status == "ok" or (status == "error" and self.include_errors))

    def log_once(self, kind: str, message: str, exc: BaseException | None = None) -> None:
        if kind in self.logged:
            return
        self.logged.add(kind)
        logger.warning(
            "llm_monitor_sdk: evaluator %r %s (logged once; counted in lm.stats()['evaluation_pool'])",
            self.name,
            message,
            exc_info=exc,
        )

    def stats(self) -> dict[str, Any]:
        with self.lock:
            latency = {
                "p50": self.latency.percentile(50),
                "p90": self.latency.percentile(90),
                "p99": self.latency.percentile(99),
            }
        result: dict[str, Any] = {
            "sample_rate": self.rate,
            "raw": self.raw,
            "sampled": self.sampled,
            "dropped": self.dropped,
            "runs": self.runs,
            "results": self.results,
            "errors": self.errors,
            "invalid": self.invalid,
            "skipped": dict(self.skipped),
            "latency_ms": latency,
        }
        extra = getattr(self.evaluator, "stats", None)
        if callable(extra):
            with guard("evaluation.evaluator_stats"):
                more = extra()
                if isinstance(more, dict):
                    result.update(more)
        return result


class _Task:
    """One sampled call for one lane: the shared redacted copy, the raw copy, the link to the call."""

    __slots__ = ("entries", "link", "raw", "record")

    def __init__(
        self,
        record: dict[str, Any],
        raw: dict[str, Any] | None,
        entries: list[_Entry],
        link: dict[str, Any],
    ) -> None:
        self.record = record
        self.raw = raw
        self.entries = entries
        self.link = link


class _Lane:
    """A bounded queue and one thread running some evaluators."""

    def __init__(self, name: str, entries: list[_Entry], pool: EvaluationProcessor, maxsize: int) -> None:
        self.name = name
        self.entries = entries
        self.pool = pool
        self.maxsize = maxsize
        self.items: deque[_Task] = deque()
        self.cond = threading.Condition(threading.Lock())
        self.busy = False
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.deadline = float("inf")

    def reset_after_fork(self) -> None:
        self.items = deque()
        self.cond = threading.Condition(threading.Lock())
        self.busy = False
        self.thread = None

    def offer(self, task: _Task) -> bool:
        """Queue a task without waiting; ``False`` when the queue is full (the caller counts the drop)."""
        with self.cond:
            if self.stopping or len(self.items) >= self.maxsize:
                return False
            self.items.append(task)
            if self.thread is None or not self.thread.is_alive():
                self._start()
            self.cond.notify()
            return True

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=f"llm-monitor-eval-{self.name}", daemon=True)
        self.thread = thread
        thread.start()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.items and not self.stopping:
                    self.cond.wait(1.0)
                if not self.items or (self.stopping and time.monotonic() >= self.deadline):
                    dropped = len(self.items)
                    self.items.clear()
                    self.pool.shutdown_dropped += dropped
                    self.busy = False
                    self.cond.notify_all()
                    return
                task = self.items.popleft()
                self.busy = True
            try:
                self.pool.run_task(task)
            except BaseException as exc:  # our own thread: nothing may end it
                with guard("evaluation.lane"):
                    raise RuntimeError(f"evaluation lane {self.name!r} failed") from exc
            finally:
                release()
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def wait_idle(self, deadline: float) -> bool:
        with self.cond:
            while self.items or self.busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True

    def stop(self, deadline: float) -> None:
        with self.cond:
            self.stopping = True
            self.deadline = deadline
            self.cond.notify_all()

    def queued(self) -> int:
        return len(self.items)


_pools: weakref.WeakSet[EvaluationProcessor] = weakref.WeakSet()


class EvaluationProcessor:
    """Hands sampled ``llm_call`` records to evaluator threads and submits their results as records.

    ``evaluators``: objects with ``name`` and ``evaluate(record)``; ``queue_size``: the bound of each
    evaluator's queue (default 1000 sampled calls). Attach it with ``instrument(evaluators=[...])``
    (or, before that is wired, ``instrument(processors=build_processors(...))``).
    """

    name = "evaluation"

    def __init__(self, evaluators: Sequence[Any], *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"evaluation queue_size must be a positive int, not {queue_size!r}")
        self.entries = [_Entry(e) for e in evaluators]
        #: Run inline on the export worker (see the module docstring).
        self.inline = [e for e in self.entries if e.shares]
        lanes: list[_Lane] = []
        for entry in self.entries:
            if not entry.shares:
                lanes.append(_Lane(entry.name, [entry], self, queue_size))
        self.lanes = lanes
        self._wants_raw = any(e.raw for e in self.entries)
        self._raw: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._submit: Callable[[dict[str, Any]], bool] | None = None
        self._clock: Callable[[], float] = time.time
        self._closed = False
        self.judge_calls_skipped = 0
        self.submit_failed = 0
        self.shutdown_dropped = 0
        _pools.add(self)

    # -- processor protocol --------------------------------------------------------------------------
    def start(self, host: Any) -> None:
        """Remember where results go (``host.submit``) and the SDK clock."""
        self._submit = host.submit
        self._clock = host.clock

    def _picked(self, record: dict[str, Any]) -> tuple[float, list[_Entry]]:
        fraction = trace_fraction(record.get("trace_id"))
        status = record.get("status")
        return fraction, [e for e in self.entries if e.wants(fraction, status)]

    def before_redaction(self, record: dict[str, Any]) -> None:
        """Keep an unredacted copy of a call that a ``raw=True`` evaluator will evaluate."""
        self._raw = None
        if not self._wants_raw or self._closed or record.get("kind") != "llm_call" or is_judge_call(record):
            return
        _, picked = self._picked(record)
        if any(e.raw for e in picked):
            self._raw = (record, copy_json(record))

    def process(self, record: dict[str, Any]) -> None:
        """Queue the evaluators that sample this call (never blocks; drops are counted)."""
        raw_pending, self._raw = self._raw, None
        if self._closed or record.get("kind") != "llm_call":
            return None
        if is_judge_call(record):
            self.judge_calls_skipped += 1
            return None
        _, picked = self._picked(record)
        if not picked:
            return None
        raw = raw_pending[1] if raw_pending is not None and raw_pending[0] is record else None
        # No copy on the export worker: a finished record is only read from here on (encoding, the
        # built-in heuristics); an evaluator that may change what it gets copies it on its own lane.
        snapshot = record
        link = {
            "record_id": record.get("record_id"),
            "response_id": record.get("response_id"),
            "trace_id": record.get("trace_id"),
            "span_id": record.get("span_id"),
            "scope": {name: record.get(name) for name in _SCOPE_FIELDS if record.get(name) is not None},
        }
        stamps: list[str] = []
        for entry in self.inline:
            if entry in picked:
                entry.sampled += 1
                self._run_entry(entry, snapshot, raw, link, stamps)
        for lane in self.lanes:
            entries = [e for e in picked if e in lane.entries]
            if not entries:
                continue
            for entry in entries:
                entry.sampled += 1
            if not lane.offer(_Task(snapshot, raw, entries, link)):
                for entry in entries:
                    entry.dropped += 1
        return None

    # -- on the lane threads -------------------------------------------------------------------------
    def run_task(self, task: _Task) -> None:
        """Run a task's evaluators and submit their results (on a lane thread)."""
        for entry in task.entries:
            self._run_entry(entry, task.record, task.raw, task.link)

    def _run_entry(
        self,
        entry: _Entry,
        record: dict[str, Any],
        raw: dict[str, Any] | None,
        link: dict[str, Any],
        stamps: list[str] | None = None,
    ) -> None:
        if entry.raw:
            if raw is None:  # redaction order changed under us: never fall back to raw-less
                entry.skipped["no_raw_copy"] += 1
                return
            record = raw
        if not entry.shares:
            record = copy_json(record)  # the evaluator may change its copy; others must not see it
        self._run_one(entry, record, link, stamps)

    def _run_one(
        self,
        entry: _Entry,
        record: dict[str, Any],
        link: dict[str, Any],
        stamps: list[str] | None = None,
    ) -> None:
        """Run one evaluator and queue its results. ``stamps``: the ``[started_at, ended_at]`` shared by
        the evaluators run inline for one record (filled by the first that has a result: they run
        within microseconds of each other, one clock read and one ISO string serve them all)."""
        started = self._clock() if stamps is None else 0.0
        t0 = time.perf_counter()
        results = None
        try:
            if entry.shares:
                results = evaluate_record(entry.evaluator, record)
            else:
                from ..context import context

                with context(feature=JUDGE_FEATURE, metadata={JUDGE_METADATA_KEY: entry.name}):
                    results = evaluate_record(entry.evaluator, record)
        except EvaluationSkipped as skip:
            entry.skipped[skip.reason] += 1
        except BudgetExceededError:
            entry.skipped["budget"] += 1
        except InvalidEvaluation as exc:
            entry.invalid += 1
            entry.log_once("invalid", f"returned something that is not an evaluation: {exc}")
        except Exception as exc:
            entry.errors += 1
            entry.log_once("error", f"raised {type(exc).__name__}: {exc}", exc)
        elapsed_ms = (time.perf_counter() - t0) * 1000.0
        with entry.lock:
            entry.runs += 1
            entry.latency.add(elapsed_ms)
        if not results:
            return
        from .._records import iso

        if stamps is None:
            times = [iso(started), iso(self._clock())]
        else:
            if not stamps:
                now = iso(self._clock())
                stamps += (now, now)
            times = stamps
        for evaluation in results:
            self._emit(entry, evaluation.as_dict(entry.source), link, times[0], times[1])

    def _emit(
        self, entry: _Entry, evaluation: dict[str, Any], link: dict[str, Any], started: str, ended: str
    ) -> None:
        record: dict[str, Any] = {
            "schema_version": 1,
            "kind": "evaluation",
            "trace_id": link["trace_id"],
            "parent_span_id": link["span_id"],
            "started_at": started,
            "ended_at": ended,
            "target": {
                "record_id": link["record_id"],
                "response_id": link["response_id"],
                "trace_id": link["trace_id"],
            },
            "evaluation": evaluation,
            **link["scope"],
        }
        submit = self._submit
        entry.results += 1
        if submit is None or not submit(record):
            self.submit_failed += 1

    # -- lifecycle -----------------------------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued evaluation ran (results are then queued for export); True if all did."""
        deadline = time.monotonic() + max(0.0, timeout)
        return all(lane.wait_idle(deadline) for lane in self.lanes)

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop taking calls; let the lanes finish what is queued for half of ``timeout`` at most."""
        self._closed = True
        deadline = time.monotonic() + max(0.0, timeout) * 0.5
        for lane in self.lanes:
            lane.stop(deadline)
        for lane in self.lanes:
            thread = lane.thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def stats(self) -> dict[str, Any]:
        """``{"evaluation_pool": {...}}``: queue depth, drops, per-evaluator counters (a snapshot)."""
        evaluators = {entry.name: entry.stats() for entry in self.entries}
        return {
            "evaluation_pool": {
                "queued": sum(lane.queued() for lane in self.lanes),
                "dropped": sum(entry.dropped for entry in self.entries),
                "judge_calls_skipped": self.judge_calls_skipped,
                "submit_failed": self.submit_failed,
                "shutdown_dropped": self.shutdown_dropped,
                "lanes": len(self.lanes),
                "evaluators": evaluators,
            }
        }

    @property
    def evaluators(self) -> list[Any]:
        """The evaluators, in order."""
        return [entry.evaluator for entry in self.entries]


def _after_fork_in_child() -> None:
    for pool in list(_pools):
        for lane in pool.lanes:
            lane.reset_after_fork()
        pool._raw = None


os.register_at_fork(after_in_child=_after_fork_in_child)


__all__ = ["DEFAULT_QUEUE_SIZE", "EvaluationProcessor"]
