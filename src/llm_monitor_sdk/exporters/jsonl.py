"""``JSONLExporter``: one JSON object per line, appended to a local file with size-based rotation."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
from collections.abc import Sequence

from .._files import O_NOFOLLOW, make_private_dirs
from ..record import RecordDict
from ._base import encoded_records

logger = logging.getLogger("llm_monitor_sdk")

_CHUNK = 65536
_MAX_CHECKED_LINE = 64 * 2**20


class NotOurFileError(OSError):
    """The JSONL path holds something the exporter must not write to (a symlink, a foreign file)."""


def _rfind_newline(fd: int, end: int, size: int) -> int:
    """Offset of the last ``\\n`` before ``end`` (reading backwards in chunks), or -1."""
    pos = end
    while pos > 0:
        start = max(0, pos - _CHUNK)
        chunk = os.pread(fd, pos - start, start)
        found = chunk.rfind(b"\n")
        if found >= 0:
            return start + found
        pos = start
    return -1


def _torn_tail(fd: int, size: int) -> tuple[int, bool]:
    """Where a torn last line starts (``size`` when the file ends with a newline) and whether the file
    is ours (see :meth:`JSONLExporter._trim_torn_tail`). Reads backwards, so any line length works."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size, True
    cut = _rfind_newline(fd, size, size)  # offset of the last newline, -1 when there is none
    if cut < 0:
        return 0, _looks_like_record_start(os.pread(fd, 4096, 0))
    start = _rfind_newline(fd, cut, size) + 1
    if cut - start <= _MAX_CHECKED_LINE:
        return cut + 1, _is_record_line(os.pread(fd, cut - start, start))
    # A record this large is not parsed just to recognise it: its first key will do.
    return cut + 1, _looks_like_record_start(os.pread(fd, 4096, start))


def _is_record_line(line: bytes) -> bool:
    """Whether a whole line is one of our records: a JSON object with a string ``kind``."""
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get("kind"), str)


def _looks_like_record_start(head: bytes) -> bool:
    """Whether a torn first line begins like a record (``{"schema_version":`` or ``{"kind":``).

    A fragment too short to show its first key counts when it is a prefix of one of them.
    """
    compact = head.replace(b" ", b"")
    for marker in (b'{"schema_version":', b'{"kind":'):
        if compact.startswith(marker) or (len(compact) < len(marker) and marker.startswith(compact)):
            return True
    return False


class JSONLExporter:
    """Append records to ``path`` as JSON Lines.

    - Parent folders are created; the file is created with mode ``0600`` (prompts are sensitive).
    - Each batch is written with one ``write`` on an ``O_APPEND`` descriptor, so lines from several
      processes never interleave. If the process dies mid-write, the torn tail is cut off the next
      time the file is opened, so a reader only ever sees whole lines.
    - When the file would grow past ``max_bytes`` it is rotated to ``path.1`` (``path.1`` to
      ``path.2`` ...), keeping ``backups`` old files. ``max_bytes=0`` never rotates.
    - A failed write (disk full, permissions) raises, so the pipeline counts the batch as failed; the
      file is trimmed back to its last whole line first.
    """

    name = "jsonl"

    def __init__(
        self,
        path: str | os.PathLike[str] = "./llm-monitor/records.jsonl",
        *,
        max_bytes: int = 100 * 2**20,
        backups: int = 5,
    ) -> None:
        self.path = os.fspath(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self._pid = os.getpid()
        self._logged: set[str] = set()

    def _process_lock(self) -> threading.Lock:
        # After os.fork() the inherited lock may be held forever by a parent thread that does not exist
        # in the child (a fork during an export): the child takes a fresh one with its own descriptor.
        if self._pid != os.getpid():
            self._lock = threading.Lock()
            if self._fd is not None:
                try:
                    os.close(self._fd)  # the child's copy of the parent's descriptor
                except OSError:
                    pass
                self._fd = None
            self._pid = os.getpid()
        return self._lock

    def _open(self) -> int:
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        make_private_dirs(os.path.dirname(self.path) or ".")
        try:
            # O_NOFOLLOW: a symlink planted at our path is refused, never followed.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | O_NOFOLLOW, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP or os.path.islink(self.path):
                self._log_once(
                    "symlink",
                    "llm_monitor_sdk: %s is a symlink; refusing to follow it (records are not "
                    "written there and are counted as failed)",
                    self.path,
                )
                raise NotOurFileError(errno.ELOOP, "refusing to follow a symlink", self.path) from exc
            raise
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise NotOurFileError(errno.EINVAL, "not a regular file", self.path)
            if mode & 0o077:
                # We create the file 0600 (a umask can only remove bits): this one was there before.
                self._log_once(
                    "mode",
                    "llm_monitor_sdk: %s can be read by other users (mode %o); records hold "
                    "prompts and user ids: chmod 600 it",
                    self.path,
                    stat.S_IMODE(mode),
                )
            size = self._trim_torn_tail(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._pid = fd, os.getpid()
        self._size = size
        return fd

    def _log_once(self, key: str, message: str, *args: object) -> None:
        if key in self._logged:
            return
        self._logged.add(key)
        (logger.error if key != "mode" else logger.warning)(message, *args)

    def _trim_torn_tail(self, fd: int) -> int:
        """Cut an incomplete last line (left by a crash mid-write) of any length; return the file size.

        Only a file that is ours is repaired: the line before the torn tail must be a record (a JSON
        object with a ``kind``), or, when the torn tail is the whole file, the tail must begin like one.
        Any other file without a final newline is left untouched and :class:`NotOurFileError` is raised.
        """
        size = os.fstat(fd).st_size
        keep, ours = _torn_tail(fd, size)
        if keep == size:
            return size
        if not ours:
            self._log_once(
                "foreign",
                "llm_monitor_sdk: %s does not end with a newline and does not look like an "
                "llm-monitor JSONL file; left untouched, records are not written there (counted as "
                "failed): point LLM_MONITOR_JSONL_PATH elsewhere",
                self.path,
            )
            raise NotOurFileError(errno.EINVAL, "not an llm-monitor JSONL file (no final newline)", self.path)
        os.ftruncate(fd, keep)
        logger.warning("llm_monitor_sdk: removed a torn last line (%d bytes) from %s", size - keep, self.path)
        return keep

    def check_path(self) -> None:
        """Check, without writing a record, that ``path`` can be written (``instrument()`` calls this).

        Creates the missing folders (0700). Raises ``OSError`` naming the reason when the file cannot
        be written there, or when a file is there that is not ours and would need repairing (see
        :meth:`_trim_torn_tail`); a symlink at the path is logged as an error (records are then refused and
        counted as failed) but not raised.
        """
        directory = os.path.dirname(self.path) or "."
        make_private_dirs(directory)
        if os.path.islink(self.path):
            self._log_once(
                "symlink",
                "llm_monitor_sdk: %s is a symlink; refusing to follow it (records are not written there "
                "and are counted as failed)",
                self.path,
            )
            return
        if os.path.isdir(self.path):
            raise IsADirectoryError(errno.EISDIR, "is a directory", self.path)
        if os.path.exists(self.path):
            if not os.access(self.path, os.W_OK):
                raise PermissionError(errno.EACCES, "file is not writable", self.path)
            fd = os.open(self.path, os.O_RDONLY | O_NOFOLLOW)
            try:
                _, ours = _torn_tail(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
            if not ours:  # a settings file, another program's log: never ours to repair or append to
                raise NotOurFileError(
                    errno.EINVAL,
                    "not an llm-monitor JSONL file and no final newline; left untouched",
                    self.path,
                )
        elif not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "folder is not writable", directory)

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.backups <= 0:
            fd = os.open(self.path, os.O_WRONLY | O_NOFOLLOW)
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)
        else:
            for index in range(self.backups - 1, 0, -1):
                older = f"{self.path}.{index}"
                if os.path.exists(older):
                    os.replace(older, f"{self.path}.{index + 1}")
            os.replace(self.path, f"{self.path}.1")
        self._open()

    def export(self, records: Sequence[RecordDict]) -> None:
        """Append one line per record."""
        if not records:
            return
        data = b"".join(line + b"\n" for line in encoded_records(records))
        with self._process_lock():
            fd = self._open()
            if self.max_bytes:
                fd = self._follow_other_writers(fd)
            if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
                self._rotate()
                fd = self._open()
            self._write_all(fd, data)

    def _follow_other_writers(self, fd: int) -> int:
        """Other processes (pre-fork workers) may append to and rotate the same file: when ``path`` is no
        longer our file, reopen it; take the real size, so rotation happens at ``max_bytes`` of the file."""
        mine = os.fstat(fd)
        try:
            on_disk = os.stat(self.path)
            moved = (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev)
        except FileNotFoundError:
            moved = True
        if moved:
            os.close(fd)
            self._fd = None
            fd = self._open()
            mine = os.fstat(fd)
        self._size = mine.st_size
        return fd

    def _write_all(self, fd: int, data: bytes) -> None:
        start = self._size
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                n = os.write(fd, view[written:])
                if n == 0:
                    raise OSError(errno.EIO, "write returned 0 bytes")
                written += n
        except OSError:
            # Never leave half a batch behind: cut back to the last whole line we know of.
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise
        self._size = start + written

    def shutdown(self) -> None:
        """Close the file."""
        with self._process_lock():
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = None
