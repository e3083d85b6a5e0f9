"""Budget guards: rules, calendar windows, reservations and ledgers (memory, SQLite, Redis).

``build_guard`` turns settings into a :class:`BudgetGuard`; the call lifecycle reserves each call's
worst-case cost before the provider is called and settles the real cost afterwards. See
``docs/budgets.md``.
"""

from ..errors import BudgetExceededError
from .factory import build_guard, open_ledger
from .guard import BudgetGuard, Reservation
from .ledger import CounterState, Ledger, LedgerError, Line, ReserveOutcome
from .rules import SCOPES, WINDOWS, BudgetRule, coerce_rules, parse_rules
from .status import render_status
from .windows import bucket_for

__all__ = [
    "SCOPES",
    "WINDOWS",
    "BudgetExceededError",
    "BudgetGuard",
    "BudgetRule",
    "CounterState",
    "Ledger",
    "LedgerError",
    "Line",
    "Reservation",
    "ReserveOutcome",
    "bucket_for",
    "build_guard",
    "coerce_rules",
    "open_ledger",
    "parse_rules",
    "render_status",
]
