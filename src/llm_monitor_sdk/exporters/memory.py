"""``InMemoryExporter``: keeps every record in a list, for users' own tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..record import RecordDict


class InMemoryExporter:
    """Collect exported records in :attr:`records` (JSON-ready dicts, already redacted).

    Typical use in a test::

        exporter = lm.exporters.InMemoryExporter()
        lm.instrument(exporters=[exporter])
        ...
        lm.flush()
        assert exporter.calls[0]["usage"]["output_tokens"] == 3
    """

    name = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[RecordDict] = []
        self.shut_down = False

    def export(self, records: Sequence[RecordDict]) -> None:
        """Append copies of the batch's records (later changes to the batch don't leak in)."""
        with self._lock:
            self.records.extend(dict(record) for record in records)

    @property
    def calls(self) -> list[RecordDict]:
        """Only the ``kind="llm_call"`` records."""
        with self._lock:
            return [r for r in self.records if r.get("kind") == "llm_call"]

    @property
    def spans(self) -> list[RecordDict]:
        """Only the ``kind="span"`` records (from ``@observe``)."""
        with self._lock:
            return [r for r in self.records if r.get("kind") == "span"]

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self.records.clear()

    def shutdown(self) -> None:
        """Nothing to release; the records stay readable."""
        self.shut_down = True
