"""File-system helpers shared by everything the SDK writes to disk (JSONL file, HTTP spool, SQLite budget store).

Everything the SDK creates is private to the process user, whatever the umask: directories 0700,
files 0600. Files are opened with ``O_NOFOLLOW`` so a symlink planted at a path the SDK writes is
refused instead of followed.
"""

from __future__ import annotations

import os

#: ``os.O_NOFOLLOW`` where the platform has it (0 elsewhere).
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def make_private_dirs(directory: str) -> None:
    """Create the missing directories of ``directory`` with mode 0700 (existing ones are left alone).

    Raises ``OSError`` when a directory cannot be created (a path component is a file, no permission).
    """
    missing: list[str] = []
    current = directory
    while current and not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if os.path.isdir(path):
                continue
            raise
        os.chmod(path, 0o700)  # the umask may have removed bits mkdir asked for
