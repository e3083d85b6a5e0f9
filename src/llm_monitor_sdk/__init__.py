"""llm-monitor-sdk: monitoring for the OpenAI, Anthropic and Google GenAI Python clients.

    import llm_monitor_sdk as lm
    lm.instrument()

From then on every call through the provider clients becomes a record (prompt, response, tokens,
cost, latency, errors, context), redacted and exported off the caller's thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import evals, exporters
from ._api import flush, get_monitor, instrument, shutdown, stats, uninstrument
from ._monitor import Monitor
from ._version import __version__
from .context import ContextThreadPoolExecutor, bind_context, context, current_trace_id, observe
from .errors import BudgetExceededError
from .evaluation import Evaluation, evaluator, feedback
from .guardrails import guardrail

if TYPE_CHECKING:
    from . import analysis
    from ._record_models import ErrorInfo, Record, Usage

# The pydantic record models cost ~30 ms to build; they load when first used (``lm.Record``).
_LAZY = frozenset({"ErrorInfo", "Record", "Usage"})


def __getattr__(name: str) -> Any:
    if name == "analysis":  # offline analysis: loaded on first use
        import importlib

        module = importlib.import_module(f"{__name__}.analysis")
        globals()[name] = module
        return module
    if name in _LAZY:
        from . import record

        value = getattr(record, name)  # record.py builds the pydantic models on first use
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY | {"analysis"})


__all__ = [
    "BudgetExceededError",
    "ContextThreadPoolExecutor",
    "ErrorInfo",
    "Evaluation",
    "Monitor",
    "Record",
    "Usage",
    "__version__",
    "analysis",
    "bind_context",
    "context",
    "current_trace_id",
    "evals",
    "evaluator",
    "exporters",
    "feedback",
    "flush",
    "get_monitor",
    "guardrail",
    "instrument",
    "observe",
    "shutdown",
    "stats",
    "uninstrument",
]
