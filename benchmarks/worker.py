"""The export worker with every feature on: per-stage CPU cost per record, and end-to-end throughput.

Run: ``python benchmarks/worker.py`` (``--quick`` for a smoke run).

Configuration ("everything on"): the defaults plus redaction, 10 alert rules (those of
``benchmarks/alerts.py``), the five heuristic evaluators at sample rate 1.0 (``refusal``,
``prompt_injection``, ``user_correction``, ``grounding``, ``json_valid``), prompt fingerprints and
the JSONL exporter. The records are realistic chat calls (``benchmarks/pipeline.py``'s: ~1 KB prompt
and ~1 KB response each, every text different, some with e-mail addresses and phone numbers),
captured by the real wrapper around a stand-in OpenAI method.

1. Per stage: the worker's steps run one by one on this thread over the same calls, each timed with
   ``time.thread_time`` (CPU, not wall): build (the record from the call and its pydantic response),
   usage and cost, redaction, fingerprint, each processor (metrics, alerts, evaluation: the built-in
   heuristics run inline there, and each one's share is shown below it), JSON encoding and the file
   write. The table shows CPU µs per record.
2. End to end: the same calls through a fresh monitor's real worker, with the evaluation pool
   running. ``records/s (wall)`` is records / time until ``flush()`` returned; ``records/s (CPU)``
   is records / process CPU seconds in that time (worker, pool and every other thread: what the
   machine pays per record).
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common
from alerts import RULES
from pipeline import make_calls

import llm_monitor_sdk as lm

EVALUATORS = "refusal,prompt_injection,user_correction,grounding,json_valid"


def _settings(path: str) -> dict[str, Any]:
    return {
        "exporters": "jsonl",
        "jsonl_path": path,
        "redact": True,
        "alerts": RULES,
        "evaluators": EVALUATORS,
    }


def _warm(monitor: Any) -> None:
    from llm_monitor_sdk import tokens

    tokens.preload(background=False)
    if monitor.prices is not None:
        monitor.prices.preload(background=False)


def stages(all_calls: list[Any], path: str, warm: int = 200) -> list[list[Any]]:
    """CPU µs per record of every worker step, run one after the other on this thread.

    The first ``warm`` calls go through every step untimed first (lazy set-up: detector regexes,
    price lookups, tokenizer tables), then the rest is measured."""
    from llm_monitor_sdk.evaluation import resolve_evaluators

    monitor = lm.instrument(**_settings(path))
    _warm(monitor)
    evaluators = resolve_evaluators(EVALUATORS)
    cost: dict[str, float] = {}
    for calls in (all_calls[:warm], all_calls[warm:]):
        cost.clear()
        n = _stage_pass(monitor, calls, cost, evaluators)
    lm.uninstrument()
    rows = [[name, seconds / n * 1e6] for name, seconds in cost.items()]
    # The built-in heuristics run inline in the evaluation processor: their own rows break that
    # stage down and are not added again.
    rows.append(["total", sum(v for k, v in cost.items() if not k.startswith("  of which")) / n * 1e6])
    return rows


def _stage_pass(monitor: Any, calls: list[Any], cost: dict[str, float], evaluators: list[Any]) -> int:
    from llm_monitor_sdk._monitor import prompt_fingerprint
    from llm_monitor_sdk._records import build_call_record
    from llm_monitor_sdk.evaluation._base import evaluate_record
    from llm_monitor_sdk.exporters._base import encode_record

    n = len(calls)

    def timed(name: str, func: Any, items: list[Any]) -> list[Any]:
        gc.collect()
        started = time.thread_time()
        out = [func(item) for item in items]
        cost[name] = cost.get(name, 0.0) + (time.thread_time() - started)
        return out

    def build(call: Any) -> dict[str, Any]:
        return build_call_record(call, monitor._max_content_chars)

    records = timed("build (record from call and response)", build, calls)

    def usage_cost(pair: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
        monitor._complete_call_record(pair[0], pair[1])
        return pair[1]

    records = timed("usage, cost, budget settle", usage_cost, list(zip(calls, records, strict=True)))
    redactor = monitor.redactor
    assert redactor is not None

    def redact(record: dict[str, Any]) -> dict[str, Any]:
        redactor.redact_record(record)
        return record

    records = timed("redaction", redact, records)

    def fingerprint(record: dict[str, Any]) -> dict[str, Any]:
        record["prompt_fingerprint"] = prompt_fingerprint(record.get("system_instructions"))
        return record

    records = timed("prompt fingerprint", fingerprint, records)
    for entry in monitor._processors:

        def run(record: dict[str, Any], processor: Any = entry.processor) -> dict[str, Any]:
            processor.process(record)
            return record

        timed(f"processor {entry.name}", run, records)
    monitor.flush(120)  # let the pool finish what the evaluation processor handed over
    for evaluator in evaluators:

        def score(record: dict[str, Any], evaluator: Any = evaluator) -> None:
            try:
                evaluate_record(evaluator, record)
            except Exception:  # a skipped evaluation costs what it cost
                pass

        timed(f"  of which: evaluator {evaluator.name}", score, records)
    lines = timed("JSON encode", encode_record, records)
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "stage.jsonl")
        with open(target, "ab", buffering=0) as handle:
            chunk = 512

            def write(start: int) -> None:
                handle.write(b"".join(line + b"\n" for line in lines[start : start + chunk]))

            starts = list(range(0, n, chunk))
            gc.collect()
            began = time.thread_time()
            for start in starts:
                write(start)
            cost["file write (512-record batches)"] = time.thread_time() - began
    return n


def end_to_end(calls: list[Any], path: str) -> list[Any]:
    """Records/s through the real worker with everything on (wall and CPU)."""
    monitor = lm.instrument(**_settings(path))
    _warm(monitor)
    pipeline = monitor.pipeline
    assert pipeline is not None
    for call in calls[:200]:
        pipeline.submit(call)
    monitor.flush(120)
    gc.collect()
    measured = calls[200:]
    wall, cpu = time.perf_counter(), time.process_time()
    for call in measured:
        pipeline.submit(call)
    ok = monitor.flush(600)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = monitor.stats()
    lm.uninstrument()
    pool = stats.get("evaluation_pool", {})
    return [
        len(measured),
        len(measured) / wall,
        len(measured) / cpu,
        stats.get("dropped", 0),
        pool.get("dropped", 0),
        "yes" if ok else "NO (flush timed out)",
    ]


def main() -> None:
    """Per-stage table, then the end-to-end row."""
    args = common.parse_args(__doc__.splitlines()[0])
    n = 300 if args.quick else 5_000
    path = common.use_temp_jsonl()
    common.print_header("llm-monitor-sdk: export worker with every feature on")
    from llm_monitor_sdk.redaction import _prefilter

    print(f"redaction accelerator: {'on' if _prefilter.available() else 'off (pure Python)'}")
    print(f"alert rules: {len(RULES.split(';'))}; evaluators: {EVALUATORS} (sample rate 1.0)\n")
    print(f"Per stage ({n:,} records, CPU µs per record, each stage run alone on this thread):\n")
    common.print_table(["stage", "CPU µs/record"], stages(make_calls(n + 200), path))
    print("End to end (the real worker and evaluation pool):\n")
    common.print_table(
        ["records", "records/s (wall)", "records/s (CPU)", "dropped", "pool dropped", "flushed"],
        [end_to_end(make_calls(n + 200), path)],
    )


if __name__ == "__main__":
    main()
