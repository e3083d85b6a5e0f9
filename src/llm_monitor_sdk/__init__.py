"""llm-monitor-sdk: monitoring for the OpenAI, Anthropic and Google GenAI Python clients.

    import llm_monitor_sdk as lm
    lm.instrument()

From then on every call through the provider clients becomes a record (prompt, response, tokens,
cost, latency, errors, context), redacted and exported off the caller's thread.
"""

from __future__ import annotations

from . import exporters
from ._api import flush, get_monitor, instrument, shutdown, stats, uninstrument
from ._monitor import Monitor
from ._version import __version__
from .context import ContextThreadPoolExecutor, bind_context, context, observe
from .errors import BudgetExceededError
from .record import ErrorInfo, Record, Usage

__all__ = [
    "BudgetExceededError",
    "ContextThreadPoolExecutor",
    "ErrorInfo",
    "Monitor",
    "Record",
    "Usage",
    "__version__",
    "bind_context",
    "context",
    "exporters",
    "flush",
    "get_monitor",
    "instrument",
    "observe",
    "shutdown",
    "stats",
    "uninstrument",
]
