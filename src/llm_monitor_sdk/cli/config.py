"""``llm-monitor config``: the effective configuration, or the variable reference."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from ..config import configuration_reference, load_settings

    if args.reference:
        print(configuration_reference())
        return 0
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    for name, value in sorted(vars(settings).items()):
        if name in ("redact_key", "http_headers") and value:
            value = "<set>"
        print(f"{name} = {value!r}")
    return 0


def register(commands: Any) -> None:
    """Add the ``config`` command."""
    config = commands.add_parser("config", help="show the effective configuration")
    config.add_argument("--reference", action="store_true", help="print the environment variable reference")
    config.set_defaults(func=_run)
