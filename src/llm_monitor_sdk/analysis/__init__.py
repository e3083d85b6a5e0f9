"""Offline analysis of the JSONL records: reading, summaries, drift and regression datasets.

``lm.analysis.drift(baseline, current)`` compares two collections of records;
:func:`summarize` gives the numbers of ``llm-monitor report``; :func:`export_dataset` writes a
regression dataset. Heavy optional dependencies (DuckDB) are imported only when used.
"""

from __future__ import annotations

from typing import Any

# Imported now, not lazily: importing the submodule ``drift`` binds the package attribute ``drift`` to
# the module; this import binds it back to the function, for good (the module stays in sys.modules).
from .drift import drift as drift

_EXPORTS = {
    "summarize": "summary",
    "export_dataset": "datasets",
    "dataset_examples": "datasets",
    "iter_records": "reader",
    "expand_paths": "reader",
    "ReadStats": "reader",
    "TimeRange": "reader",
}


def __getattr__(name: str) -> Any:
    # PEP 562: import a submodule only when one of its names is first used.
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value


__all__ = sorted([*_EXPORTS, "drift"])
