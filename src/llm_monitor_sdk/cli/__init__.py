"""The ``llm-monitor`` command: one module per command group, each with ``register(commands)``.

Every command is a thin shell over a library function the Python API also offers; configuration is
read only through :mod:`llm_monitor_sdk.config`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._secrets import mask_text

#: Command-group modules of this package, in the order ``llm-monitor --help`` lists them.
COMMAND_MODULES = (
    "demo",
    "report",
    "tail",
    "drift",
    "dataset",
    "eval",
    "budget",
    "alerts",
    "config",
    "run",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="llm-monitor", description="LLM monitoring SDK tools")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llm-monitor`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["run"]:
        # ``llm-monitor run`` execs the user's program: it must not pay for the other commands' imports.
        from .run import run_main

        return run_main(arguments[1:])
    args = build_parser().parse_args(arguments)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 2


__all__ = ["COMMAND_MODULES", "build_parser", "main"]
