"""llm-monitor-sdk: monitoring for the OpenAI, Anthropic and Google GenAI Python clients.

    import llm_monitor_sdk as lm
    lm.instrument()

From then on every call through the provider clients becomes a record (prompt, response, tokens,
cost, latency, errors, context), redacted and exported off the caller's thread.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# ``context`` is eager: it names both a submodule and the public class, and the class must win.
from .context import ContextThreadPoolExecutor, bind_context, context, current_trace_id, observe
from .errors import BudgetExceededError

if TYPE_CHECKING:
    from . import analysis, evals, exporters
    from ._api import alerts, flush, get_monitor, instrument, shutdown, stats, uninstrument
    from ._monitor import Monitor
    from ._record_models import ErrorInfo, Record, Usage
    from .evaluation import Evaluation, evaluator
    from .evaluation.feedback import feedback
    from .guardrails import guardrail

# Everything else loads on first use (PEP 562), so that importing the package (the ``llm-monitor``
# command, a program that never touches an LLM) costs little; ``lm.instrument`` loads the pipeline.
_LAZY: dict[str, tuple[str, str | None]] = {
    "instrument": ("._api", "instrument"),
    "alerts": ("._api", "alerts"),
    "uninstrument": ("._api", "uninstrument"),
    "flush": ("._api", "flush"),
    "shutdown": ("._api", "shutdown"),
    "stats": ("._api", "stats"),
    "get_monitor": ("._api", "get_monitor"),
    "Monitor": ("._monitor", "Monitor"),
    "Evaluation": (".evaluation", "Evaluation"),
    "evaluator": (".evaluation", "evaluator"),
    "feedback": (".evaluation", "feedback"),
    "guardrail": (".guardrails", "guardrail"),
    # The pydantic record models cost ~30 ms to build: ``record.py`` builds them on first use.
    "ErrorInfo": (".record", "ErrorInfo"),
    "Record": (".record", "Record"),
    "Usage": (".record", "Usage"),
    "exporters": (".exporters", None),
    "evals": (".evals", None),
    "analysis": (".analysis", None),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = where
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BudgetExceededError",
    "ContextThreadPoolExecutor",
    "ErrorInfo",
    "Evaluation",
    "Monitor",
    "Record",
    "Usage",
    "__version__",
    "alerts",
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
