"""The one process-wide pointer the hot path reads: the active monitor, or ``None`` when off.

A leaf module: it imports nothing of the SDK's, so the call lifecycle and ``context`` can read the
pointer without depending on the monitor. What the lifecycle needs from the object is the
``CallSink`` protocol of ``instrumentation/_call.py``; ``context`` uses ``submit_span`` and
``submit_record``. ``_api`` sets it to a ``Monitor``.
"""

from __future__ import annotations

from typing import Any

#: The monitor that patched wrappers report to; ``None`` before ``instrument()`` and after ``uninstrument()``.
active: Any = None
