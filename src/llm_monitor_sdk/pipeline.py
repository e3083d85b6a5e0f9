"""The export pipeline: a bounded queue fed from the caller's thread, one worker that batches and fans out.

The caller only appends to a ``collections.deque`` (O(1), no lock: a stream proxy may finish from a
garbage-collection finalizer while its thread is already inside our code, and a plain lock there
could deadlock). When the queue is full the new item is dropped and counted; the caller never waits.
The worker wakes on a full batch or after ``flush_interval``, turns items into records with the
``process`` function (building, pricing and redaction happen there, off the caller's thread) and
hands each batch to every exporter in turn; an exporter that raises is counted as failed for that
batch and the others carry on. ``flush()`` and ``shutdown()`` really wait, up to their timeout.
After ``os.fork()`` the child starts with an empty queue and a fresh worker.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ._guard import guard, report_internal_error
from .exporters._base import DeliveryError, Exporter, RecordBatch

logger = logging.getLogger("llm_monitor_sdk")


class _FlushMarker:
    """Put in the queue by ``flush()``; the worker sets it once everything before it is exported."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class ExporterCounters:
    """Per-exporter delivery counts (only the worker thread writes them)."""

    __slots__ = ("batches", "exported", "failed", "last_error")

    def __init__(self) -> None:
        self.exported = 0
        self.failed = 0
        self.batches = 0
        self.last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "exported": self.exported,
            "failed": self.failed,
            "batches": self.batches,
            "last_error": self.last_error,
        }


class _DropBurst:
    """State of the current run of queue-full drops, for one WARNING at its start and one summary line
    at its end (drops are counted in ``Pipeline.dropped`` either way)."""

    __slots__ = ("announced", "first", "last_change", "last_count", "reason", "started_at")

    def __init__(self) -> None:
        self.started_at: float | None = None  # wall clock of the burst's first drop; None: no burst
        self.first = 0  # ``dropped`` before the burst began
        self.announced = False
        self.reason = ""  # why records are being dropped, as the log lines say it
        self.last_count = 0  # ``dropped`` when the worker last looked
        self.last_change = 0.0  # monotonic time the worker last saw the count grow


def shutdown_exporter(exporter: Any, timeout: float) -> None:
    """``exporter.shutdown(timeout=...)`` when it takes a time bound, plain ``shutdown()`` otherwise."""
    method = exporter.shutdown
    try:
        takes_timeout = "timeout" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        takes_timeout = False
    if takes_timeout:
        method(timeout=timeout)
    else:
        method()


def exporter_name(exporter: object) -> str:
    """A stable, readable key for an exporter in ``stats()``."""
    return getattr(exporter, "name", None) or type(exporter).__name__


class Pipeline:
    """Bounded queue plus one export worker thread."""

    def __init__(
        self,
        exporters: Sequence[Exporter],
        process: Callable[[list[Any]], list[dict[str, Any]]],
        *,
        queue_size: int = 200_000,
        batch_size: int = 512,
        flush_interval: float = 1.0,
        tick: Callable[[], list[dict[str, Any]]] | None = None,
        tick_interval: float = 1.0,
    ) -> None:
        self.exporters = list(exporters)
        self._process = process
        # Called on the worker at least every ``tick_interval`` seconds, records or not (alert timers).
        self._tick = tick
        self.tick_interval = tick_interval
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._names = self._unique_names(self.exporters)
        self.counters = {name: ExporterCounters() for name in self._names}
        self._reset_runtime_state()
        self._stopped = False
        self.processed = 0
        self.process_errors = 0
        #: Items still queued when :meth:`shutdown` ran out of time (also counted in ``dropped``).
        self.unexported = 0
        self._start_worker()
        self_ref = weakref.ref(self)

        def after_fork_in_child() -> None:
            pipeline = self_ref()
            if pipeline is not None:
                pipeline._after_fork()

        os.register_at_fork(after_in_child=after_fork_in_child)

    @staticmethod
    def _unique_names(exporters: Sequence[Exporter]) -> list[str]:
        names: list[str] = []
        for exporter in exporters:
            base = name = exporter_name(exporter)
            n = 2
            while name in names:
                name, n = f"{base}#{n}", n + 1
            names.append(name)
        return names

    def _reset_runtime_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._drop_lock = threading.RLock()  # reentrant: safe even if a finalizer drops while we hold it
        self.dropped = 0
        self._burst = _DropBurst()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._pid = os.getpid()

    # -- caller's thread -------------------------------------------------------------------------
    def submit(self, item: Any, *, notify: bool = True) -> bool:
        """Queue one item for export; ``False`` (and counted) when the queue is full or stopped.

        Never blocks and never raises. ``notify=False`` skips waking the worker (used from
        garbage-collection finalizers, where even an ``Event.set`` could deadlock).
        """
        queue = self._queue
        if len(queue) >= self.queue_size or self._stopped:
            with self._drop_lock:
                burst = self._burst
                starts = burst.started_at is None
                if starts:
                    burst.started_at, burst.first, burst.announced = time.time(), self.dropped, notify
                    burst.reason = (
                        "monitoring is shut down"
                        if self._stopped
                        else f"the export queue is full ({self.queue_size} items)"
                    )
                self.dropped += 1
            if starts and notify:
                # Once per burst, logged from a short-lived thread: the worker may be stuck in the
                # exporter that filled the queue, and the caller's thread does no I/O (a blocked
                # stderr must never block the application). From a finalizer (notify=False), where
                # even starting a thread is unsafe, the worker says it.
                self._announce_soon()
            return False
        queue.append(item)
        if self._thread is None:
            self._start_worker()
        if notify and len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    #: Seconds without a new drop after which a burst of queue-full drops counts as over.
    drop_quiet_s = 1.0

    def _announce_soon(self) -> None:
        try:
            threading.Thread(target=self._announce_drops, name="llm-monitor-notice", daemon=True).start()
        except Exception:  # no thread to be had (interpreter shutting down): the worker's summary says it
            pass

    def _announce_drops(self) -> None:
        logger.warning(
            "llm_monitor_sdk: dropping records: %s; they are counted in lm.stats()['dropped'] and a summary "
            "follows when the drops stop (raise LLM_MONITOR_QUEUE_SIZE or speed up the exporters)",
            self._burst.reason,
        )

    def _note_drops(self, *, final: bool = False) -> None:
        """On the worker: announce a burst a finalizer started, and log its total once drops stop."""
        burst = self._burst
        if burst.started_at is None:
            return
        if not burst.announced:
            burst.announced = True
            self._announce_drops()
        now = time.monotonic()
        dropped = self.dropped
        if dropped != burst.last_count:
            burst.last_count, burst.last_change = dropped, now
            if not final:
                return
        if not final and now - burst.last_change < self.drop_quiet_s:
            return
        with self._drop_lock:
            started_at, burst.started_at = burst.started_at, None
            total = self.dropped - burst.first
        if started_at is None:
            return
        logger.warning(
            "llm_monitor_sdk: dropped %d record(s) (%s) in %.1f s from %s UTC (%d dropped since start)",
            total,
            burst.reason,
            max(0.0, time.time() - started_at),
            time.strftime("%H:%M:%S", time.gmtime(started_at)),
            self.dropped,
        )

    @property
    def queued(self) -> int:
        """Items waiting for the worker."""
        return len(self._queue)

    def flush(self, timeout: float = 5.0, *, quiet: bool = False) -> bool:
        """Wait until everything queued before this call is exported; ``True`` if it all was in time.

        ``quiet`` skips the timeout warning (shutdown reports what is left in one warning of its own).
        """
        if self._stopped and not self._queue:
            return True
        if self._thread is None or not self._thread.is_alive():
            self._start_worker()
        failed_before = sum(c.failed for c in self.counters.values())
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        deadline = time.monotonic() + max(timeout, 0.0)
        done = marker.done.wait(max(timeout, 0.0))
        # A batch an exporter failed to write (counted and logged) was not exported: not a success.
        written = sum(c.failed for c in self.counters.values()) == failed_before
        if done:
            # Exporters with their own sender (HTTP) report delivery, not just the hand-off.
            for exporter in self.exporters:
                force_flush = getattr(exporter, "force_flush", None)
                if callable(force_flush):
                    try:
                        done = bool(force_flush(max(0.0, deadline - time.monotonic()))) and done
                    except Exception as exc:
                        report_internal_error("pipeline.force_flush", exc)
                        done = False
        if not done and not quiet:
            logger.warning(
                "llm_monitor_sdk flush timed out after %.1fs with %d items still queued",
                timeout,
                len(self._queue),
            )
        return done and written

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flush, stop the worker and shut every exporter down, all within ``timeout`` seconds.

        Exporters whose ``shutdown`` takes a ``timeout`` argument get what is left of the bound (the
        HTTP exporter spools what it could not send in time); items the worker did not reach are
        counted in ``dropped`` and in :meth:`undelivered`. Safe to call twice.
        """
        if self._stopped:
            return True
        deadline = time.monotonic() + max(timeout, 0.0)
        flushed = self.flush(timeout, quiet=True)
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        if thread is not None and thread.is_alive():
            # Out of time: what the worker has not reached is lost (counted, reported at exit).
            left = sum(1 for item in list(self._queue) if not isinstance(item, _FlushMarker))
            self._queue.clear()
            if left:
                with self._drop_lock:
                    self.dropped += left
                self.unexported += left
        for name, exporter in zip(self._names, self.exporters, strict=True):
            try:
                shutdown_exporter(exporter, max(0.0, deadline - time.monotonic()))
            except Exception as exc:
                self.counters[name].last_error = repr(exc)
                logger.warning("llm_monitor_sdk exporter %s failed to shut down: %r", name, exc)
        return flushed

    def undelivered(self) -> list[tuple[int, str]]:
        """``(records, where)`` for every place that could not deliver everything it was given."""
        found: list[tuple[int, str]] = []
        if self.unexported:
            found.append((self.unexported, "the export queue (not exported before the shutdown timeout)"))
        for name, exporter in zip(self._names, self.exporters, strict=True):
            report = getattr(exporter, "undelivered", None)
            if not callable(report):
                continue
            try:
                entry = report()
            except Exception as exc:
                report_internal_error(f"exporter.{name}.undelivered", exc)
                continue
            if entry and entry[0]:
                found.append((int(entry[0]), str(entry[1])))
        return found

    # -- worker ----------------------------------------------------------------------------------
    def _start_worker(self) -> None:
        if not self._starting.acquire(blocking=False):
            return  # another thread is starting it
        try:
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._run, name="llm-monitor-export", daemon=True)
                self._thread = thread
                thread.start()
        finally:
            self._starting.release()

    def _after_fork(self) -> None:
        # The parent exports what it queued; the child starts clean and gets its own worker lazily.
        self._reset_runtime_state()

    def _run(self) -> None:
        queue = self._queue
        wait = self.flush_interval if self._tick is None else min(self.flush_interval, self.tick_interval)
        next_tick = time.monotonic() + self.tick_interval
        while True:
            self._wake.wait(wait)
            self._wake.clear()
            while queue:
                self._drain_once(queue)
                self._note_drops()
            self._note_drops()
            if self._tick is not None and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.tick_interval
                self._run_tick()
            if self._stopped:
                self._note_drops(final=True)
                return

    def _run_tick(self) -> None:
        records = None
        with guard("pipeline.tick"):
            records = self._tick() if self._tick is not None else None
        if records:
            self._deliver(records if isinstance(records, RecordBatch) else RecordBatch(records))

    def _drain_once(self, queue: deque[Any]) -> None:
        items: list[Any] = []
        markers: list[_FlushMarker] = []
        popleft = queue.popleft
        while queue and len(items) < self.batch_size:
            try:
                item = popleft()
            except IndexError:  # pragma: no cover - emptied by a racing fork reset
                break
            if isinstance(item, _FlushMarker):
                markers.append(item)
                break  # export what came before the marker, then release its waiter
            items.append(item)
        if items:
            self._export(items)
        for marker in markers:
            marker.done.set()

    def _export(self, items: list[Any]) -> None:
        try:
            records = self._process(items)
        except Exception as exc:
            self.process_errors += len(items)
            report_internal_error("pipeline.process", exc)
            return
        self.processed += len(items)
        if not records:
            return
        self._deliver(records if isinstance(records, RecordBatch) else RecordBatch(records))

    def _deliver(self, batch: RecordBatch) -> None:
        for name, exporter in zip(self._names, self.exporters, strict=True):
            counters = self.counters[name]
            counters.batches += 1
            try:
                exporter.export(batch)
            except Exception as exc:
                # Counted per exporter and reported through the guard (logged once per kind).
                counters.failed += len(batch)
                counters.last_error = repr(exc)
                report_internal_error(f"exporter.{name}", exc, traceback=not isinstance(exc, DeliveryError))
            else:
                counters.exported += len(batch)

    def stats(self) -> dict[str, Any]:
        """Queue, drop and per-exporter delivery counts."""
        exporters: dict[str, Any] = {}
        for name, exporter in zip(self._names, self.exporters, strict=True):
            entry = self.counters[name].as_dict()
            extra = getattr(exporter, "stats", None)
            if isinstance(extra, dict):
                entry.update(extra)
            entry["dropped"] = self.dropped
            exporters[name] = entry
        return {
            "queued": len(self._queue),
            "dropped": self.dropped,
            "processed": self.processed,
            "process_errors": self.process_errors,
            "exporters": exporters,
        }


__all__ = ["ExporterCounters", "Pipeline", "exporter_name", "shutdown_exporter"]
