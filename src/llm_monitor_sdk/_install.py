"""The distribution name and the one place that builds "install this extra" hints.

The import name is ``llm_monitor_sdk`` and the console script ``llm-monitor``; the distribution on the
package index is :data:`DISTRIBUTION` (``llm-monitor-sdk`` there is an unrelated project). Every error
message that tells a user to install an optional extra goes through :func:`install_hint`, so a rename
touches this file only.
"""

from __future__ import annotations

#: The name to ``pip install`` (``pyproject.toml`` ``[project] name``).
DISTRIBUTION = "llm-monitor-kit"


def install_hint(extra: str | None = None) -> str:
    """How to install an extra (or the package), ready to put in a message: the checkout command
    first (the package is not on the index yet), then the published name."""
    if extra:
        return f"pip install -e '.[{extra}]' in a checkout, or pip install '{DISTRIBUTION}[{extra}]'"
    return f"pip install -e . in a checkout, or pip install {DISTRIBUTION}"


__all__ = ["DISTRIBUTION", "install_hint"]
