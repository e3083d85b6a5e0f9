"""``llm-monitor budget status``: spend, reserved and limit per rule and key."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _status(args: argparse.Namespace) -> int:
    from ..budget import build_guard, render_status
    from ..budget.ledger import LedgerError
    from ..config import load_settings

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
    try:
        print(render_status(guard.status()))
    except LedgerError as exc:
        print(f"cannot read the budget store: {exc}", file=sys.stderr)
        return 1
    finally:
        guard.close()
    return 0


def register(commands: Any) -> None:
    """Add the ``budget`` command group."""
    budget = commands.add_parser("budget", help="budget tools")
    budget_commands = budget.add_subparsers(dest="budget_command", required=True)
    status = budget_commands.add_parser("status", help="spend, reserved and limit per rule and key")
    status.add_argument("--store", default=None, help="override LLM_MONITOR_BUDGET_STORE")
    status.add_argument("--rules", default=None, help="override LLM_MONITOR_BUDGETS")
    status.set_defaults(func=_status)
