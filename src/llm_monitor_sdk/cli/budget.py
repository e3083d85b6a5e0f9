"""``llm-monitor budget status``: spend, reserved and limit per rule and key."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _status(args: argparse.Namespace) -> int:
    from .._secrets import mask_text
    from ..budget import build_guard, render_status
    from ..budget.ledger import LedgerError
    from ..config import load_settings

    # A flag replaces its variable: a malformed variable the flag overrides is not an error, and an
    # error in the flag's value names the flag, not the variable.
    env = dict(os.environ)
    if args.rules is not None:
        env.pop("LLM_MONITOR_BUDGETS", None)
    if args.store is not None:
        env.pop("LLM_MONITOR_BUDGET_STORE", None)
    try:
        settings = load_settings(env)
    except ValueError as exc:
        print(f"configuration error: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    rules = args.rules if args.rules is not None else settings.budgets
    store = args.store if args.store is not None else settings.budget_store
    rules_from = "--rules" if args.rules is not None else "LLM_MONITOR_BUDGETS"
    if not rules or (isinstance(rules, str) and not rules.strip()):
        return _no_rules(args)
    try:
        guard = build_guard(
            rules,
            store=store,
            mode=settings.budget_mode,
            on_store_error=settings.budget_on_store_error,
            reservation_ttl_s=settings.budget_reservation_ttl,
            rules_variable="--rules" if args.rules is not None else None,
            store_variable="--store" if args.store is not None else "LLM_MONITOR_BUDGET_STORE",
        )
    except ValueError as exc:
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    if guard is None:
        return _no_rules(args)
    try:
        print(render_status(guard.status(), rules_from=rules_from))
    except LedgerError as exc:
        print(f"cannot read the budget store: {mask_text(str(exc))}", file=sys.stderr)
        return 1
    finally:
        guard.close()
    return 0


def _no_rules(args: argparse.Namespace) -> int:
    if args.rules is not None:  # the user gave rules: the message is about the flag, not the variable
        print("error: --rules names no budget rule (e.g. --rules 'global:daily=100')", file=sys.stderr)
        return 2
    print("no budget rules: set LLM_MONITOR_BUDGETS (or pass --rules)", file=sys.stderr)
    return 1


def register(commands: Any) -> None:
    """Add the ``budget`` command group."""
    budget = commands.add_parser("budget", help="budget tools")
    budget_commands = budget.add_subparsers(dest="budget_command", required=True)
    status = budget_commands.add_parser("status", help="spend, reserved and limit per rule and key")
    status.add_argument("--store", default=None, help="override LLM_MONITOR_BUDGET_STORE")
    status.add_argument("--rules", default=None, help="override LLM_MONITOR_BUDGETS")
    status.set_defaults(func=_status)
