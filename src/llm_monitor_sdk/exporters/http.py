"""``HTTPExporter``: POST batches of records as JSON to any HTTP endpoint, at least once.

Wire format: ``POST <url>`` with ``Content-Type: application/json`` and the body
``{"records": [<record>, ...]}`` (each record exactly as a JSONL line), gzip-compressed with
``Content-Encoding: gzip`` when larger than ``gzip_threshold`` bytes. Any 2xx acknowledges the
batch. Every record carries its ``record_id``: a batch may arrive twice (see below), so a receiver
that must count exactly drops records whose ``record_id`` it has seen.

Delivery: :meth:`HTTPExporter.export` never touches the network. It hands the batch to a bounded
in-memory queue drained by the exporter's own sender thread, so a slow or dead endpoint never
stalls the pipeline's worker or the other exporters. The sender retries connection errors,
timeouts, 429 and 5xx with capped exponential backoff and jitter (a ``Retry-After`` header wins),
and gives up at once on any other 4xx (counted in ``failed``; the first response body is logged).
A circuit breaker stops attempts after repeated failures and probes again later, so a dead endpoint
costs one cheap check per batch.

With a spool directory, a batch that cannot be delivered (retries exhausted, circuit open, queue
full, shutdown before it went out) is written to disk instead of being dropped; once anything is
spooled, later batches queue behind it on disk so that delivery stays in order. Spooled batches are
replayed oldest first as soon as the endpoint answers again, also by a new process started on the
same directory. A batch is deleted from disk only after a 2xx, so a crash between the response and
the deletion re-sends it: delivery is at-least-once. Without a spool, batches that cannot be
delivered are dropped and counted in ``lost``.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .._secrets import mask_text, mask_url
from .._version import __version__
from ..record import RecordDict
from ._base import encoded_records
from ._retry import CircuitBreaker, backoff_delay, is_retryable_status, parse_retry_after
from ._spool import DiskSpool, SpoolEntry

logger = logging.getLogger("llm_monitor_sdk.exporters.http")

_BODY_LOG_LIMIT = 1000


@dataclass(slots=True)
class _Pending:
    seq: int
    body: bytes
    records: int
    #: Set once the batch is also on disk (written after its first failed attempt).
    entry: SpoolEntry | None = None


class _Outcome(Enum):
    SENT = "sent"
    REJECTED = "rejected"
    GAVE_UP = "gave_up"


def build_body(records: Sequence[RecordDict]) -> bytes:
    """The request body for a batch: ``{"records":[...]}`` built from each record's cached JSON."""
    return b'{"records":[' + b",".join(encoded_records(records)) + b"]}"


class HTTPExporter:
    """Delivers record batches to an HTTP endpoint from a sender thread, with retries and a spool.

    Args:
        url: ``http://`` or ``https://`` endpoint that receives ``POST`` requests.
        headers: extra request headers (authentication, for instance).
        timeout: seconds for connecting and for each socket read or write.
        spool_dir: directory for undelivered batches; None keeps them in memory only.
        spool_max_bytes: bound on the spool's size; the oldest batches are dropped (and counted) first.
        gzip_threshold: bodies larger than this many bytes are gzip-compressed.
        max_retries: retries per batch after the first attempt, before it is spooled or dropped.
        max_queue_batches: batches held in memory waiting for the sender.
        backoff_base, backoff_max: first retry delay and its cap, in seconds (jitter is added).
        max_retry_after: longest ``Retry-After`` honoured, in seconds.
        circuit_threshold: consecutive failed attempts that open the circuit.
        circuit_cooldown, circuit_max_cooldown: first and longest wait before probing a dead endpoint.
        shutdown_timeout: seconds :meth:`shutdown` keeps trying to deliver before spooling the rest.
        spool_fsync: fsync each spooled batch (off only for tests or throwaway data).

    Raises:
        ValueError: the URL is not an absolute http(s) URL.
    """

    #: Key of this exporter in ``lm.stats()["exporters"]``.
    name = "http"

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 10.0,
        spool_dir: str | None = None,
        spool_max_bytes: int = 256 * 2**20,
        gzip_threshold: int = 8192,
        max_retries: int = 5,
        max_queue_batches: int = 64,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 60.0,
        circuit_threshold: int = 5,
        circuit_cooldown: float = 1.0,
        circuit_max_cooldown: float = 60.0,
        shutdown_timeout: float = 5.0,
        spool_fsync: bool = True,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"HTTPExporter url must be an absolute http(s) URL, got {mask_url(url)!r}")
        self.url = url
        #: The URL as logs show it (passwords and token-like query values masked).
        self.display_url = mask_url(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "User-Agent": f"llm-monitor-sdk/{__version__}"}
        self._headers.update(headers or {})
        self.timeout = timeout
        self.gzip_threshold = gzip_threshold
        self.max_retries = max(0, max_retries)
        self.max_queue_batches = max(1, max_queue_batches)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.shutdown_timeout = shutdown_timeout
        self._circuit = CircuitBreaker(
            threshold=circuit_threshold, cooldown=circuit_cooldown, max_cooldown=circuit_max_cooldown
        )
        self._spool = (
            DiskSpool(spool_dir, max_bytes=spool_max_bytes, fsync=spool_fsync) if spool_dir else None
        )
        self._counts = dict.fromkeys(
            ("sent", "failed", "lost", "retried", "circuit_open_skips", "batches_sent"), 0
        )
        self._conn: http.client.HTTPConnection | None = None
        self._warned_rejected = False
        self._warned_unreachable = False
        self._start()

    # ------------------------------------------------------------------ lifecycle

    def _start(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[_Pending] = deque()
        self._inflight: _Pending | None = None
        self._spooling = False
        self._stopping = False
        self._stop_event = threading.Event()
        self._deadline: float | None = None
        self._seq = self._spool.next_seq() if self._spool is not None else 0
        self._thread = threading.Thread(target=self._run, name="llm-monitor-http-sender", daemon=True)
        self._thread.start()

    def _check_fork(self) -> None:
        if os.getpid() == self._pid:
            return
        # After fork the sender thread does not exist in the child; the spool directory stays the
        # parent's (two processes replaying one directory would duplicate batches).
        if self._spool is not None:
            logger.warning(
                "llm-monitor: HTTPExporter used after fork; the child does not use the spool %s",
                self._spool.directory,
            )
            self._spool = None
        self._conn = None
        # The parent's sender may have held these at the fork: fresh ones (the counts carry over).
        self._circuit._lock = threading.Lock()
        self._start()

    # ------------------------------------------------------------------ public API

    def export(self, records: Sequence[RecordDict]) -> None:
        """Queue one batch for delivery; returns at once (at most a spool write when spooling)."""
        if not records:
            return
        self._check_fork()
        body = build_body(records)
        with self._cond:
            item = _Pending(self._seq, body, len(records))
            self._seq += 1
            if self._stopping:
                self._park([item])
                return
            if self._spool is not None and (self._spooling or len(self._spool)):
                # Something is already waiting on disk: queue behind it to keep delivery in order.
                self._park([item])
                self._cond.notify()
                return
            if len(self._queue) >= self.max_queue_batches:
                if self._spool is not None:
                    self._spill([item])
                else:
                    self._counts["lost"] += item.records
                    if self._circuit.is_open:
                        self._counts["circuit_open_skips"] += 1
                return
            self._queue.append(item)
            self._cond.notify()

    def force_flush(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued, in flight or spooled; True when everything was delivered."""
        self._check_fork()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._inflight is not None or (self._spool is not None and len(self._spool)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def shutdown(self, timeout: float | None = None) -> None:
        """Deliver what can be delivered within ``timeout`` (at most ``shutdown_timeout``) seconds;
        spool (or drop and count) the rest. The pipeline passes what is left of its own bound."""
        if os.getpid() != self._pid:
            return
        bound = self.shutdown_timeout if timeout is None else max(0.0, min(timeout, self.shutdown_timeout))
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._deadline = time.monotonic() + bound
            self._cond.notify_all()
        # Cut short any backoff sleep: at shutdown each remaining batch gets one more attempt.
        self._stop_event.set()
        self._thread.join(bound)
        with self._cond:
            leftovers = list(self._queue)
            self._queue.clear()
            if self._thread.is_alive() and self._inflight is not None and self._inflight.entry is None:
                # Stuck in a slow request: keep a copy; if it lands too, the receiver dedups it.
                leftovers.insert(0, self._inflight)
            self._park(leftovers)
        self._close_connection()

    def undelivered(self) -> tuple[int, str] | None:
        """``(records, where)`` for records not delivered so far (lost, or waiting in the spool)."""
        lost = self._counts["lost"]
        spool = self._spool
        pending = spool.pending_records if spool is not None else 0
        if not lost and not pending:
            return None
        parts = []
        if pending and spool is not None:
            parts.append(f"{pending} kept in the spool {spool.directory} for the next run")
        if lost:
            hint = "" if spool is not None else "; set LLM_MONITOR_SPOOL_DIR to keep them"
            parts.append(f"{lost} lost{hint}")
        return lost + pending, f"{self.display_url} ({', '.join(parts)})"

    @property
    def stats(self) -> dict[str, Any]:
        """Counters, in records unless the name says otherwise.

        ``sent``: acknowledged by the endpoint; ``failed``: rejected with a non-retryable 4xx;
        ``lost``: dropped without a spool (queue full, retries exhausted, shutdown); ``retried``:
        retry attempts; ``queued``: waiting in memory; ``spooled``: ever written to disk;
        ``spool_pending``: on disk now; ``spool_dropped``: deleted from a full spool or not written
        (``spool_errors`` counts failed writes, such as a full disk); ``replayed``: delivered from
        disk; ``circuit_opened``: times the breaker opened; ``circuit_open_skips``: batches not
        attempted because the circuit was open.
        """
        self._check_fork()
        out: dict[str, Any] = dict(self._counts)
        out["queued"] = sum(p.records for p in list(self._queue))
        out["circuit_open"] = self._circuit.is_open
        out["circuit_opened"] = self._circuit.opened
        spool = self._spool
        out["spooled"] = spool.spooled_records if spool is not None else 0
        out["spool_pending"] = spool.pending_records if spool is not None else 0
        out["spool_dropped"] = spool.dropped_records if spool is not None else 0
        out["spool_errors"] = spool.write_errors if spool is not None else 0
        out["replayed"] = spool.replayed_records if spool is not None else 0
        return out

    # ------------------------------------------------------------------ queue <-> spool (under _cond)

    def _spill(self, extra: list[_Pending]) -> None:
        """Move every in-memory batch, plus ``extra``, to the spool; from now on new ones go there too."""
        # The failed in-flight batch is older than the queued ones: write in sequence order so a
        # full spool drops the oldest.
        items = sorted([*self._queue, *extra], key=lambda p: p.seq)
        self._queue.clear()
        self._spooling = True
        self._park(items)

    def _park(self, items: list[_Pending]) -> None:
        """Write batches to the spool, or count them as dropped when there is none."""
        for item in items:
            if item.entry is not None:
                continue  # already on disk
            if self._spool is not None:
                item.entry = self._spool.put(item.seq, item.body, item.records)
            else:
                self._counts["lost"] += item.records

    # ------------------------------------------------------------------ sender thread

    def _run(self) -> None:
        while True:
            item, entry = self._next_work()
            if item is None and entry is None:
                return
            try:
                if entry is not None:
                    self._replay(entry)
                elif item is not None:
                    self._send_pending(item)
            except Exception as exc:  # an SDK bug must not kill the sender
                # No traceback: exception texts (InvalidURL, ...) can carry the URL's token.
                logger.error("llm-monitor: HTTPExporter sender error: %s", mask_text(repr(exc)))

    def _next_work(self) -> tuple[_Pending | None, SpoolEntry | None]:
        """Block until there is something to attempt; (None, None) means stop."""
        with self._cond:
            self._inflight = None
            self._cond.notify_all()
            while True:
                spool_entry = self._spool.oldest() if self._spool is not None else None
                has_work = bool(self._queue) or spool_entry is not None
                if self._stopping and (not has_work or self._past_deadline()):
                    return None, None
                if not has_work:
                    self._spooling = False
                    self._cond.wait()
                    continue
                wait = self._circuit.seconds_until_probe()
                if wait > 0:
                    if self._stopping:
                        return None, None
                    if self._queue:
                        self._counts["circuit_open_skips"] += len(self._queue)
                        if self._spool is not None:
                            # Durable while we wait: a killed process loses nothing that reached disk.
                            self._spill([])
                    self._cond.wait(wait)
                    continue
                if spool_entry is not None:
                    return None, spool_entry
                self._inflight = self._queue.popleft()
                return self._inflight, None

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _make_durable(self, item: _Pending) -> None:
        """The batch failed its first attempt: put it (and everything queued behind it) on disk before
        the first retry, so a process killed during the backoff loses nothing that reached the sender."""
        with self._cond:
            if self._spool is None or item.entry is not None:
                return
            # A failed write is not a drop yet: the batch is still in memory, retried, and spooled (or
            # counted) again if it gives up.
            item.entry = self._spool.put(item.seq, item.body, item.records, count_failure=False)
            self._spill([])

    def _send_pending(self, item: _Pending) -> None:
        durable = (lambda: self._make_durable(item)) if self._spool is not None else None
        outcome = self._deliver(item.body, before_retry=durable)
        spool = self._spool
        if item.entry is not None and spool is not None and outcome is not _Outcome.GAVE_UP:
            # Settled by a retry: its copy on disk is not needed (a delivery of a spooled batch counts
            # in ``replayed`` like any other).
            spool.remove(item.entry, delivered=outcome is _Outcome.SENT)
        with self._cond:
            if outcome is _Outcome.SENT:
                self._counts["sent"] += item.records
                self._counts["batches_sent"] += 1
            elif outcome is _Outcome.REJECTED:
                self._counts["failed"] += item.records
            elif spool is not None:
                self._spill([item])  # a no-op for the batch itself when it is already on disk
            else:
                self._counts["lost"] += item.records

    def _replay(self, entry: SpoolEntry) -> None:
        assert self._spool is not None
        body = self._spool.read(entry)
        if body is None:
            return
        outcome = self._deliver(body)
        if outcome is _Outcome.SENT:
            self._spool.remove(entry)
            with self._cond:
                self._counts["sent"] += entry.records
                self._counts["batches_sent"] += 1
        elif outcome is _Outcome.REJECTED:
            self._spool.remove(entry, delivered=False)
            with self._cond:
                self._counts["failed"] += entry.records
        else:
            # Still down: the circuit (or a short pause) decides when to try this batch again.
            with self._cond:
                if not self._stopping:
                    self._cond.wait(max(self._circuit.seconds_until_probe(), self.backoff_base))

    def _deliver(self, body: bytes, before_retry: Callable[[], None] | None = None) -> _Outcome:
        """POST one body with retries; the caller decides what a give-up means.

        ``before_retry`` runs once, after the first failed attempt and before the first backoff."""
        payload, encoding = self._encode(body)
        attempt = 0
        while True:
            if not self._circuit.allow():
                return _Outcome.GAVE_UP
            retry_after: float | None = None
            try:
                status, retry_after_header, response_body = self._post(payload, encoding)
            except (OSError, http.client.HTTPException) as exc:
                self._close_connection()
                self._note_unreachable(exc)
            else:
                if 200 <= status < 300:
                    self._circuit.record_success()
                    self._warned_unreachable = False
                    return _Outcome.SENT
                if not is_retryable_status(status):
                    # The endpoint is alive but refuses this batch: retrying cannot help.
                    self._circuit.record_success()
                    self._note_rejected(status, response_body)
                    return _Outcome.REJECTED
                retry_after = parse_retry_after(retry_after_header)
            self._circuit.record_failure()
            attempt += 1
            if attempt > self.max_retries or self._stopping:
                return _Outcome.GAVE_UP
            if attempt == 1 and before_retry is not None:
                before_retry()
            if retry_after is not None:
                delay = min(retry_after, self.max_retry_after)
            else:
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_max)
            if self._stop_event.wait(delay) or self._stopping:
                return _Outcome.GAVE_UP
            with self._cond:
                self._counts["retried"] += 1

    def _encode(self, body: bytes) -> tuple[bytes, str | None]:
        if len(body) > self.gzip_threshold:
            # Level 1: most of the size win for a fraction of level 6's CPU on the export worker.
            return gzip.compress(body, compresslevel=1, mtime=0), "gzip"
        return body, None

    def _post(self, payload: bytes, encoding: str | None) -> tuple[int, str | None, bytes]:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        headers = dict(self._headers)
        if encoding:
            headers["Content-Encoding"] = encoding
        self._conn.request("POST", self._path, body=payload, headers=headers)
        response = self._conn.getresponse()
        data = response.read()  # read fully so the connection can be reused
        if response.will_close:
            self._close_connection()
        return response.status, response.getheader("Retry-After"), data

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _note_rejected(self, status: int, body: bytes) -> None:
        if self._warned_rejected:
            logger.debug("llm-monitor: HTTP endpoint rejected a batch with %d", status)
            return
        self._warned_rejected = True
        text = body[:_BODY_LOG_LIMIT].decode("utf-8", "replace")
        logger.error(
            "llm-monitor: HTTP endpoint %s rejected a batch with %d (not retried): %s",
            self.display_url,
            status,
            mask_text(text),
        )

    def _note_unreachable(self, exc: BaseException) -> None:
        if not self._warned_unreachable:
            self._warned_unreachable = True
            logger.warning(
                "llm-monitor: HTTP endpoint %s unreachable (%s); retrying%s",
                self.display_url,
                mask_text(str(exc)),
                ", spooling to disk" if self._spool is not None else "",
            )


__all__ = ["HTTPExporter", "build_body"]
