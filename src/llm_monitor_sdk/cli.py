"""The ``llm-monitor`` command: ``demo``, ``report``, ``tail``, ``budget status``, ``config``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

DEFAULT_PATH = "./llm-monitor/records.jsonl"


def _default_path() -> str:
    return os.environ.get("LLM_MONITOR_JSONL_PATH") or DEFAULT_PATH


def _read_records(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                print(f"{path}:{number}: skipped a line that is not JSON", file=sys.stderr)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    print("llm-monitor demo: calling every installed provider client through the local fake provider\n")
    run_demo(args.jsonl)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from ._demo import summary_table
    from .metrics import Aggregates

    if not os.path.exists(args.path):
        print(f"no such file: {args.path}", file=sys.stderr)
        return 1
    aggregates = Aggregates()
    for record in _read_records(args.path):
        aggregates.add(record)
    stats = aggregates.summary()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(summary_table(stats))
        print(f"\nspans: {stats['spans']}   error rate: {stats['error_rate']:.2%}")
    return 0


def _cmd_tail(args: argparse.Namespace) -> int:
    from .exporters.console import format_record

    if not os.path.exists(args.path):
        print(f"no such file: {args.path}", file=sys.stderr)
        return 1
    with open(args.path, encoding="utf-8") as handle:
        lines = handle.readlines()[-args.lines :] if args.lines else []
        for line in lines:
            _print_line(line, format_record)
        if not args.follow:
            return 0
        try:
            while True:
                line = handle.readline()
                if line:
                    _print_line(line, format_record)
                else:
                    time.sleep(0.25)
        except KeyboardInterrupt:
            return 0


def _print_line(line: str, format_record: Any) -> None:
    try:
        print(format_record(json.loads(line)))
    except ValueError:
        pass


def _cmd_budget_status(args: argparse.Namespace) -> int:
    from .budget import build_guard, render_status
    from .config import load_settings

    settings = load_settings()
    if args.store:
        settings = settings.replace(budget_store=args.store)
    if args.rules:
        settings = settings.replace(budgets=args.rules)
    if not settings.budgets:
        print("no budget rules: set LLM_MONITOR_BUDGETS (or pass --rules)", file=sys.stderr)
        return 1
    guard = build_guard(
        settings.budgets,
        store=settings.budget_store,
        mode=settings.budget_mode,
        on_store_error=settings.budget_on_store_error,
        reservation_ttl_s=settings.budget_reservation_ttl,
    )
    if guard is None:
        print("no budget rules", file=sys.stderr)
        return 1
    from .budget.ledger import LedgerError

    try:
        print(render_status(guard.status()))
    except LedgerError as exc:
        print(f"cannot read the budget store: {exc}", file=sys.stderr)
        return 1
    finally:
        guard.close()
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from .config import configuration_reference, load_settings

    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.reference:
        print(configuration_reference())
        return 0
    for name, value in sorted(vars(settings).items()):
        if name in ("redact_key", "http_headers") and value:
            value = "<set>"
        print(f"{name} = {value!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="llm-monitor", description="LLM monitoring SDK tools")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run a monitored demo app against the bundled fake provider")
    demo.add_argument("--jsonl", default=None, help=f"JSONL output file (default {DEFAULT_PATH})")
    demo.set_defaults(func=_cmd_demo)

    report = commands.add_parser(
        "report", help="P50/P90/P99 latency, errors, tokens and cost from a JSONL file"
    )
    report.add_argument("path", nargs="?", default=_default_path())
    report.add_argument("--json", action="store_true", help="print the aggregates as JSON")
    report.set_defaults(func=_cmd_report)

    tail = commands.add_parser("tail", help="print records of a JSONL file as readable lines")
    tail.add_argument("path", nargs="?", default=_default_path())
    tail.add_argument("-n", "--lines", type=int, default=20)
    tail.add_argument("-f", "--follow", action="store_true")
    tail.set_defaults(func=_cmd_tail)

    budget = commands.add_parser("budget", help="budget tools")
    budget_commands = budget.add_subparsers(dest="budget_command", required=True)
    status = budget_commands.add_parser("status", help="spend, reserved and limit per rule and key")
    status.add_argument("--store", default=None, help="override LLM_MONITOR_BUDGET_STORE")
    status.add_argument("--rules", default=None, help="override LLM_MONITOR_BUDGETS")
    status.set_defaults(func=_cmd_budget_status)

    config = commands.add_parser("config", help="show the effective configuration")
    config.add_argument("--reference", action="store_true", help="print the environment variable reference")
    config.set_defaults(func=_cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llm-monitor`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
