"""Text table for ``llm-monitor budget status``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["render_status"]

_COLUMNS = ("RULE", "KEY", "BUCKET", "SPENT $", "RESERVED $", "LIMIT $", "USED")


def _row_cells(row: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(row["rule"]),
        "-" if row["key"] is None else str(row["key"]),
        str(row["bucket"]),
        f"{row['spent_usd']:.6f}",
        f"{row['reserved_usd']:.6f}",
        f"{row['limit_usd']:.6f}",
        f"{row['used_fraction'] * 100:.1f}%",
    )


def render_status(rows: Sequence[dict[str, Any]], *, rules_from: str | None = None) -> str:
    """A fixed-width table of ``BudgetGuard.status()`` rows: spend, reserved and limit per rule and key.

    Numbers are right-aligned; ``USED`` is (spent + reserved) / limit. Returns a one-line message when
    there is nothing to show. ``rules_from`` names where the rules came from (``"--rules"``,
    ``"LLM_MONITOR_BUDGETS"``): with rules but no rows, the message says so instead of asking for
    rules that were given.
    """
    if not rows:
        if rules_from:
            return (
                f"no spend recorded yet under the budget rules from {rules_from}"
                " (a per-key rule shows a row once a key has spent)"
            )
        return "no budget rules configured (set LLM_MONITOR_BUDGETS)"
    table = [_COLUMNS, *(_row_cells(row) for row in rows)]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(_COLUMNS))]
    lines = []
    for cells in table:
        parts = [cell.ljust(widths[i]) if i < 3 else cell.rjust(widths[i]) for i, cell in enumerate(cells)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
