"""``llm-monitor tail``: records of a JSONL file as readable lines, following it across rotation."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ._common import default_path


def format_line(record: dict[str, Any], *, timestamps: bool = True) -> str:
    """One readable line for a record of any kind, starting with its time."""
    from ..exporters.console import format_record

    kind = record.get("kind")
    if kind in ("llm_call", "span"):
        text = format_record(record)
    elif kind in ("evaluation", "feedback"):
        evaluation = record.get("evaluation") if isinstance(record.get("evaluation"), dict) else {}
        target = record.get("target") if isinstance(record.get("target"), dict) else {}
        assert isinstance(evaluation, dict) and isinstance(target, dict)
        aim = next(
            (f"{k}={target[k]}" for k in ("record_id", "response_id", "trace_id") if target.get(k)), ""
        )
        text = (
            f"{kind} {evaluation.get('name')} score={evaluation.get('score')} passed={evaluation.get('passed')}"
            f"{' label=' + str(evaluation.get('label')) if evaluation.get('label') else ''} {aim}"
        ).rstrip()
    elif kind == "alert":
        alert = record.get("alert") if isinstance(record.get("alert"), dict) else {}
        assert isinstance(alert, dict)
        text = (
            f"alert {alert.get('state')} {alert.get('severity')} {alert.get('name')}: "
            f"{alert.get('metric')}={alert.get('value')} (threshold {alert.get('op')} {alert.get('threshold')})"
        )
    elif kind == "guardrail":
        guard = record.get("guardrail") if isinstance(record.get("guardrail"), dict) else {}
        assert isinstance(guard, dict)
        text = f"guardrail {guard.get('name')} {guard.get('stage')} {'BLOCKED' if guard.get('blocked') else 'passed'}"
        if guard.get("reason"):
            text += f" reason={guard.get('reason')}"
    elif kind == "event":
        event = record.get("event") if isinstance(record.get("event"), dict) else {}
        assert isinstance(event, dict)
        text = f"event {event.get('type')} " + " ".join(f"{k}={v}" for k, v in event.items() if k != "type")
    else:
        text = f"{kind} {record.get('record_id')}"
    if timestamps:
        moment = record.get("started_at") or record.get("ended_at") or "-"
        text = f"{moment} {text}"
    return text


def build_filter(args: argparse.Namespace) -> Callable[[dict[str, Any]], bool]:
    """The record test for ``--status``, ``--feature``, ``--model`` and ``--kind``."""

    def accept(record: dict[str, Any]) -> bool:
        if args.kind and record.get("kind") not in args.kind:
            return False
        if args.status and record.get("status") not in args.status:
            return False
        if args.feature and record.get("feature") not in args.feature:
            return False
        return not (
            args.model
            and record.get("request_model") not in args.model
            and record.get("response_model") not in args.model
        )

    return accept


def _run(args: argparse.Namespace) -> int:
    from ..analysis import reader

    path = args.path or default_path()
    accept = build_filter(args)
    try:
        files = reader.expand_paths(path)
    except FileNotFoundError as exc:
        if not args.follow:
            print(str(exc), file=sys.stderr)
            return 1
        files = []
    stats = reader.ReadStats()
    positions: dict[str, int] = {}
    for record in (
        reader.last_records(files, args.lines, accept=accept, stats=stats, positions=positions)
        if files
        else []
    ):
        print(format_line(record, timestamps=not args.no_time), flush=True)
    if not args.follow:
        return 0
    base = files[-1] if files and not reader._is_rotated_name(files[-1]) else path
    try:
        # Go on right after what was shown: nothing written meanwhile is missed or shown twice.
        for record in reader.follow(
            base, offset=positions.get(base), from_start=not files, poll=args.poll, stats=stats
        ):
            if accept(record):
                print(format_line(record, timestamps=not args.no_time), flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


def register(commands: Any) -> None:
    """Add the ``tail`` command."""
    tail = commands.add_parser(
        "tail", help="print records of a JSONL file as readable lines (-f follows, across rotation)"
    )
    tail.add_argument("path", nargs="?", help="the JSONL file (default: the JSONL path)")
    tail.add_argument(
        "-n", "--lines", type=int, default=20, help="how many past records to show first (default 20)"
    )
    tail.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new records, across rotation"
    )
    tail.add_argument(
        "--status", action="append", choices=("ok", "error", "blocked"), help="only calls with this status"
    )
    tail.add_argument("--feature", action="append", help="only records of this feature")
    tail.add_argument("--model", action="append", help="only calls to this model (requested or answered)")
    tail.add_argument(
        "--kind", action="append", help="only records of this kind (llm_call, span, feedback, ...)"
    )
    tail.add_argument("--no-time", action="store_true", help="leave out the timestamps")
    tail.add_argument("--poll", type=float, default=0.25, help=argparse.SUPPRESS)
    tail.set_defaults(func=_run)
