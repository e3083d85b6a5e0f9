"""The processor seam: what the export worker runs over every finished record before it is exported.

A record is built, priced, settled and redacted on the export worker; then it passes through an
ordered list of processors, then it is serialized once and handed to every exporter. The built-in
aggregates behind ``lm.stats()`` are the first processor; alert rules, evaluators and prompt-change
detection are processors too, and ``instrument(processors=[...])`` appends your own.

Threading contract (the same for built-in and user processors):

- :meth:`Processor.process` runs on the export worker only, once per record, in completion order.
  It sees every finished record of every kind (``llm_call`` records sampled out of export too), but
  not the records processors themselves emit. It must not block on I/O (hand slow work to a thread
  of your own) and must not change the record: exporters get the same object.
- What it returns (an iterable of record dicts, or ``None``) is exported in the same batch, after the
  record that caused it. Missing common fields (``schema_version``, ``record_id``, ``trace_id``,
  ``span_id``, ``parent_span_id``, ``started_at``, ``ended_at``, ``service_name``, ``sdk_version``)
  are filled in by the worker.
- A processor that raises is counted (``lm.stats()["processors"][name]["errors"]``) and skipped for
  that record; the record and the other processors are unaffected.
- Optional methods: ``start(host)`` once before the first record (``host.submit(record)`` queues a
  record from any thread, e.g. an evaluation pool's results; ``host.clock()`` is the SDK's clock),
  ``tick(now)`` at least once a second on the export worker even when no records arrive (returns
  records like ``process``), ``stats()`` whose dict is merged into ``lm.stats()`` (called from any
  thread: return a snapshot), ``shutdown(timeout)`` when the monitor stops, and
  ``before_redaction(record)``, which sees the record on the export worker before redaction (and
  after the content switch): for evaluators that opted into raw text (``raw=True``). It runs in
  process only; it must copy what it keeps, because redaction then rewrites the record in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from . import _clock
from .record import RecordDict


@runtime_checkable
class Processor(Protocol):
    """What the export worker needs from a processor: ``process(record)`` (see the module notes)."""

    def process(self, record: RecordDict) -> Iterable[RecordDict] | None:
        """Look at one finished record; return extra records to export in the same batch, or ``None``."""


class ProcessorHost:
    """What a processor's ``start(host)`` receives: a way to queue records from any thread, and the clock."""

    __slots__ = ("_submit", "clock")

    def __init__(
        self, submit: Callable[[RecordDict], bool], clock: Callable[[], float] | None = None
    ) -> None:
        self._submit = submit
        #: Wall-clock seconds: :func:`llm_monitor_sdk._clock.now` unless another function is given.
        self.clock: Callable[[], float] = clock if clock is not None else (lambda: _clock.now())

    def submit(self, record: RecordDict) -> bool:
        """Queue a finished record (``feedback``, ``evaluation``, ...) for the worker: it is redacted,
        passes the processors and is exported like every record. Never blocks; ``False`` when the
        queue is full (the drop is counted)."""
        return self._submit(record)


def processor_name(processor: Any) -> str:
    """A readable key for a processor in ``stats()``."""
    return getattr(processor, "name", None) or type(processor).__name__


__all__ = ["Processor", "ProcessorHost", "processor_name"]
