"""Reports of a summary (:func:`llm_monitor_sdk.analysis.summary.summarize`): terminal and HTML."""

from __future__ import annotations

__all__ = ["html", "terminal"]
