"""A bounded on-disk queue of undelivered batches: one file per batch, replayed oldest first.

Files are named ``<sequence>-<records>.json`` (the sequence zero-padded so names sort in delivery
order) and written atomically: a temporary file is written and fsynced, renamed into place, and the
directory is fsynced, so a crash leaves either the whole batch or nothing. A new spool over the
same directory (after a restart) picks the files up and continues the sequence after the last one.

The total size is bounded: to make room the oldest files are deleted and their records counted as
dropped. A write that fails (disk full, read-only disk) is counted and logged once, never raised.
One process per directory: two processes sharing a spool would replay each other's files.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass

logger = logging.getLogger("llm_monitor_sdk.exporters.spool")

_SUFFIX = ".json"
_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """One spooled batch file."""

    seq: int
    records: int
    size: int
    path: str


def _parse_name(name: str) -> tuple[int, int] | None:
    if not name.endswith(_SUFFIX) or name.startswith("."):
        return None
    seq, _, count = name[: -len(_SUFFIX)].partition("-")
    if not (seq.isdigit() and count.isdigit()):
        return None
    return int(seq), int(count)


class DiskSpool:
    """Batches waiting on disk for an endpoint to come back. Thread-safe."""

    def __init__(self, directory: str, *, max_bytes: int, fsync: bool = True) -> None:
        self.directory = os.path.abspath(directory)
        self.max_bytes = max_bytes
        self._fsync = fsync
        self._lock = threading.Lock()
        self._entries: deque[SpoolEntry] = deque()
        self._bytes = 0
        self._warned_write = False
        self.spooled_batches = 0
        self.spooled_records = 0
        self.dropped_records = 0
        self.write_errors = 0
        self.replayed_records = 0
        os.makedirs(self.directory, exist_ok=True)
        self._load()

    def _load(self) -> None:
        found: list[SpoolEntry] = []
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name.startswith(_TMP_PREFIX):
                # A write interrupted by a crash: never renamed, so never acknowledged as spooled.
                self._unlink(path)
                continue
            parsed = _parse_name(name)
            if parsed is None:
                continue
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            found.append(SpoolEntry(parsed[0], parsed[1], size, path))
        found.sort(key=lambda e: e.seq)
        self._entries.extend(found)
        self._bytes = sum(e.size for e in found)

    def next_seq(self) -> int:
        """The first sequence number after every spooled file."""
        with self._lock:
            return self._entries[-1].seq + 1 if self._entries else 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes currently on disk."""
        with self._lock:
            return self._bytes

    @property
    def pending_records(self) -> int:
        """Records currently on disk."""
        with self._lock:
            return sum(e.records for e in self._entries)

    def put(self, seq: int, body: bytes, records: int) -> bool:
        """Store one batch; False (counted, logged once) when it could not be written."""
        size = len(body)
        with self._lock:
            if size > self.max_bytes:
                self.dropped_records += records
                logger.warning(
                    "llm-monitor: a %d-byte batch is larger than the spool (%d bytes); dropped",
                    size,
                    self.max_bytes,
                )
                return False
            while self._entries and self._bytes + size > self.max_bytes:
                oldest = self._entries.popleft()
                self._bytes -= oldest.size
                self.dropped_records += oldest.records
                self._unlink(oldest.path)
            path = os.path.join(self.directory, f"{seq:020d}-{records}{_SUFFIX}")
            try:
                self._write_atomically(path, body)
            except OSError as exc:
                self.write_errors += 1
                self.dropped_records += records
                if not self._warned_write:
                    self._warned_write = True
                    reason = "disk full" if exc.errno == errno.ENOSPC else str(exc)
                    logger.error(
                        "llm-monitor: cannot write to the spool %s (%s); batches are dropped "
                        "and counted until it can",
                        self.directory,
                        reason,
                    )
                return False
            entry = SpoolEntry(seq, records, size, path)
            # Keep the deque sorted: a batch that failed in flight is older than ones spooled meanwhile.
            if self._entries and self._entries[-1].seq > seq:
                items = sorted([*self._entries, entry], key=lambda e: e.seq)
                self._entries = deque(items)
            else:
                self._entries.append(entry)
            self._bytes += size
            self.spooled_batches += 1
            self.spooled_records += records
            self._warned_write = False
            return True

    def oldest(self) -> SpoolEntry | None:
        """The next batch to replay, without removing it."""
        with self._lock:
            return self._entries[0] if self._entries else None

    def read(self, entry: SpoolEntry) -> bytes | None:
        """The batch's bytes, or None when the file is gone or unreadable (then it is forgotten)."""
        try:
            with open(entry.path, "rb") as fh:
                return fh.read()
        except OSError:
            self._forget(entry)
            return None

    def remove(self, entry: SpoolEntry, *, delivered: bool = True) -> None:
        """Delete a replayed (or hopeless) batch."""
        if self._forget(entry) and delivered:
            with self._lock:
                self.replayed_records += entry.records
        self._unlink(entry.path)

    def _forget(self, entry: SpoolEntry) -> bool:
        with self._lock:
            try:
                self._entries.remove(entry)
            except ValueError:
                return False  # already dropped to make room
            self._bytes -= entry.size
            return True

    def _write_atomically(self, path: str, body: bytes) -> None:
        tmp = os.path.join(self.directory, f"{_TMP_PREFIX}{os.getpid()}-{os.path.basename(path)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(body)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError:
            self._unlink(tmp)
            raise
        if self._fsync:
            self._fsync_dir()

    def _fsync_dir(self) -> None:
        try:
            dir_fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass  # some filesystems refuse fsync on directories; the rename is still atomic
        finally:
            os.close(dir_fd)

    @staticmethod
    def _unlink(path: str) -> None:
        try:
            os.unlink(path)
        except OSError:
            pass
