"""``llm-monitor dataset export``: a regression dataset from past calls."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import default_path


def _export(args: argparse.Namespace) -> int:
    from ..analysis.datasets import export_dataset

    counts: dict[str, int] = {}
    try:
        written = export_dataset(
            args.path or default_path(),
            args.output,
            filters=args.filter,
            since=args.since,
            start=args.start,
            end=args.end,
            min_feedback=args.min_feedback,
            feedback_name=args.feedback_name,
            sample=args.sample,
            seed=args.seed,
            counts=counts,
        )
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    note = f"{written:,} examples of {counts.get('matched', 0):,} matching calls"
    if counts.get("without_content"):
        note += f" ({counts['without_content']:,} had no captured content)"
    print(
        note + (f" written to {args.output}" if args.output and args.output != "-" else ""), file=sys.stderr
    )
    return 0


def register(commands: Any) -> None:
    """Add the ``dataset`` command group."""
    dataset = commands.add_parser("dataset", help="regression datasets from past calls")
    actions = dataset.add_subparsers(dest="dataset_command", required=True)
    export = actions.add_parser(
        "export",
        help="one {input, reference, metadata} line per call",
        description="Writes one JSON line per call: input = system instructions and input messages (as "
        "recorded, redactions kept), reference = the recorded output text, metadata = ids, model, "
        "feature, prompt fingerprint and version. Only successful calls unless a status filter is given.",
    )
    export.add_argument(
        "path", nargs="?", metavar="PATH", help="JSONL file, directory or glob (default: the JSONL path)"
    )
    export.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep calls whose field KEY has VALUE (any top-level field, dotted paths, model; repeatable)",
    )
    export.add_argument("--since", help="only the last DURATION (e.g. 7d)")
    export.add_argument("--from", dest="start", metavar="TIME")
    export.add_argument("--to", dest="end", metavar="TIME")
    export.add_argument(
        "--min-feedback",
        type=float,
        metavar="SCORE",
        help="only calls whose feedback averages at least SCORE",
    )
    export.add_argument(
        "--feedback-name", metavar="NAME", help="with --min-feedback: only feedback of this name"
    )
    export.add_argument("--sample", type=int, metavar="N", help="a seeded random sample of N calls")
    export.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: standard output)")
    export.set_defaults(func=_export)
