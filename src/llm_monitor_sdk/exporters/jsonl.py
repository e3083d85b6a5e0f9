"""``JSONLExporter``: one JSON object per line, appended to a local file with size-based rotation."""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Sequence

from ..record import RecordDict
from ._base import encoded_records

logger = logging.getLogger("llm_monitor_sdk")


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
        parent = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(parent, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._fd, self._pid = fd, os.getpid()
        self._size = self._trim_torn_tail(fd)
        return fd

    def _trim_torn_tail(self, fd: int) -> int:
        """Cut an incomplete last line (left by a crash mid-write); return the file size."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0
        with open(self.path, "rb") as reader:
            reader.seek(max(0, size - 65536))
            tail = reader.read()
        if tail.endswith(b"\n"):
            return size
        cut = tail.rfind(b"\n")
        keep = size - len(tail) + cut + 1 if cut >= 0 else (0 if size <= 65536 else size)
        if keep != size:
            os.truncate(self.path, keep)
            logger.warning(
                "llm_monitor_sdk: removed a torn last line (%d bytes) from %s", size - keep, self.path
            )
        return keep

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.backups <= 0:
            os.truncate(self.path, 0)
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
                os.truncate(self.path, start)
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
