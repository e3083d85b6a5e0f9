"""``llm-monitor drift``: drift of prompts, outputs and latency between two time ranges."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._common import default_path


def _run(args: argparse.Namespace) -> int:
    from ..analysis.drift import drift_files

    try:
        result = drift_files(
            args.path or default_path(),
            args.baseline,
            args.current,
            by=args.by,
            sample=args.sample,
            engine=args.engine,
        )
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"baseline {result['baseline_range']} ({result['baseline_records']:,} calls)")
    print(f"current  {result['current_range']} ({result['current_records']:,} calls)")
    print(f"{'descriptor':<15} {'baseline mean':>14} {'current mean':>13} {'PSI':>9}")
    for name, d in result["descriptors"].items():
        psi = "-" if d["psi"] is None else f"{d['psi']:.4f}"
        flag = "  drift" if d["psi"] is not None and d["psi"] > 0.2 else ""
        base = "-" if d["baseline_mean"] is None else f"{d['baseline_mean']:.2f}"
        cur = "-" if d["current_mean"] is None else f"{d['current_mean']:.2f}"
        print(f"{name:<15} {base:>14} {cur:>13} {psi:>9}{flag}")
    distance = result["vocabulary"]["js_distance"]
    print(f"user-input words: Jensen-Shannon distance {'-' if distance is None else f'{distance:.4f}'}")
    print(f"emerging terms: {', '.join(result['emerging_terms']) or 'none'}")
    for key, group in (result.get("groups") or {}).items():
        print(f"  {args.by}={key}: {'drifted' if group['drifted'] else 'no drift'}")
    if result.get("warning"):
        print(f"note: {result['warning']}")
    print("drifted" if result["drifted"] else "no drift")
    return 0


def register(commands: Any) -> None:
    """Add the ``drift`` command."""
    drift = commands.add_parser("drift", help="drift of prompts, outputs and latency between two time ranges")
    drift.add_argument(
        "path", nargs="?", metavar="PATH", help="JSONL file, directory or glob (default: the JSONL path)"
    )
    drift.add_argument(
        "--baseline", required=True, metavar="FROM..TO", help="baseline range (ISO dates or times)"
    )
    drift.add_argument(
        "--current", required=True, metavar="FROM..TO", help="current range (ISO dates or times)"
    )
    drift.add_argument("--by", help="also compare per value of this field (e.g. feature)")
    drift.add_argument(
        "--sample", type=int, default=20000, help="calls per side at most (a deterministic sample)"
    )
    drift.add_argument("--engine", default="auto", choices=("auto", "duckdb", "python"))
    drift.add_argument("--json", action="store_true", help="print the result as JSON")
    drift.set_defaults(func=_run)
