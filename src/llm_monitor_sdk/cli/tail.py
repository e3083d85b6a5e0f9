"""``llm-monitor tail``: records of a JSONL file as readable lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ._common import default_path


def _run(args: argparse.Namespace) -> int:
    from ..exporters.console import format_record

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


def register(commands: Any) -> None:
    """Add the ``tail`` command."""
    tail = commands.add_parser("tail", help="print records of a JSONL file as readable lines")
    tail.add_argument("path", nargs="?", default=default_path())
    tail.add_argument("-n", "--lines", type=int, default=20)
    tail.add_argument("-f", "--follow", action="store_true")
    tail.set_defaults(func=_run)
