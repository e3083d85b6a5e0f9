"""``llm-monitor report``: a summary of JSONL records in the terminal, as JSON, or as one HTML file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._common import default_path


def _run(args: argparse.Namespace) -> int:
    from ..analysis import reader
    from ..analysis._extras import MissingExtraError
    from ..analysis.summary import DIMENSIONS, summarize

    if args.by not in DIMENSIONS:
        raise ValueError(f"--by must be one of {', '.join(DIMENSIONS)}, got {args.by!r}")
    paths = args.paths or [default_path()]
    try:
        files = reader.expand_paths(paths)
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if not files:
        print(f"no files match: {' '.join(paths)}", file=sys.stderr)
        return 1
    stats = reader.ReadStats()
    try:
        summary = summarize(
            files,
            since=args.since,
            start=args.start,
            end=args.end,
            engine=args.engine,
            targets=args.slo,
            alert_targets=not args.no_alert_targets,
            top=args.top,
            stats=stats,
            drift=bool(args.html),
            baseline=args.baseline,
        )
        if stats.noteworthy:
            print(stats.summary_line(), file=sys.stderr)
        if args.html:
            from ..report.html import write_html

            size = write_html(args.html, summary, drift=summary.get("drift"))
            print(f"wrote {args.html} ({size / 2**20:.1f} MB)", file=sys.stderr)
    except MissingExtraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not args.html or args.print:
        from ..report.terminal import render_terminal

        sys.stdout.write(render_terminal(summary, by=args.by, color=sys.stdout.isatty()))
    return 0


def register(commands: Any) -> None:
    """Add the ``report`` command."""
    report = commands.add_parser(
        "report",
        help="latency, errors, cost, tokens, evaluations and drift from JSONL files (terminal, JSON or HTML)",
        description="Reads JSONL record files (globs and directories too; rotated .1 ... and .gz files are "
        "included) and prints a summary. A live process's numbers: `llm-monitor report --since 5m`.",
    )
    report.add_argument(
        "paths", nargs="*", metavar="PATH", help="files, directories or globs (default: the JSONL path)"
    )
    report.add_argument("--since", help="only the last DURATION (e.g. 5m, 24h, 7d)")
    report.add_argument(
        "--from", dest="start", metavar="TIME", help="only records at or after TIME (ISO date or time, UTC)"
    )
    report.add_argument("--to", dest="end", metavar="TIME", help="only records before TIME")
    report.add_argument(
        "--by",
        default="model",
        help="group the terminal table by model (default), provider, feature, "
        "tenant, user, session, prompt_name, prompt_version, prompt_fingerprint, variant or service",
    )
    report.add_argument("--json", action="store_true", help="print the summary as JSON")
    report.add_argument("--html", metavar="FILE", help="write one self-contained HTML report to FILE")
    report.add_argument("--print", action="store_true", help="with --html, also print the terminal summary")
    report.add_argument(
        "--baseline",
        metavar="FROM..TO",
        help="the HTML drift panel compares this range with the report's "
        "(default: the first third of the range against the last third)",
    )
    report.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="TARGET",
        help="an SLO target such as latency_p99_ms<=2000 or error_rate<0.01 (repeatable)",
    )
    report.add_argument(
        "--no-alert-targets", action="store_true", help="do not take SLO targets from LLM_MONITOR_ALERTS"
    )
    report.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "duckdb", "python"),
        help="auto: DuckDB for large inputs when installed (the [report] extra)",
    )
    report.add_argument("--top", type=int, default=20, help="rows in top lists (default 20)")
    report.set_defaults(func=_run)
