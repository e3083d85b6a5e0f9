"""Optional dependencies of the analysis side, and the one message that names their extra."""

from __future__ import annotations

import importlib
from types import ModuleType

#: The distribution users install (one place, in case it is renamed).
from .._install import DISTRIBUTION

#: The extra that brings DuckDB, plotly and rich.
REPORT_EXTRA = "report"


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


def install_hint(extra: str = REPORT_EXTRA) -> str:
    """How to install ``extra`` (built in :mod:`llm_monitor_sdk._install`)."""
    from .._install import install_hint as hint

    return hint(extra)


def require(module: str, purpose: str, extra: str = REPORT_EXTRA) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``purpose`` and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{purpose} needs {module}: {install_hint(extra)}") from exc


def available(module: str) -> bool:
    """Whether ``module`` can be imported (imports it)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


__all__ = ["DISTRIBUTION", "REPORT_EXTRA", "MissingExtraError", "available", "install_hint", "require"]
