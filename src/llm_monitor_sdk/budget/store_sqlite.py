"""SQLite ledger: exact across the processes of one host.

Every reserve, settle and release is one ``BEGIN IMMEDIATE`` transaction (it takes the write lock up
front, so two processes can never both read the same spend and both decide it fits). The database runs
in WAL mode with a busy timeout, so readers (``llm-monitor budget status``) never block writers and
writers queue instead of failing. Expired reservations are purged inside the same transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .ledger import CounterState, LedgerError, Line, ReserveOutcome

__all__ = ["SQLiteLedger"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS budget_counters (
        rule TEXT NOT NULL, key TEXT NOT NULL, bucket TEXT NOT NULL,
        spent INTEGER NOT NULL DEFAULT 0, alerted INTEGER NOT NULL DEFAULT 0, expire_at REAL,
        PRIMARY KEY (rule, key, bucket))""",
    """CREATE TABLE IF NOT EXISTS budget_reservations (
        res_id TEXT NOT NULL, rule TEXT NOT NULL, key TEXT NOT NULL, bucket TEXT NOT NULL,
        amount INTEGER NOT NULL, expires_at REAL NOT NULL,
        PRIMARY KEY (rule, key, bucket, res_id))""",
    "CREATE INDEX IF NOT EXISTS budget_reservations_expiry ON budget_reservations (expires_at)",
    "CREATE INDEX IF NOT EXISTS budget_reservations_id ON budget_reservations (res_id)",
    "CREATE INDEX IF NOT EXISTS budget_counters_expiry ON budget_counters (expire_at)",
)


def _is_lock_contention(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class SQLiteLedger:
    """Counters and reservations in one SQLite file shared by every process on the host."""

    def __init__(self, path: str, *, busy_timeout_s: float = 10.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def new_id(self) -> str:
        """A random id, unique across processes."""
        return uuid.uuid4().hex

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited through fork must not be used by the child; open a fresh one.
        self._conn = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Several processes opening a new database at once race on switching it to WAL and creating
        # the schema; SQLite reports "database is locked" there without waiting for the busy timeout.
        # That is not an outage (failing open on it would let a process spend unchecked), so retry.
        deadline = time.monotonic() + self._busy_timeout_s
        delay = 0.005
        while True:
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            try:
                self._prepare(conn)
            except sqlite3.OperationalError as exc:
                conn.close()
                if not _is_lock_contention(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            except BaseException:
                conn.close()
                raise
            self._conn, self._pid = conn, os.getpid()
            return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                self._discard()
                raise LedgerError(
                    f"SQLite budget store {self.path!r}: {exc}", kind=type(exc).__name__
                ) from exc

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    @staticmethod
    def _purge(conn: sqlite3.Connection, now: float) -> int:
        expired = conn.execute(
            "SELECT COUNT(DISTINCT res_id) FROM budget_reservations WHERE expires_at <= ?", (now,)
        ).fetchone()[0]
        if expired:
            conn.execute("DELETE FROM budget_reservations WHERE expires_at <= ?", (now,))
        return int(expired)

    def reserve(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, expires_at: float, enforce: bool
    ) -> ReserveOutcome:
        """See :meth:`Ledger.reserve`."""
        with self._transaction() as conn:
            expired = self._purge(conn, now)
            # Forget counters of windows that ended long ago, in the same transaction.
            conn.execute("DELETE FROM budget_counters WHERE expire_at IS NOT NULL AND expire_at <= ?", (now,))
            blocked, blocked_spent, blocked_reserved = -1, 0, 0
            for index, line in enumerate(lines):
                row = conn.execute(
                    "SELECT spent FROM budget_counters WHERE rule = ? AND key = ? AND bucket = ?",
                    line.counter,
                ).fetchone()
                spent = int(row[0]) if row else 0
                reserved = int(
                    conn.execute(
                        "SELECT COALESCE(SUM(amount), 0) FROM budget_reservations "
                        "WHERE rule = ? AND key = ? AND bucket = ?",
                        line.counter,
                    ).fetchone()[0]
                )
                if spent + reserved + amount > line.limit:
                    blocked, blocked_spent, blocked_reserved = index, spent, reserved
                    break
            if blocked < 0 or not enforce:
                conn.executemany(
                    "INSERT OR REPLACE INTO budget_reservations (res_id, rule, key, bucket, amount, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(res_id, *line.counter, amount, expires_at) for line in lines],
                )
            return ReserveOutcome(blocked, blocked_spent, blocked_reserved, expired)

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float
    ) -> list[tuple[int, int]]:
        """See :meth:`Ledger.settle`."""
        fired: list[tuple[int, int]] = []
        with self._transaction() as conn:
            conn.execute("DELETE FROM budget_reservations WHERE res_id = ?", (res_id,))
            for index, line in enumerate(lines):
                conn.execute(
                    "INSERT INTO budget_counters (rule, key, bucket, spent, alerted, expire_at) "
                    "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (rule, key, bucket) DO UPDATE SET spent = spent + ?",
                    (*line.counter, actual, line.expire_at, actual),
                )
                spent, alerted = conn.execute(
                    "SELECT spent, alerted FROM budget_counters WHERE rule = ? AND key = ? AND bucket = ?",
                    line.counter,
                ).fetchone()
                if not alerted and spent > 0 and spent >= line.soft:
                    conn.execute(
                        "UPDATE budget_counters SET alerted = 1 WHERE rule = ? AND key = ? AND bucket = ?",
                        line.counter,
                    )
                    fired.append((index, int(spent)))
        return fired

    def release(self, lines: Sequence[Line], amount: int, res_id: str, now: float) -> None:
        """See :meth:`Ledger.release`."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM budget_reservations WHERE res_id = ?", (res_id,))

    def status(self, targets: Sequence[tuple[str, str]], now: float) -> list[CounterState]:
        """See :meth:`Ledger.status`."""
        states: list[CounterState] = []
        with self._transaction() as conn:
            for identity, bucket in targets:
                rows = conn.execute(
                    "SELECT key, SUM(spent), SUM(reserved) FROM ("
                    " SELECT key, spent, 0 AS reserved FROM budget_counters WHERE rule = ? AND bucket = ?"
                    " UNION ALL"
                    " SELECT key, 0, amount FROM budget_reservations"
                    "  WHERE rule = ? AND bucket = ? AND expires_at > ?"
                    ") GROUP BY key ORDER BY key",
                    (identity, bucket, identity, bucket, now),
                ).fetchall()
                states.extend(CounterState(identity, key, bucket, int(s), int(r)) for key, s, r in rows)
        return states

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._pid == os.getpid():
                self._discard()
            self._conn = None
