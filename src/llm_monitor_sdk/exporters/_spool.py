"""A bounded on-disk queue of undelivered batches: one file per batch, replayed oldest first.

Files are named ``<sequence>-<records>.json`` (the sequence zero-padded so names sort in delivery
order) and written atomically: a temporary file is written and fsynced, renamed into place, and the
directory is fsynced, so a crash leaves either the whole batch or nothing. A new spool over the
same directory (after a restart) picks the files up and continues the sequence after the last one.

Every file starts with a one-line header, ``LLMMON-SPOOL/1 uid=<uid> records=<n>``, then the request
body. Only files that carry the header, belong to the process user (owner and header uid) and are
regular files (never symlinks) are replayed or deleted; anything else found in the directory is left
alone and logged once. The directory is created 0700 and files 0600, whatever the umask.

The total size is bounded: to make room the oldest files are deleted and their records counted as
dropped. A write that fails (disk full, read-only disk) is counted and logged once, never raised.
One process per directory: two processes sharing a spool would replay each other's files.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from collections import deque
from dataclasses import dataclass

from .._files import O_NOFOLLOW, make_private_dirs

logger = logging.getLogger("llm_monitor_sdk.exporters.spool")

_SUFFIX = ".json"
_TMP_PREFIX = ".tmp-"
#: First bytes of every spool file the SDK writes.
MAGIC = b"LLMMON-SPOOL/1 "
_HEADER_MAX = 128


def spool_header(records: int) -> bytes:
    """The header line that marks a spool file as ours (the process user's)."""
    return MAGIC + f"uid={_uid()} records={records}\n".encode()


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else -1


def _split_header(data: bytes) -> bytes | None:
    """The body after our header, or None when ``data`` does not start with the process user's header."""
    if not data.startswith(MAGIC):
        return None
    end = data.find(b"\n", 0, _HEADER_MAX)
    if end < 0:
        return None
    fields = dict(
        part.split("=", 1)
        for part in data[len(MAGIC) : end].decode("ascii", "replace").split()
        if "=" in part
    )
    if fields.get("uid") != str(_uid()):
        return None
    return data[end + 1 :]


def _owned_regular(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())


def _read_head(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
    except OSError:
        return None
    try:
        return os.read(fd, _HEADER_MAX)
    except OSError:
        return None
    finally:
        os.close(fd)


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
        #: Files in the directory that are not ours (left alone, logged once each).
        self.foreign_files = 0
        self._foreign: set[str] = set()
        make_private_dirs(self.directory)
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "spool directory is not writable", self.directory)
        self._load()

    def _note_foreign(self, path: str, why: str) -> None:
        if path in self._foreign:
            return
        self._foreign.add(path)
        self.foreign_files += 1
        logger.warning(
            "llm-monitor: %s in the spool directory is not an llm-monitor spool file of this user (%s); "
            "left alone, never replayed or deleted",
            path,
            why,
        )

    def _load(self) -> None:
        found: list[SpoolEntry] = []
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name.startswith(_TMP_PREFIX):
                # A write interrupted by a crash: never renamed, so never acknowledged as spooled.
                # Only our own (owned by this user, empty or starting like our header) are removed.
                head = _read_head(path) if _owned_regular(path) else None
                if head is not None and (head.startswith(MAGIC) or MAGIC.startswith(head)):
                    self._unlink(path)
                else:
                    self._note_foreign(path, "not a partial write of ours")
                continue
            parsed = _parse_name(name)
            if parsed is None:
                continue
            if not _owned_regular(path):
                self._note_foreign(path, "not a regular file owned by this user")
                continue
            head = _read_head(path)
            if head is None or _split_header(head) is None:
                self._note_foreign(path, "no llm-monitor spool header for this user")
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

    def put(self, seq: int, body: bytes, records: int, *, count_failure: bool = True) -> SpoolEntry | None:
        """Store one batch and return its entry; None (counted, logged once) when it could not be written.

        ``count_failure=False``: a batch that is not written is not counted as dropped (the caller still
        holds it); a write error is still counted and logged."""
        data = spool_header(records) + body
        size = len(data)
        with self._lock:
            if size > self.max_bytes:
                if count_failure:
                    self.dropped_records += records
                logger.warning(
                    "llm-monitor: a %d-byte batch is larger than the spool (%d bytes); dropped",
                    size,
                    self.max_bytes,
                )
                return None
            while self._entries and self._bytes + size > self.max_bytes:
                oldest = self._entries.popleft()
                self._bytes -= oldest.size
                self.dropped_records += oldest.records
                self._unlink(oldest.path)
            path = os.path.join(self.directory, f"{seq:020d}-{records}{_SUFFIX}")
            try:
                self._write_atomically(path, data)
            except OSError as exc:
                self.write_errors += 1
                if count_failure:
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
                return None
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
            return entry

    def oldest(self) -> SpoolEntry | None:
        """The next batch to replay, without removing it."""
        with self._lock:
            return self._entries[0] if self._entries else None

    def read(self, entry: SpoolEntry) -> bytes | None:
        """The batch's body, or None when the file is gone, unreadable or no longer ours (then it is
        forgotten; a file that is not ours is also left on disk)."""
        try:
            fd = os.open(entry.path, os.O_RDONLY | O_NOFOLLOW)
            try:
                chunks = []
                while True:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
            finally:
                os.close(fd)
        except OSError:
            self._forget(entry)
            return None
        body = _split_header(b"".join(chunks))
        if body is None:
            self._forget(entry)
            self._note_foreign(entry.path, "replaced by a file without our header")
            return None
        return body

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
            # O_EXCL | O_NOFOLLOW: never write through something planted at the temporary name.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileExistsError:
                os.unlink(tmp)  # unlink removes a symlink itself, not its target
                fd = os.open(tmp, flags, 0o600)
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
