"""Offline evaluation runs: ``lm.evals.run(dataset, task, evaluators=...)`` and :class:`EvalRun`.

A run calls ``task(input)`` once per dataset example, each inside its own ``@observe`` span (so the
example is one trace), collects the records of the LLM calls the task made (cost, latency, tokens)
from the export worker, scores the example with the evaluators and keeps going when an example
raises. The result is an :class:`EvalRun`: one result dict per example and a summary; written as
JSONL (one ``{"type": "example", ...}`` line per example, then one ``{"type": "summary", ...}``
line) when ``output`` is given, and read back with :func:`load_run`.

The evaluators see an *example record*: a record dict shaped like an ``llm_call`` record, with the
example's input messages, the task's output as the output message, the example's ``reference`` and
any ``retrieval_sources`` of its metadata. Every built-in evaluator, judge and ``@lm.evaluator``
function works on it unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ._base import Evaluation, EvaluationSkipped, evaluate_record, is_judge_call
from ._resample import bootstrap_mean_ci, percentile

_log = logging.getLogger("llm_monitor_sdk.evals")

#: Bootstrap resamples for the confidence intervals of :meth:`EvalRun.summary`.
BOOTSTRAP_RESAMPLES = 2000
#: Seconds :func:`run` waits for the export worker to hand over the records of the task's calls.
COLLECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Example:
    """One dataset example: ``input`` (what ``task`` gets), ``reference``, ``metadata`` and an ``id``."""

    id: str
    input: Any
    reference: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _example_id(raw: Mapping[str, Any], index: int) -> str:
    for key in ("id", "example_id"):
        value = raw.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    metadata = raw.get("metadata")
    if isinstance(metadata, Mapping):
        for key in ("example_id", "record_id", "id"):
            value = metadata.get(key)
            if isinstance(value, str) and value:
                return value
    return f"example-{index}"


def _json_lines(path: str) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of each non-blank line of a JSONL file (``ValueError`` naming the file
    and line for one that is not JSON)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError:
                raise ValueError(f"{path}:{number}: not a JSON line") from None


def load_dataset(dataset: str | os.PathLike[str] | Iterable[Any]) -> list[Example]:
    """The examples of ``dataset``: a JSONL path (``llm-monitor dataset export`` output) or an iterable
    of ``{"input", "reference", "metadata"}`` dicts (or plain inputs). ``ValueError`` for a line that
    is not a JSON object, naming the file and line; duplicate ids get a ``#n`` suffix."""
    items: list[Any]
    if isinstance(dataset, str | os.PathLike):
        path = os.fspath(dataset)
        items = []
        for number, value in _json_lines(path):
            if not isinstance(value, dict):
                raise ValueError(f"{path}:{number}: an example must be a JSON object")
            items.append(value)
    elif isinstance(dataset, Mapping):
        raise ValueError("dataset must be a JSONL path or an iterable of examples, not one mapping")
    else:
        try:
            items = list(dataset)
        except TypeError:
            raise ValueError(
                f"dataset must be a JSONL path or an iterable of examples, not {type(dataset).__name__}"
            ) from None
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if isinstance(item, Example):
            example = item
        elif isinstance(item, Mapping) and "input" in item:
            reference = item.get("reference")
            metadata = item.get("metadata")
            example = Example(
                _example_id(item, index),
                item["input"],
                reference if isinstance(reference, str) else None,
                dict(metadata) if isinstance(metadata, Mapping) else {},
            )
        else:
            example = Example(f"example-{index}", item)
        count = seen.get(example.id, 0)
        seen[example.id] = count + 1
        if count:
            example = Example(f"{example.id}#{count}", example.input, example.reference, example.metadata)
        examples.append(example)
    return examples


# -- what the task's calls cost ----------------------------------------------------------------------


class _Collector:
    """A processor that keeps the ``llm_call`` records of the run's traces (worker thread only)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.traces: set[str] = set()
        self.records: dict[str, list[dict[str, Any]]] = {}

    def watch(self, trace_id: str) -> None:
        with self.lock:
            self.traces.add(trace_id)

    def process(self, record: dict[str, Any]) -> None:
        if record.get("kind") != "llm_call":
            return None
        trace_id = record.get("trace_id")
        if trace_id in self.traces:
            with self.lock:
                self.records.setdefault(trace_id, []).append(dict(record))
        return None

    def take(self, trace_id: str | None) -> list[dict[str, Any]]:
        if trace_id is None:
            return []
        with self.lock:
            return self.records.pop(trace_id, [])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _sum(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _usage(records: list[dict[str, Any]], key: str) -> int | None:
    total = _sum(_number((r.get("usage") or {}).get(key)) for r in records)
    return int(total) if total is not None else None


# -- the example record the evaluators see -----------------------------------------------------------


def _output_text(output: Any) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    text = getattr(output, "output_text", None) or getattr(output, "text", None)
    if isinstance(text, str):
        return text
    if isinstance(output, Mapping):
        for key in ("output", "text", "content", "answer"):
            if isinstance(output.get(key), str):
                return str(output[key])
    try:
        return json.dumps(output, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(output)


def _input_messages(value: Any) -> tuple[list[Any] | None, list[Any] | None]:
    if isinstance(value, Mapping):
        messages = value.get("input_messages")
        system = value.get("system_instructions")
        if isinstance(messages, list):
            return (system if isinstance(system, list) else None), messages
        for key in ("prompt", "question", "input", "text"):
            if isinstance(value.get(key), str):
                return None, [{"role": "user", "parts": [{"type": "text", "content": value[key]}]}]
        return None, None
    if isinstance(value, str):
        return None, [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    return None, None


def example_record(
    example: Example, output: Any, calls: list[dict[str, Any]], trace_id: str | None
) -> dict[str, Any]:
    """The record dict the evaluators score for one example (shaped like an ``llm_call`` record)."""
    system, messages = _input_messages(example.input)
    last = calls[-1] if calls else {}
    record: dict[str, Any] = {
        "schema_version": 1,
        "kind": "llm_call",
        "status": "ok",
        "record_id": example.id,
        "trace_id": trace_id,
        "provider": last.get("provider"),
        "model": last.get("model") or example.metadata.get("model"),
        "request_params": last.get("request_params") or {},
        "system_instructions": system,
        "input_messages": messages,
        "output_messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": _output_text(output)}]}
        ],
        "finish_reasons": last.get("finish_reasons") or [],
        "reference": example.reference,
        "retrieval_sources": example.metadata.get("retrieval_sources") or last.get("retrieval_sources"),
        "feature": example.metadata.get("feature"),
        "metadata": {},
        "safety": last.get("safety"),
    }
    return record


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class EvalRun:
    """The outcome of :func:`run`: ``results`` (one dict per example) and :meth:`summary`."""

    name: str
    results: list[dict[str, Any]]
    evaluators: list[str]
    seed: int = 0
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """Per evaluator ``count``, ``mean`` (with a 95 % bootstrap ``mean_ci``), ``pass_rate`` (with
        ``pass_rate_ci``); the run's ``examples``, ``errors``, ``cost_usd`` (total and per example),
        ``judge_cost_usd``, ``latency_ms`` p50/p90 and ``tokens``. Seeded: the same run gives the same
        intervals."""
        if self._summary is None:
            self._summary = summarize(self.name, self.results, self.evaluators, self.seed)
        return self._summary

    def scores(self, evaluator: str, what: str = "score") -> dict[str, float]:
        """``{example id: value}`` of one evaluator (``what``: ``"score"`` or ``"passed"`` as 0/1)."""
        values: dict[str, float] = {}
        for result in self.results:
            entry = (result.get("scores") or {}).get(evaluator)
            if not isinstance(entry, Mapping):
                continue
            value = entry.get(what)
            if isinstance(value, bool):
                values[str(result["id"])] = 1.0 if value else 0.0
            else:
                number = _number(value)
                if number is not None:
                    values[str(result["id"])] = number
        return values

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the run as JSONL: one ``example`` line per result, then the ``summary`` line."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            self._dump(handle)
        os.replace(tmp, path)

    def _dump(self, handle: IO[str]) -> None:
        for result in self.results:
            handle.write(json.dumps({"type": "example", **result}, default=str, ensure_ascii=False) + "\n")
        line = {"type": "summary", "name": self.name, "seed": self.seed, **self.summary()}
        handle.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")


def load_run(path: str | os.PathLike[str]) -> EvalRun:
    """Read a run written by :func:`run` (``output=``) or :meth:`EvalRun.write` (``ValueError`` for a
    file that holds no example lines, naming it)."""
    results: list[dict[str, Any]] = []
    name = os.path.basename(os.fspath(path))
    seed = 0
    evaluators: list[str] = []
    for _, value in _json_lines(os.fspath(path)):
        if not isinstance(value, dict):
            continue
        kind = value.pop("type", None)
        if kind == "example":
            results.append(value)
        elif kind == "summary":
            name = str(value.get("name") or name)
            seed = int(value.get("seed") or 0)
            evaluators = list((value.get("evaluators") or {}).keys())
    if not results:
        raise ValueError(f"{os.fspath(path)}: no eval-run examples in this file")
    if not evaluators:
        evaluators = sorted({key for r in results for key in (r.get("scores") or {})})
    return EvalRun(name, results, evaluators, seed)


def summarize(
    name: str, results: list[dict[str, Any]], evaluators: Sequence[str], seed: int = 0
) -> dict[str, Any]:
    """The summary of :meth:`EvalRun.summary` for a list of result dicts."""
    per: dict[str, Any] = {}
    for index, evaluator in enumerate(evaluators):
        scores: list[float] = []
        passes: list[float] = []
        for result in results:
            entry = (result.get("scores") or {}).get(evaluator)
            if not isinstance(entry, Mapping):
                continue
            score = _number(entry.get("score"))
            if score is not None:
                scores.append(score)
            if isinstance(entry.get("passed"), bool):
                passes.append(1.0 if entry["passed"] else 0.0)
        count = max(len(scores), len(passes))
        mean = sum(scores) / len(scores) if scores else None
        pass_rate = sum(passes) / len(passes) if passes else None
        per[evaluator] = {
            "count": count,
            "mean": mean,
            "mean_ci": bootstrap_mean_ci(scores, seed=seed + index, resamples=BOOTSTRAP_RESAMPLES)
            if scores
            else None,
            "pass_rate": pass_rate,
            "pass_rate_ci": bootstrap_mean_ci(passes, seed=seed + index, resamples=BOOTSTRAP_RESAMPLES)
            if passes
            else None,
            "errors": sum(1 for r in results if evaluator in (r.get("evaluator_errors") or {})),
        }
    latencies = sorted(v for r in results if (v := _number(r.get("latency_ms"))) is not None)
    costs = [_number(r.get("cost_usd")) for r in results]
    total_cost = _sum(costs)
    ok = [r for r in results if not r.get("error")]
    return {
        "name": name,
        "examples": len(results),
        "outputs": len(ok),
        "errors": len(results) - len(ok),
        "evaluators": per,
        "cost_usd": total_cost,
        "cost_per_example_usd": (total_cost / len(results)) if total_cost is not None and results else None,
        "judge_cost_usd": _sum(_number(r.get("judge_cost_usd")) for r in results),
        "llm_calls": sum(int(r.get("llm_calls") or 0) for r in results),
        "latency_ms": {
            "p50": percentile(latencies, 50) if latencies else None,
            "p90": percentile(latencies, 90) if latencies else None,
        },
        "tokens": {
            "input": sum(int(r.get("input_tokens") or 0) for r in results),
            "output": sum(int(r.get("output_tokens") or 0) for r in results),
        },
    }


def _resolve_evaluators(evaluators: Any) -> list[Any]:
    from . import resolve_evaluators

    return resolve_evaluators(evaluators, source="lm.evals.run(evaluators=...)")


class _Loop:
    """One event loop on its own thread for every async task of a run.

    Every example's coroutine runs on the same loop, so an async client shared by the examples (an
    ``AsyncOpenAI`` made once) keeps working: its connection pool is bound to one loop. Started on
    the first coroutine; the context of the calling thread (the example's span) goes with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def run(self, awaitable: Any) -> Any:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="llm-monitor-eval-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(_await(awaitable), loop).result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def drain() -> None:
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            if pending:
                await asyncio.wait(pending, timeout=5.0)
            await loop.shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout=10.0)
        except Exception:  # a stuck task: the daemon thread is left to the interpreter
            _log.debug("lm.evals.run: the async task loop did not drain", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5.0)
        if not thread.is_alive():
            loop.close()


def _call_task(task: Callable[[Any], Any], value: Any, loop: _Loop) -> Any:
    result = task(value)
    if inspect.isawaitable(result):
        return loop.run(result)
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _Progress:
    """A rich progress bar on a terminal (when ``rich`` is installed); nothing otherwise."""

    def __init__(self, total: int, name: str, enabled: bool | None) -> None:
        self._bar: Any = None
        self._task: Any = None
        if enabled is None:
            enabled = sys.stderr.isatty()
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            return
        # On stderr, so a run's progress never mixes with what the program prints on stdout.
        # Transient on a terminal; elsewhere (a CI log, asked for with progress=True) the final state stays.
        self._bar = Progress(console=Console(file=sys.stderr), transient=sys.stderr.isatty())
        self._task = self._bar.add_task(f"eval {name}", total=total)
        self._bar.start()

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def run(
    dataset: str | os.PathLike[str] | Iterable[Any],
    task: Callable[[Any], Any],
    *,
    evaluators: Any = (),
    name: str | None = None,
    concurrency: int = 4,
    output: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    seed: int = 0,
) -> EvalRun:
    """Run ``task`` over every example of ``dataset`` and score the outputs.

    ``dataset``: a JSONL path (``llm-monitor dataset export`` output) or an iterable of
    ``{"input", "reference", "metadata"}`` dicts. ``task(input)`` (sync or async) is called once per
    example inside its own ``@observe`` span; the LLM calls it makes are captured (monitoring must
    be on: when ``instrument()`` has not run, the run instruments for its own duration, exporting to
    memory only). ``evaluators``: built-in names (``"refusal"``, ``"rouge"``, ...) and/or evaluator
    objects (``LLMJudge``, ``@lm.evaluator`` functions), scored against the example's ``reference``.
    ``concurrency`` examples run at once (threads). An example whose task raises is recorded with
    ``error`` and the run goes on. ``output``: write the run as JSONL. ``progress``: a progress bar
    (default: on a terminal, when ``rich`` is installed). ``seed`` fixes the bootstrap intervals.
    """
    from .. import _api, _runtime
    from ..context import current_trace_id, observe

    if not callable(task):
        raise ValueError(f"lm.evals.run: task must be callable, not {task!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"lm.evals.run: concurrency must be a positive int, not {concurrency!r}")
    examples = load_dataset(dataset)
    chosen = _resolve_evaluators(evaluators)
    run_name = name or getattr(task, "__name__", None) or "eval"
    started_here = _runtime.active is None
    if started_here:
        _log.info("lm.evals.run: monitoring was off; instrumenting for this run (records kept in memory)")
        _api.instrument(exporters="none")
    monitor = _runtime.active
    collector = _Collector()
    detach = monitor.attach_processor(collector) if monitor is not None else (lambda: None)
    results: list[dict[str, Any] | None] = [None] * len(examples)
    traces: list[str | None] = [None] * len(examples)
    bar = _Progress(len(examples), run_name, progress)
    loop = _Loop()

    def one(index: int) -> None:
        example = examples[index]
        outcome: dict[str, Any] = {}

        @observe(f"eval:{run_name}", feature=example.metadata.get("feature"))
        def in_span(value: Any) -> Any:
            trace_id = current_trace_id()
            traces[index] = trace_id
            if trace_id is not None:
                collector.watch(trace_id)
            return _call_task(task, value, loop)

        begun = time.perf_counter()
        try:
            outcome["output"] = in_span(example.input)
        except Exception as exc:
            outcome["error"] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
        outcome["latency_ms"] = (time.perf_counter() - begun) * 1000.0
        results[index] = outcome
        bar.advance()

    try:
        if concurrency == 1 or len(examples) <= 1:
            for index in range(len(examples)):
                one(index)
        else:
            from ..context import ContextThreadPoolExecutor

            with ContextThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(one, range(len(examples))))
        if monitor is not None:
            _api.flush(COLLECT_TIMEOUT)
        finished = [
            _score(example, results[i] or {}, collector.take(traces[i]), traces[i], chosen)
            for i, example in enumerate(examples)
        ]
        if monitor is not None and chosen:
            _api.flush(COLLECT_TIMEOUT)  # judge calls made while scoring
            for i, item in enumerate(finished):
                judge_calls = collector.take(traces[i])
                cost = _sum(_number(r.get("cost_usd")) for r in judge_calls)
                if cost is not None:
                    item["judge_cost_usd"] = (item.get("judge_cost_usd") or 0.0) + cost
    finally:
        loop.close()
        bar.close()
        detach()
        if started_here:
            _api.uninstrument()
    outcome_run = EvalRun(run_name, finished, [e.name for e in chosen], seed)
    if output is not None:
        outcome_run.write(output)
    return outcome_run


def _score(
    example: Example,
    outcome: dict[str, Any],
    calls: list[dict[str, Any]],
    trace_id: str | None,
    evaluators: list[Any],
) -> dict[str, Any]:
    task_calls = [r for r in calls if not is_judge_call(r)]
    judge_calls = [r for r in calls if is_judge_call(r)]
    output = outcome.get("output")
    result: dict[str, Any] = {
        "id": example.id,
        "input": example.input,
        "output": _output_text(output) if "error" not in outcome else None,
        "reference": example.reference,
        "metadata": example.metadata,
        "trace_id": trace_id,
        "scores": {},
        "cost_usd": _sum(_number(r.get("cost_usd")) for r in task_calls),
        "judge_cost_usd": _sum(_number(r.get("cost_usd")) for r in judge_calls),
        "latency_ms": outcome.get("latency_ms"),
        "llm_latency_ms": _sum(_number(r.get("latency_ms")) for r in task_calls),
        "llm_calls": len(task_calls),
        "input_tokens": _usage(task_calls, "input_tokens"),
        "output_tokens": _usage(task_calls, "output_tokens"),
        "models": sorted({str(r.get("model")) for r in task_calls if r.get("model")}),
        "error": outcome.get("error"),
    }
    if "error" in outcome:
        return result
    record = example_record(example, output, task_calls, trace_id)
    errors: dict[str, str] = {}
    for evaluator in evaluators:
        try:
            evaluations = _in_trace(trace_id, evaluate_record, evaluator, record)
        except EvaluationSkipped as exc:
            errors[evaluator.name] = f"skipped: {exc}"
            continue
        except Exception as exc:
            errors[evaluator.name] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        for evaluation in evaluations:
            result["scores"][evaluation.name] = _entry(evaluation)
    if errors:
        result["evaluator_errors"] = errors
    return result


def _in_trace(trace_id: str | None, func: Callable[..., Any], *args: Any) -> Any:
    """Run ``func`` with ``trace_id`` as the current trace, so judge calls land in the example's trace."""
    if trace_id is None:
        return func(*args)
    from ..context import _SCOPE, current_scope, new_span_id

    token = _SCOPE.set(current_scope().merged(trace_id=trace_id, span_id=new_span_id()))
    try:
        return func(*args)
    finally:
        _SCOPE.reset(token)


def _entry(evaluation: Evaluation) -> dict[str, Any]:
    entry = evaluation.as_dict()
    del entry["name"]  # the key of ``scores``
    return entry


__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "COLLECT_TIMEOUT",
    "EvalRun",
    "Example",
    "example_record",
    "load_dataset",
    "load_run",
    "run",
    "summarize",
]
