"""The SQLite budget database holds user ids: it and its -wal/-shm files are 0600, the directories the SDK
creates for it 0700, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_monitor_sdk.budget import build_guard


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_side_files_are_0600_and_new_directories_0700(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "state" / "budgets" / "budget.db"
    guard = build_guard("user:daily=1", store=f"sqlite:///{db}")
    assert guard is not None
    res = guard.reserve({"user": "alice"}, 0.01)
    guard.settle(res, 0.01)
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert path.exists(), path
        assert mode(path) == 0o600, (path, oct(mode(path)))
    assert mode(tmp_path / "state") == 0o700
    assert mode(tmp_path / "state" / "budgets") == 0o700
    guard.close()


def test_existing_directory_is_left_alone(tmp_path: Path, open_umask: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    guard = build_guard("user:daily=1", store=f"sqlite:///{shared}/budget.db")
    assert guard is not None
    guard.reserve({"user": "alice"}, 0.01)
    assert mode(shared) == 0o755
    assert mode(shared / "budget.db") == 0o600
    guard.close()


def test_a_pre_existing_database_others_can_read_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "budget.db"
    db.touch()
    os.chmod(db, 0o644)
    guard = build_guard("user:daily=1", store=f"sqlite:///{db}")
    assert guard is not None
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk.budget"):
        for _ in range(3):
            guard.settle(guard.reserve({"user": "alice"}, 0.01), 0.01)
    warnings = [r.getMessage() for r in caplog.records if "can be read by other users" in r.getMessage()]
    assert len(warnings) == 1 and str(db) in warnings[0] and "644" in warnings[0]
    guard.close()


def test_a_symlink_at_the_database_path_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    target.write_bytes(b"")
    link = tmp_path / "budget.db"
    link.symlink_to(target)
    with pytest.raises(ValueError, match="is a symbolic link"):
        build_guard("user:daily=1", store=f"sqlite:///{link}")
    # Planted after the store was configured: the first use refuses it; the budget's store-error
    # policy applies (here the default, fail open: the call goes ahead, counted as a store error).
    db = tmp_path / "later.db"
    guard = build_guard("user:daily=1", store=f"sqlite:///{db}")
    assert guard is not None
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    db.symlink_to(other)
    guard.reserve({"user": "alice"}, 0.01)
    assert other.read_bytes() == b""  # nothing was written through the link
    assert db.is_symlink()
