"""Report speed and memory on a week of realistic records.

Run: ``python benchmarks/report.py`` (1,000,000 records over 7 days; ``--quick`` for 20,000).

Writes the records once as a rotated set (``records.jsonl`` plus ``.1`` ... with the two oldest files
gzipped; see ``_records.py``), then times ``llm-monitor report`` as a separate process for each case
and reads its peak resident memory (``ru_maxrss`` of the child):

1. ``--json`` with DuckDB (target <= 30 s, <= 1.5 GB),
2. ``--html`` with DuckDB (target <= 60 s, <= 1.5 GB; the file <= 10 MB),
3. ``--json`` with the pure-Python engine (target <= 5 minutes), on a quarter of the records and on
   all of them: equal peak memory means memory does not grow with the number of records.

Targets are printed next to the numbers; ``--quick`` runs do not judge them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _records


def _run(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one ``llm-monitor`` run in a fresh process."""
    script = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "elapsed = time.perf_counter() - start\n"
        "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sys.executable, "-m", "llm_monitor_sdk.cli", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"llm-monitor {' '.join(args)} failed ({code}): {out.stderr}")
    return float(seconds), float(rss)


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 records: checks the script runs")
    parser.add_argument("--records", type=int, help="how many records (default 1,000,000)")
    parser.add_argument("--dir", help="where to write (and reuse) the records (default: a temporary folder)")
    parser.add_argument("--skip-python", action="store_true", help="leave out the pure-Python runs")
    args = parser.parse_args()
    n = args.records or (20_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="llm-monitor-report-bench-") as scratch:
        directory = Path(args.dir or scratch) / f"n{n}"
        base = directory / "records.jsonl"
        start = time.perf_counter()
        if not base.exists():
            _records.write(str(directory), n, days=7)
            print(f"wrote {n:,} records in {time.perf_counter() - start:.1f} s")
        files = [p for p in directory.iterdir() if p.name.startswith("records.jsonl")]
        on_disk = sum(p.stat().st_size for p in files)
        plain = [p for p in files if not p.name.endswith(".gz")]
        per_record = sum(p.stat().st_size for p in plain) / max(sum(_lines(p) for p in plain), 1)
        print(
            f"files: {sorted(p.name for p in files)}; {on_disk / 2**20:.0f} MB on disk, ~{per_record:.0f} bytes per record"
        )
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        rows = []
        seconds, rss = _run(["report", str(base), "--json", "--engine", "duckdb"])
        rows.append(("report --json (DuckDB)", seconds, rss, "<= 30 s, <= 1536 MB"))
        page = directory / "report.html"
        seconds, rss = _run(["report", str(base), "--html", str(page), "--engine", "duckdb"])
        rows.append(("report --html (DuckDB)", seconds, rss, "<= 60 s, <= 1536 MB"))
        html_mb = page.stat().st_size / 2**20
        if not args.skip_python:
            quarter = directory / "records.jsonl.1"  # one of six files: a sixth of the records
            seconds, rss_small = _run(["report", str(quarter), "--json", "--engine", "python"])
            rows.append((f"report --json (Python), {n // 6:,} records", seconds, rss_small, ""))
            seconds, rss = _run(["report", str(base), "--json", "--engine", "python"])
            rows.append((f"report --json (Python), {n:,} records", seconds, rss, "<= 300 s"))
        print(f"\n{'case':<44} {'seconds':>9} {'peak MB':>9}   target")
        for name, seconds, rss, target in rows:
            print(f"{name:<44} {seconds:>9.1f} {rss:>9.0f}   {target}")
        print(f"{'HTML file size':<44} {html_mb:>9.2f} MB   <= 10 MB")
        if not args.quick:
            verdicts = [
                rows[0][1] <= 30 and rows[0][2] <= 1536,
                rows[1][1] <= 60 and rows[1][2] <= 1536,
                html_mb <= 10,
            ]
            if not args.skip_python:
                verdicts.append(rows[3][1] <= 300)
            print(
                "targets met"
                if all(verdicts)
                else "some targets missed (see above; a loaded machine is slower)"
            )


if __name__ == "__main__":
    main()
