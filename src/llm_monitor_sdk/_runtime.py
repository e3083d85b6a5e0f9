"""The one process-wide pointer the hot path reads: the active monitor, or ``None`` when off."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._monitor import Monitor

#: The monitor that patched wrappers report to; ``None`` before ``instrument()`` and after ``uninstrument()``.
active: Monitor | None = None
