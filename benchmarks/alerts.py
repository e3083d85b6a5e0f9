"""Alert engine cost on the export worker, its memory, and the caller's time with alerts on.

Run: ``python benchmarks/alerts.py`` (``--quick`` for a smoke run of a few seconds).

1. Worker cost: synthetic ``llm_call`` records (2 % errors of mixed categories, a third streamed
   with a TTFT, lognormal latencies, a cost and tokens each; users, features and tenants drawn from
   1,000 each) go through ``AlertProcessor.process`` with 10 rules, three of them ``by=`` with 1,000
   groups, at 200 records per simulated second, with ``tick(now)`` once per simulated second (as the
   worker does). Cost per record = total time / records, ticks included. The rules' windows are
   filled first (a 1 h window of simulated traffic), then the measured stretch runs.
2. Memory: the same run under ``tracemalloc``: memory held by the processor (its windows, groups,
   states) after the warm-up, measured as traced memory minus what was traced before it was built.
3. Caller's thread: median time of one call through the real OpenAI SDK to the in-process fake
   provider, with the monitoring processors attached and without, alternating blocks (alert work
   happens on the export worker, so the two should only differ by noise).
"""

from __future__ import annotations

import gc
import logging
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

RULES = "; ".join(
    [
        "error_rate>0.05 over 5m by=user",
        "latency_p99_ms>4000 over 5m by=feature",
        "cost_usd>1 over 1h by=tenant",
        "latency_p99_ms>4000 over 5m min_calls=50",
        "error_rate>0.02 over 5m",
        "consecutive_errors>=5 over 10m",
        "ttft_p90_ms>1500 over 5m",
        "cost_usd.zscore>3 over 1h baseline=6h",
        "timeout_rate>0.01 over 15m",
        "total_tokens>10000000 over 1h",
    ]
)
GROUPS = 1000
RATE = 200.0  # records per simulated second
T0 = 1_800_000_000.0
_CATEGORIES = ("timeout", "connection", "server", "rate_limit", "client")


def make_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` distinct records (the benchmark cycles through them)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        failed = rng.random() < 0.02
        streamed = i % 3 == 0
        latency = rng.lognormvariate(6.5, 0.6)
        record: dict[str, Any] = {
            "kind": "llm_call",
            "provider": ("openai", "anthropic", "gcp.gemini")[i % 3],
            "request_model": "gpt-4o-mini",
            "response_model": "gpt-4o-mini",
            "status": "error" if failed else "ok",
            "error": {
                "type": "x.Error",
                "message": "m",
                "status_code": None,
                "category": rng.choice(_CATEGORIES),
            }
            if failed
            else None,
            "latency_ms": latency,
            "ttft_ms": latency * 0.3 if streamed and not failed else None,
            "usage": None if failed else {"input_tokens": 400, "output_tokens": 120, "total_tokens": 520},
            "cost_usd": None if failed else 0.00012,
            "user_id": f"user-{rng.randrange(GROUPS)}",
            "feature": f"feature-{rng.randrange(GROUPS)}",
            "tenant_id": f"tenant-{rng.randrange(GROUPS)}",
            "metadata": {},
            "finish_reasons": [] if failed else ["stop"],
            "safety": {"content_filtered": False, "refusal": False},
        }
        out.append(record)
    return out


def drive(
    processor: Any, records: list[dict[str, Any]], start: float, count: int, clock: list[float]
) -> float:
    """Feed ``count`` records at RATE per simulated second; returns the wall time spent (seconds)."""
    step = 1.0 / RATE
    now = start
    next_tick = start + 1.0
    pool = len(records)
    process, tick = processor.process, processor.tick
    began = time.process_time()
    for i in range(count):
        now += step
        clock[0] = now
        process(records[i % pool])
        if now >= next_tick:
            tick(now)
            next_tick += 1.0
    spent = time.process_time() - began
    clock[0] = now
    return spent


def build(clock: list[float]) -> Any:
    from llm_monitor_sdk.monitoring import AlertProcessor

    return AlertProcessor(RULES, clock=lambda: clock[0])


def worker_cost(quick: bool) -> dict[str, float]:
    records = make_records(5_000 if quick else 50_000)
    warm = 20_000 if quick else int(RATE * 3600)  # fill the 1 h windows
    measured = 20_000 if quick else 400_000
    clock = [T0]
    processor = build(clock)
    drive(processor, records, T0, warm, clock)
    gc.collect()
    spent = drive(processor, records, clock[0], measured, clock)
    stats = processor.stats()["alerts"]
    return {
        "records": measured,
        "us_per_record": spent / measured * 1e6,
        "groups": stats["groups"],
        "fired": stats["fired"],
        "resolved": stats["resolved"],
    }


def memory(quick: bool) -> dict[str, float]:
    records = make_records(5_000 if quick else 50_000)
    warm = 20_000 if quick else int(RATE * 3600)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    clock = [T0]
    processor = build(clock)
    drive(processor, records, T0, warm, clock)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    groups = processor.stats()["alerts"]["groups"]
    del processor
    return {"mb": held / 1e6, "groups": groups}


def reference_ns() -> float:
    """CPU ns per iteration of a fixed tiny loop (a dict get, two list increments): how fast this
    machine runs Python right now, to read the other numbers against (load changes it a lot)."""
    table, cells = {"a": 1}, [0] * 5
    began = time.process_time()
    for _ in range(300_000):
        x = table.get("a")
        cells[1] += 1
        cells[2] += x
    return (time.process_time() - began) / 300_000 * 1e9


def caller_time(quick: bool) -> dict[str, float]:
    import llm_monitor_sdk as lm
    from llm_monitor_sdk.config import load_settings
    from llm_monitor_sdk.monitoring import build_processors

    workload = common.make_workload("openai")
    rounds, per_block = (2, 50) if quick else (8, 300)
    samples: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(rounds):
        for label in ("without", "with"):
            processors = build_processors(load_settings(alerts=RULES)) if label == "with" else []
            lm.instrument(providers=["openai"], exporters=["none"], processors=processors)
            times = []
            for _ in range(per_block):
                began = time.perf_counter()
                workload.call()
                times.append(time.perf_counter() - began)
            lm.flush(10)
            lm.uninstrument()
            samples[label].append(statistics.median(times) * 1e6)
    return {label: statistics.median(values) for label, values in samples.items()}


def main() -> None:
    args = common.parse_args(__doc__.splitlines()[0])
    # The synthetic traffic fires alerts; their log lines would only slow the run down.
    logging.getLogger("llm_monitor_sdk.alerts").setLevel(logging.ERROR)
    common.print_header("Alert engine: worker cost, memory, caller's thread")
    print(f"rules ({len(RULES.split(';'))}): {RULES}")
    print(f"traffic: {RATE:.0f} records per simulated second, {GROUPS} users/features/tenants\n")
    before = reference_ns()
    cost = worker_cost(args.quick)
    reference = (before + reference_ns()) / 2
    mem = memory(args.quick)
    common.print_table(
        ["measure", "value", "target"],
        [
            ["worker cost per record (CPU µs, ticks included)", cost["us_per_record"], "<= 5"],
            ["reference loop (CPU ns per iteration, same run)", reference, ""],
            ["worker cost in reference-loop iterations", cost["us_per_record"] * 1000 / reference, ""],
            ["memory held by the alert processor (MB)", mem["mb"], "<= 20"],
            ["groups held (all rules)", int(mem["groups"]), ""],
            ["records measured", int(cost["records"]), ""],
            ["alerts fired / resolved while measuring", f"{cost['fired']:.0f} / {cost['resolved']:.0f}", ""],
        ],
    )
    caller = caller_time(args.quick)
    common.print_table(
        ["OpenAI call, in-process fake (median µs)", "without alerts", "with alerts", "difference"],
        [["caller's thread", caller["without"], caller["with"], caller["with"] - caller["without"]]],
    )


if __name__ == "__main__":
    main()
