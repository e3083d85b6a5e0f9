"""``llm-monitor demo``: a monitored app against the bundled fake provider."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import DEFAULT_JSONL_PATH


def _run(args: argparse.Namespace) -> int:
    from .._demo import run_demo

    print("llm-monitor demo: calling every installed provider client through the local fake provider\n")
    run_demo(args.jsonl)
    return 0


def register(commands: Any) -> None:
    """Add the ``demo`` command."""
    demo = commands.add_parser("demo", help="run a monitored demo app against the bundled fake provider")
    demo.add_argument("--jsonl", default=None, help=f"JSONL output file (default {DEFAULT_JSONL_PATH})")
    demo.set_defaults(func=_run)
