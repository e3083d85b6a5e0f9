"""``llm-monitor config``: the effective configuration, or the variable reference.

Secrets never reach the output: URLs lose their passwords and token-like query values (the alert
webhook its path too: webhook URLs carry their secret there), header values and the redaction key are
masked (see :mod:`llm_monitor_sdk._secrets`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _shown(name: str, value: Any) -> Any:
    from .._secrets import mask_headers, mask_text, mask_url

    if name == "redact_key":
        return "<set>" if value else value
    if name == "http_headers":
        return mask_headers(value)
    if name == "alert_webhook" and isinstance(value, str):
        return mask_url(value, path=True)
    if isinstance(value, str):
        return mask_text(value)  # URLs anywhere in it (store, collector, runbooks) lose their secrets
    return value


def _run(args: argparse.Namespace) -> int:
    from .._secrets import mask_text
    from ..config import configuration_reference, load_settings

    if args.reference:
        print(configuration_reference())
        return 0
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"configuration error: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    for name, value in sorted(vars(settings).items()):
        print(f"{name} = {_shown(name, value)!r}")
    return 0


def register(commands: Any) -> None:
    """Add the ``config`` command."""
    config = commands.add_parser("config", help="show the effective configuration")
    config.add_argument("--reference", action="store_true", help="print the environment variable reference")
    config.set_defaults(func=_run)
