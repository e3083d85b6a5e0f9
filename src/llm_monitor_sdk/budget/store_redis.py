"""Redis ledger: exact across many hosts.

Each reserve and each settle/release is one Lua script run atomically by the server over every counter
the call touches. Per counter there are two keys: a hash (``spent``, ``reserved``, ``alerted``) and a
sorted set of in-flight reservations scored by expiry (member ``<id>:<amount>``), so the scripts purge
expired reservations themselves. Keys expire an hour after their window ends (``total`` never expires).
Key names: ``llm_monitor:budget:<rule>:<bucket>:<key>:h`` and ``...:z``, each part URL-quoted; the
store's epoch is ``llm_monitor:budget:epoch`` (every script checks it first, see ``ledger.py``).
The scripts touch several keys, so this ledger needs a single Redis primary, not Redis Cluster.

Every network step (connect, each read) gives up after ``timeout_s`` (default 0.1 s; the URL's own
``socket_timeout`` / ``socket_connect_timeout`` parameters win); a refused or reset connection is tried
once more at once, a timeout never. The client is rebuilt in a forked child: a connection is never
shared across fork.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, unquote

from .._install import install_hint
from .._secrets import mask_text, mask_url
from .ledger import CounterState, IdSource, LedgerError, Line, ReserveOutcome, SettleOutcome, WriteBackOutcome

__all__ = ["RedisLedger"]

_PREFIX = "llm_monitor:budget"
_EPOCH_KEY = f"{_PREFIX}:epoch"
#: Seconds each network step may take unless the URL says otherwise.
DEFAULT_TIMEOUT_S = 0.1
#: What ``pip`` needs for this store (the one place that names the extra).
INSTALL_HINT = install_hint("redis")

_instances: weakref.WeakSet[RedisLedger] = weakref.WeakSet()
# Clients a forked child inherited: never used, never closed, only kept alive (closing one, even from
# garbage collection, takes the parent's pool lock, which a parent thread may have held at fork time).
_inherited: list[Any] = []

# Every script starts here. KEYS[1] is the epoch key; ARGV[1] the epoch the caller knows ('' = any),
# ARGV[2] a fresh one to set when the store has none. A store without an epoch lost its data (or is new).
_EPOCH = """
local known, cur = ARGV[1], redis.call('GET', KEYS[1])
if not cur then
  cur = ARGV[2]
  redis.call('SET', KEYS[1], cur)
  if known ~= '' then return {0, cur} end
end
if known ~= '' and cur ~= known then return {0, cur} end
"""

# KEYS: epoch, then hash, zset per line. ARGV: known epoch, new epoch, now, expires_at, amount, res_id,
# enforce, then limit and key expiry (epoch seconds, or -1) per line. Returns {1, epoch, blocked line
# (1-based, 0 = none), spent, reserved, expired, spent of each line} or {0, epoch} (epoch changed).
_RESERVE = (
    _EPOCH
    + """
local now = tonumber(ARGV[3])
local amount = tonumber(ARGV[5])
local member = ARGV[6] .. ':' .. ARGV[5]
local enforce = ARGV[7] == '1'
local n = (#KEYS - 1) / 2
local expired, seen, spents = 0, {}, {}
local blocked, b_spent, b_reserved = 0, 0, 0
for i = 1, n do
  local h, z = KEYS[2 * i], KEYS[2 * i + 1]
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #old > 0 then
    local sub = 0
    for _, m in ipairs(old) do
      local id, amt = string.match(m, '^(.*):(%d+)$')
      sub = sub + tonumber(amt)
      if not seen[id] then seen[id] = true; expired = expired + 1 end
    end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    redis.call('HINCRBY', h, 'reserved', string.format('%d', -sub))
  end
  local vals = redis.call('HMGET', h, 'spent', 'reserved')
  local spent = tonumber(vals[1] or '0') or 0
  local reserved = tonumber(vals[2] or '0') or 0
  spents[i] = spent
  if blocked == 0 and spent + reserved + amount > tonumber(ARGV[7 + 2 * i - 1]) then
    blocked, b_spent, b_reserved = i, spent, reserved
  end
end
if blocked == 0 or not enforce then
  for i = 1, n do
    local h, z = KEYS[2 * i], KEYS[2 * i + 1]
    redis.call('ZADD', z, ARGV[4], member)
    redis.call('HINCRBY', h, 'reserved', ARGV[5])
    local exp = tonumber(ARGV[7 + 2 * i])
    if exp > 0 then
      redis.call('EXPIREAT', h, exp)
      redis.call('EXPIREAT', z, exp)
    end
  end
end
local out = {1, cur, blocked, b_spent, b_reserved, expired}
for i = 1, n do out[6 + i] = spents[i] end
return out
"""
)

# KEYS: epoch, then hash, zset per line. ARGV: known epoch, new epoch, member, amount, actual, settle (1)
# or release (0), then soft threshold and key expiry per line. Returns {1, epoch, spent of each line,
# then 1/0 per line: this call fired its soft alert} or {0, epoch}.
_SETTLE = (
    _EPOCH
    + """
local member = ARGV[3]
local settle = ARGV[6] == '1'
local n = (#KEYS - 1) / 2
local out = {1, cur}
for i = 1, n do
  local h, z = KEYS[2 * i], KEYS[2 * i + 1]
  if redis.call('ZREM', z, member) == 1 then
    redis.call('HINCRBY', h, 'reserved', string.format('%d', -tonumber(ARGV[4])))
  end
  local spent, fired = 0, 0
  if settle then
    spent = redis.call('HINCRBY', h, 'spent', ARGV[5])
    local soft = tonumber(ARGV[6 + 2 * i - 1])
    if spent > 0 and spent >= soft and redis.call('HSETNX', h, 'alerted', '1') == 1 then
      fired = 1
    end
    local exp = tonumber(ARGV[6 + 2 * i])
    if exp > 0 then
      redis.call('EXPIREAT', h, exp)
    end
  else
    spent = tonumber(redis.call('HGET', h, 'spent') or '0') or 0
  end
  out[2 + i] = spent
  out[2 + n + i] = fired
end
return out
"""
)

# KEYS: epoch, then hash per line. ARGV: the epoch the write-back is for, then floor, add, soft threshold
# and key expiry per line. The hash's ``floor`` field is the largest floor any host restored in this
# epoch; raising it adds the difference to ``spent``, so ``spent`` stays that floor plus every addition
# (outage spend of each host, spend settled since the reset) whatever order the hosts write in.
# Returns {1, spent of each line, then 1/0 per line: soft alert fired} or {0}.
_WRITE_BACK = """
local cur = redis.call('GET', KEYS[1])
if not cur or cur ~= ARGV[1] then return {0} end
local n = #KEYS - 1
local out = {1}
for i = 1, n do
  local h = KEYS[1 + i]
  local floor, add = tonumber(ARGV[4 * i - 2]), tonumber(ARGV[4 * i - 1])
  local soft, exp = tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1])
  local old = tonumber(redis.call('HGET', h, 'floor') or '0') or 0
  local spent
  if floor > old then
    redis.call('HSET', h, 'floor', string.format('%d', floor))
    spent = redis.call('HINCRBY', h, 'spent', string.format('%d', floor - old))
  else
    spent = tonumber(redis.call('HGET', h, 'spent') or '0') or 0
  end
  if floor > 0 and floor >= soft then redis.call('HSETNX', h, 'alerted', '1') end
  spent = redis.call('HINCRBY', h, 'spent', string.format('%d', add))
  local fired = 0
  if spent > 0 and spent >= soft and redis.call('HSETNX', h, 'alerted', '1') == 1 then fired = 1 end
  if exp > 0 then redis.call('EXPIREAT', h, exp) end
  out[1 + i] = spent
  out[1 + n + i] = fired
end
return out
"""

# KEYS: epoch. ARGV: a new epoch to set when there is none. Returns the store's epoch.
_PROBE = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  cur = ARGV[1]
  redis.call('SET', KEYS[1], cur)
end
return cur
"""


def _part(text: str) -> str:
    # Keys come from user ids; quoting keeps ':' inside a component from colliding with the separator.
    return quote(text, safe="")


class RedisLedger:
    """Counters in Redis, shared by every host that points at the same server and database."""

    shared = True

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, client: Any | None = None) -> None:
        self.url = url
        #: The URL as log lines and error messages show it (no password, no token values).
        self.display_url = mask_url(url)
        self.timeout_s = timeout_s
        self._ids = IdSource()
        self._own_client = client is None
        if client is None:
            try:
                import redis  # noqa: F401
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ValueError(f"the Redis budget store needs the redis package: {INSTALL_HINT}") from exc
            client = self._make_client()
        self._use(client)
        _instances.add(self)

    def _make_client(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            return redis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                # A stale pooled connection (the server restarted) is retried once at once; a timeout is
                # never retried, so no call waits more than one timeout for a stalled server.
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                decode_responses=True,
            )
        except ValueError as exc:
            raise ValueError(f"bad Redis URL {self.display_url!r}: {mask_text(str(exc))}") from None

    def _use(self, client: Any) -> None:
        # Typed loosely: redis-py's return types are unions over its sync/async and bytes/str modes.
        self._client: Any = client
        self._reserve: Callable[..., Any] = client.register_script(_RESERVE)
        self._settle: Callable[..., Any] = client.register_script(_SETTLE)
        self._write_back: Callable[..., Any] = client.register_script(_WRITE_BACK)
        self._probe: Callable[..., Any] = client.register_script(_PROBE)

    def _after_fork(self) -> None:
        # The parent's pool (its sockets and its locks, possibly held by a thread that does not exist
        # here) stays the parent's: the child gets a client of its own. Nothing is closed.
        self._ids.reset()
        if self._own_client:
            _inherited.append(self._client)
            self._use(self._make_client())

    def new_id(self) -> str:
        """An id unique across hosts."""
        return self._ids.next()

    @staticmethod
    def _keys(lines: Sequence[Line]) -> list[str]:
        keys = [_EPOCH_KEY]
        for line in lines:
            base = f"{_PREFIX}:{_part(line.identity)}:{_part(line.bucket)}:{_part(line.key)}"
            keys.extend((base + ":h", base + ":z"))
        return keys

    @staticmethod
    def _expiry(line: Line) -> str:
        return "-1" if line.expire_at is None else str(math.ceil(line.expire_at))

    def _error(self, exc: BaseException) -> LedgerError:
        return LedgerError(
            f"Redis budget store {self.display_url!r}: {mask_text(str(exc))}", kind=type(exc).__name__
        )

    def _call(self, script: Callable[..., Any], keys: list[str], args: list[str]) -> Any:
        import redis

        try:
            return script(keys=keys, args=args)
        except (redis.RedisError, OSError) as exc:
            raise self._error(exc) from exc

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
        args = [
            epoch,
            self._ids.epoch_proposal(),
            repr(now),
            repr(expires_at),
            str(amount),
            res_id,
            "1" if enforce else "0",
        ]
        for line in lines:
            args.extend((str(line.limit), self._expiry(line)))
        out = self._call(self._reserve, self._keys(lines), args)
        if not int(out[0]):
            return ReserveOutcome(-1, 0, 0, 0, (), str(out[1]), False)
        blocked, spent, reserved, expired = (int(v) for v in out[2:6])
        return ReserveOutcome(
            blocked - 1, spent, reserved, expired, tuple(int(v) for v in out[6:]), str(out[1]), True
        )

    def _settle_or_release(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, settle: bool, epoch: str
    ) -> SettleOutcome:
        args = [
            epoch,
            self._ids.epoch_proposal(),
            f"{res_id}:{amount}",
            str(amount),
            str(actual),
            "1" if settle else "0",
        ]
        for line in lines:
            args.extend((str(line.soft), self._expiry(line)))
        out = self._call(self._settle, self._keys(lines), args)
        if not int(out[0]):
            return SettleOutcome([], (), False)
        n = len(lines)
        spents = tuple(int(v) for v in out[2 : 2 + n])
        flags = out[2 + n : 2 + 2 * n]
        return SettleOutcome([(i, spents[i]) for i in range(n) if int(flags[i])], spents, True)

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """See :meth:`Ledger.settle`."""
        return self._settle_or_release(lines, amount, res_id, actual, True, epoch)

    def release(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, epoch: str = ""
    ) -> SettleOutcome:
        """See :meth:`Ledger.release`."""
        return self._settle_or_release(lines, amount, res_id, 0, False, epoch)

    def probe(self, proposal: str) -> str:
        """See :meth:`Ledger.probe`."""
        return str(self._call(self._probe, [_EPOCH_KEY], [proposal]))

    def write_back(
        self, entries: Sequence[tuple[Line, int, int]], epoch: str, now: float
    ) -> WriteBackOutcome:
        """See :meth:`Ledger.write_back`."""
        keys = [_EPOCH_KEY]
        args = [epoch]
        for line, floor, add in entries:
            keys.append(f"{_PREFIX}:{_part(line.identity)}:{_part(line.bucket)}:{_part(line.key)}:h")
            args.extend((str(floor), str(add), str(line.soft), self._expiry(line)))
        out = self._call(self._write_back, keys, args)
        if not int(out[0]):
            return WriteBackOutcome((), [], False)
        n = len(entries)
        spents = tuple(int(v) for v in out[1 : 1 + n])
        flags = out[1 + n : 1 + 2 * n]
        return WriteBackOutcome(spents, [(i, spents[i]) for i in range(n) if int(flags[i])], True)

    def status(self, targets: Sequence[tuple[str, str]], now: float) -> list[CounterState]:
        """See :meth:`Ledger.status`; reads with SCAN, meant for the CLI, not the hot path."""
        import redis

        states: list[CounterState] = []
        try:
            for identity, bucket in targets:
                base = f"{_PREFIX}:{_part(identity)}:{_part(bucket)}:"
                keys = {name[len(base) : -2] for name in self._client.scan_iter(match=base + "*", count=500)}
                for quoted in sorted(keys):
                    spent = int(self._client.hget(base + quoted + ":h", "spent") or 0)
                    members: list[str] = self._client.zrangebyscore(base + quoted + ":z", f"({now!r}", "+inf")
                    key = unquote(quoted)
                    reserved = sum(int(member.rsplit(":", 1)[1]) for member in members)
                    states.append(CounterState(identity, key, bucket, spent, reserved))
        except (redis.RedisError, OSError) as exc:
            raise self._error(exc) from exc
        return states

    def close(self) -> None:
        """Close the connection pool."""
        try:
            self._client.close()
        except Exception:  # closing a broken connection must not raise
            pass


def _reinit_after_fork() -> None:
    for ledger in list(_instances):
        ledger._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
