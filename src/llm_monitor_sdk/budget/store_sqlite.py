"""SQLite ledger: exact across the processes of one host.

Every reserve, settle and release is one ``BEGIN IMMEDIATE`` transaction (it takes the write lock up
front, so two processes can never both read the same spend and both decide it fits). The database runs
in WAL mode with a busy timeout, so readers (``llm-monitor budget status``) never block writers and
writers queue instead of failing. Expired reservations are purged inside the same transaction.

The database and its ``-wal``/``-shm`` files are created 0600 (SQLite gives the side files the mode of
the database), missing directories 0700, whatever the umask; a pre-existing database that other users
can read is logged once. The store's epoch (see ``ledger.py``) is a row of ``budget_meta``. A forked
child opens a connection of its own and a fresh lock: a connection is never shared across fork.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .._files import O_NOFOLLOW, make_private_dirs
from .ledger import CounterState, IdSource, LedgerError, Line, ReserveOutcome, SettleOutcome, WriteBackOutcome

__all__ = ["DEFAULT_BUSY_TIMEOUT_S", "SQLiteLedger"]

logger = logging.getLogger("llm_monitor_sdk.budget")

#: Seconds a call waits for the database's write lock (held by another process for well under a
#: millisecond per call; a longer wait means that process is stuck, and the guard treats it as an outage).
DEFAULT_BUSY_TIMEOUT_S = 2.0

_instances: weakref.WeakSet[SQLiteLedger] = weakref.WeakSet()
# Connections a forked child inherited: never used, never closed (closing one could checkpoint or
# unlink the parent's WAL), only kept alive so garbage collection does not close them either.
_inherited: list[Any] = []

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
    "CREATE TABLE IF NOT EXISTS budget_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # The largest last known spend any process restored after the database lost its data (see
    # ``Ledger.write_back``); kept apart so older databases need no migration.
    """CREATE TABLE IF NOT EXISTS budget_floors (
        rule TEXT NOT NULL, key TEXT NOT NULL, bucket TEXT NOT NULL, floor INTEGER NOT NULL,
        PRIMARY KEY (rule, key, bucket))""",
)


def _is_lock_contention(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class SQLiteLedger:
    """Counters and reservations in one SQLite file shared by every process on the host."""

    shared = True

    def __init__(self, path: str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.display_url = f"sqlite:///{path}"
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._checked_mode = False
        self._ids = IdSource()
        _instances.add(self)

    def new_id(self) -> str:
        """An id unique across processes."""
        return self._ids.next()

    def _after_fork(self) -> None:
        self._ids.reset()
        # The parent's lock may have been held by another thread at fork time, and its connection must
        # not be used (or closed) here.
        self._lock = threading.Lock()
        if self._conn is not None:
            _inherited.append(self._conn)
        self._conn = None

    def _create_file(self) -> None:
        """Create the database file 0600 (and its directories 0700) before SQLite opens it; SQLite gives
        the ``-wal`` and ``-shm`` files the database's mode. A file that exists is only checked."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            make_private_dirs(directory)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW, 0o600)
        except FileExistsError:
            if os.path.islink(self.path):  # planted after instrument() checked the path
                raise OSError(
                    f"budget store {self.path} is a symbolic link; refusing to follow it (it would hold "
                    "user ids and spend wherever it points)"
                ) from None
            if not self._checked_mode:
                self._checked_mode = True
                try:
                    mode = os.stat(self.path).st_mode
                except OSError:
                    return
                if stat.S_ISREG(mode) and mode & (stat.S_IRWXG | stat.S_IRWXO):
                    logger.warning(
                        "budget store %s can be read by other users (mode %o); it holds user ids and "
                        "spend: chmod 600 it",
                        self.path,
                        stat.S_IMODE(mode),
                    )
            return
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        self._checked_mode = True

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection inherited through fork must not be used by the child; open a fresh one.
        if self._conn is not None:
            _inherited.append(self._conn)
        self._conn = None
        self._create_file()
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

    @staticmethod
    def _epoch(conn: sqlite3.Connection, known: str) -> tuple[bool, str]:
        """(epoch matches ``known``, the database's epoch); a database without one gets a new one."""
        row = conn.execute("SELECT value FROM budget_meta WHERE name = 'epoch'").fetchone()
        if row is None:
            current = uuid.uuid4().hex
            conn.execute("INSERT INTO budget_meta (name, value) VALUES ('epoch', ?)", (current,))
            return not known, current
        current = str(row[0])
        return (not known or current == known), current

    @staticmethod
    def _spent(conn: sqlite3.Connection, line: Line) -> int:
        row = conn.execute(
            "SELECT spent FROM budget_counters WHERE rule = ? AND key = ? AND bucket = ?", line.counter
        ).fetchone()
        return int(row[0]) if row else 0

    def reserve(
        self,
        lines: Sequence[Line],
        amount: int,
        res_id: str,
        now: float,
        expires_at: float,
        enforce: bool,
        epoch: str = "",
    ) -> ReserveOutcome:
        """See :meth:`Ledger.reserve`."""
        with self._transaction() as conn:
            same, current = self._epoch(conn, epoch)
            if not same:
                return ReserveOutcome(-1, 0, 0, 0, (), current, False)
            expired = self._purge(conn, now)
            # Forget counters of windows that ended long ago, in the same transaction.
            conn.execute("DELETE FROM budget_counters WHERE expire_at IS NOT NULL AND expire_at <= ?", (now,))
            blocked, blocked_spent, blocked_reserved = -1, 0, 0
            spents: list[int] = []
            for index, line in enumerate(lines):
                spent = self._spent(conn, line)
                spents.append(spent)
                if blocked >= 0:
                    continue
                reserved = int(
                    conn.execute(
                        "SELECT COALESCE(SUM(amount), 0) FROM budget_reservations "
                        "WHERE rule = ? AND key = ? AND bucket = ?",
                        line.counter,
                    ).fetchone()[0]
                )
                if spent + reserved + amount > line.limit:
                    blocked, blocked_spent, blocked_reserved = index, spent, reserved
            if blocked < 0 or not enforce:
                conn.executemany(
                    "INSERT OR REPLACE INTO budget_reservations (res_id, rule, key, bucket, amount, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(res_id, *line.counter, amount, expires_at) for line in lines],
                )
            return ReserveOutcome(blocked, blocked_spent, blocked_reserved, expired, tuple(spents), current)

    def _add_spend(
        self, conn: sqlite3.Connection, line: Line, add: int, *, alert: bool = True
    ) -> tuple[int, bool]:
        """Add ``add`` to the line's spend; (spent after, this call fired the soft alert)."""
        conn.execute(
            "INSERT INTO budget_counters (rule, key, bucket, spent, alerted, expire_at) "
            "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (rule, key, bucket) DO UPDATE SET spent = spent + ?",
            (*line.counter, add, line.expire_at, add),
        )
        spent, alerted = conn.execute(
            "SELECT spent, alerted FROM budget_counters WHERE rule = ? AND key = ? AND bucket = ?",
            line.counter,
        ).fetchone()
        if alert and not alerted and spent > 0 and spent >= line.soft:
            conn.execute(
                "UPDATE budget_counters SET alerted = 1 WHERE rule = ? AND key = ? AND bucket = ?",
                line.counter,
            )
            return int(spent), True
        return int(spent), False

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """See :meth:`Ledger.settle`."""
        fired: list[tuple[int, int]] = []
        spents: list[int] = []
        with self._transaction() as conn:
            if not self._epoch(conn, epoch)[0]:
                return SettleOutcome([], (), False)
            conn.execute("DELETE FROM budget_reservations WHERE res_id = ?", (res_id,))
            for index, line in enumerate(lines):
                spent, first = self._add_spend(conn, line, actual)
                spents.append(spent)
                if first:
                    fired.append((index, spent))
        return SettleOutcome(fired, tuple(spents))

    def release(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """See :meth:`Ledger.release`."""
        with self._transaction() as conn:
            if not self._epoch(conn, epoch)[0]:
                return SettleOutcome([], (), False)
            conn.execute("DELETE FROM budget_reservations WHERE res_id = ?", (res_id,))
            return SettleOutcome([], tuple(self._spent(conn, line) for line in lines))

    def probe(self, proposal: str) -> str:
        """See :meth:`Ledger.probe`."""
        with self._transaction() as conn:
            return self._epoch(conn, "")[1]

    def write_back(
        self, entries: Sequence[tuple[Line, int, int]], epoch: str, now: float
    ) -> WriteBackOutcome:
        """See :meth:`Ledger.write_back`."""
        spents: list[int] = []
        fired: list[tuple[int, int]] = []
        with self._transaction() as conn:
            same, _ = self._epoch(conn, epoch)
            if not same or not epoch:
                return WriteBackOutcome((), [], False)
            for index, (line, floor, add) in enumerate(entries):
                row = conn.execute(
                    "SELECT floor FROM budget_floors WHERE rule = ? AND key = ? AND bucket = ?", line.counter
                ).fetchone()
                old = int(row[0]) if row else 0
                if floor > old:
                    conn.execute(
                        "INSERT OR REPLACE INTO budget_floors (rule, key, bucket, floor) VALUES (?, ?, ?, ?)",
                        (*line.counter, floor),
                    )
                    self._add_spend(conn, line, floor - old, alert=False)
                if floor > 0 and floor >= line.soft:
                    conn.execute(
                        "UPDATE budget_counters SET alerted = 1 WHERE rule = ? AND key = ? AND bucket = ?",
                        line.counter,
                    )
                spent, first = self._add_spend(conn, line, add)
                spents.append(spent)
                if first:
                    fired.append((index, spent))
        return WriteBackOutcome(tuple(spents), fired)

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


def _reinit_after_fork() -> None:
    for ledger in list(_instances):
        ledger._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
