"""Burst: many calls from many threads as fast as the mock transport allows; is any record lost?

Run: ``python benchmarks/burst.py`` (100,000 calls from 8 threads; ``--quick``: 400 calls).

Default settings (JSONL exporter, redaction on, default queue size). After the burst, ``flush()``
waits for the worker; the script then compares the calls made, ``lm.stats()["dropped"]`` and the
lines in the JSONL file and its rotated backups (the default rotation keeps 5 files of
100 MB; 100,000 records of this size fill about one and a bit). Exits non-zero when a record is missing.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

import llm_monitor_sdk as lm


def main() -> None:
    """Run the burst and print the counts."""

    def configure(parser: object) -> None:
        parser.add_argument(
            "--calls", type=int, default=None, help="total calls (default 100,000; --quick: 400)"
        )  # type: ignore[attr-defined]
        parser.add_argument("--threads", type=int, default=8)  # type: ignore[attr-defined]

    args = common.parse_args(__doc__.splitlines()[0], configure)
    total = args.calls or (400 if args.quick else 100_000)
    threads = args.threads
    providers = common.available_providers(args.providers)
    if not providers:
        raise SystemExit("no provider SDK installed")
    provider = providers[0]
    jsonl = common.use_temp_jsonl()
    common.print_header("llm-monitor-sdk: burst")
    work = common.make_workload(provider, chunks=2)
    monitor = lm.instrument()
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def worker(n: int) -> None:
        start.wait()
        try:
            for _ in range(n):
                work.call()
        except BaseException as exc:  # reported below; a failed call would still be a record
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in per_thread]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    peak = 0
    while any(t.is_alive() for t in pool):
        peak = max(peak, monitor.pipeline.queued if monitor.pipeline is not None else 0)
        time.sleep(0.05)
    burst = time.perf_counter() - began
    flushed = lm.flush(600)
    drained = time.perf_counter() - began
    stats = lm.stats()
    lm.shutdown()
    lines = common.count_lines(jsonl)
    rows = [
        ["provider", provider],
        ["threads x calls", f"{threads} x {per_thread[0]:,}"],
        ["calls made", f"{total:,}"],
        ["burst duration s", f"{burst:.1f} ({total / burst:,.0f} calls/s)"],
        ["until flushed s", f"{drained:.1f}"],
        ["peak queue length", f"{peak:,}"],
        ["flush() returned", str(flushed)],
        ["lm.stats()['dropped']", f"{stats.get('dropped', 0):,}"],
        ["records in the JSONL files (incl. rotated)", f"{lines:,}"],
        ["call errors", str(len(errors))],
    ]
    common.print_table(["", "value"], rows)
    lost = total - lines
    print("no record lost" if lost == 0 else f"LOST {lost} records")
    if lost:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
