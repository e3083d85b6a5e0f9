"""``llm-monitor report``: latency, errors, tokens and cost from JSONL files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ._common import default_path, read_records


def _run(args: argparse.Namespace) -> int:
    from .._demo import summary_table
    from ..metrics import Aggregates

    if not os.path.exists(args.path):
        print(f"no such file: {args.path}", file=sys.stderr)
        return 1
    aggregates = Aggregates()
    for record in read_records(args.path):
        aggregates.add(record)
    stats = aggregates.summary()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(summary_table(stats))
        print(f"\nspans: {stats['spans']}   error rate: {stats['error_rate']:.2%}")
    return 0


def register(commands: Any) -> None:
    """Add the ``report`` command."""
    report = commands.add_parser(
        "report", help="P50/P90/P99 latency, errors, tokens and cost from a JSONL file"
    )
    report.add_argument("path", nargs="?", default=default_path())
    report.add_argument("--json", action="store_true", help="print the aggregates as JSON")
    report.set_defaults(func=_run)
