"""Redis ledger: exact across many hosts.

Each reserve and each settle/release is one Lua script run atomically by the server over every counter
the call touches. Per counter there are two keys: a hash (``spent``, ``reserved``, ``alerted``) and a
sorted set of in-flight reservations scored by expiry (member ``<id>:<amount>``), so the scripts purge
expired reservations themselves. Keys expire an hour after their window ends (``total`` never expires).
Key names: ``llm_monitor:budget:<rule>:<bucket>:<key>:h`` and ``...:z``, each part URL-quoted.
The scripts touch several keys, so this ledger needs a single Redis primary, not Redis Cluster.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, unquote

from .ledger import CounterState, LedgerError, Line, ReserveOutcome

__all__ = ["RedisLedger"]

_PREFIX = "llm_monitor:budget"

# KEYS: hash, zset per line. ARGV: now, expires_at, amount, res_id, enforce, then limit and key expiry
# (epoch seconds, or -1) per line. Returns {blocked line (1-based, 0 = none), spent, reserved, expired}.
_RESERVE = """
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[3])
local member = ARGV[4] .. ':' .. ARGV[3]
local enforce = ARGV[5] == '1'
local n = #KEYS / 2
local expired, seen = 0, {}
local blocked, b_spent, b_reserved = 0, 0, 0
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
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
  if blocked == 0 and spent + reserved + amount > tonumber(ARGV[5 + 2 * i - 1]) then
    blocked, b_spent, b_reserved = i, spent, reserved
  end
end
if blocked == 0 or not enforce then
  for i = 1, n do
    local h, z = KEYS[2 * i - 1], KEYS[2 * i]
    redis.call('ZADD', z, ARGV[2], member)
    redis.call('HINCRBY', h, 'reserved', ARGV[3])
    local exp = tonumber(ARGV[5 + 2 * i])
    if exp > 0 then
      redis.call('EXPIREAT', h, exp)
      redis.call('EXPIREAT', z, exp)
    end
  end
end
return {blocked, b_spent, b_reserved, expired}
"""

# KEYS: hash, zset per line. ARGV: member, amount, actual, settle (1) or release (0), then soft threshold
# and key expiry per line. Returns {line, spent, ...} for each soft alert fired by this call.
_SETTLE = """
local member = ARGV[1]
local settle = ARGV[4] == '1'
local n = #KEYS / 2
local fired = {}
for i = 1, n do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('ZREM', z, member) == 1 then
    redis.call('HINCRBY', h, 'reserved', string.format('%d', -tonumber(ARGV[2])))
  end
  if settle then
    local spent = redis.call('HINCRBY', h, 'spent', ARGV[3])
    local soft = tonumber(ARGV[4 + 2 * i - 1])
    if spent > 0 and spent >= soft and redis.call('HSETNX', h, 'alerted', '1') == 1 then
      table.insert(fired, i)
      table.insert(fired, spent)
    end
    local exp = tonumber(ARGV[4 + 2 * i])
    if exp > 0 then
      redis.call('EXPIREAT', h, exp)
    end
  end
end
return fired
"""


def _part(text: str) -> str:
    # Keys come from user ids; quoting keeps ':' inside a component from colliding with the separator.
    return quote(text, safe="")


class RedisLedger:
    """Counters in Redis, shared by every host that points at the same server and database."""

    def __init__(self, url: str, *, timeout_s: float = 2.0, client: Any | None = None) -> None:
        self.url = url
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ValueError(
                    f"LLM_MONITOR_BUDGET_STORE={url!r} needs the redis package: "
                    "pip install 'llm-monitor-sdk[redis]'"
                ) from exc
            client = redis.Redis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, decode_responses=True
            )
        # Typed loosely: redis-py's return types are unions over its sync/async and bytes/str modes.
        self._client: Any = client
        self._reserve: Callable[..., Any] = client.register_script(_RESERVE)
        self._settle: Callable[..., Any] = client.register_script(_SETTLE)

    def new_id(self) -> str:
        """A random id, unique across hosts."""
        return uuid.uuid4().hex

    @staticmethod
    def _keys(lines: Sequence[Line]) -> list[str]:
        keys: list[str] = []
        for line in lines:
            base = f"{_PREFIX}:{_part(line.identity)}:{_part(line.bucket)}:{_part(line.key)}"
            keys.extend((base + ":h", base + ":z"))
        return keys

    @staticmethod
    def _expiry(line: Line) -> str:
        return "-1" if line.expire_at is None else str(math.ceil(line.expire_at))

    def _call(self, script: Callable[..., Any], keys: list[str], args: list[str]) -> Any:
        import redis

        try:
            return script(keys=keys, args=args)
        except (redis.RedisError, OSError) as exc:
            raise LedgerError(f"Redis budget store {self.url!r}: {exc}", kind=type(exc).__name__) from exc

    def reserve(
        self, lines: Sequence[Line], amount: int, res_id: str, now: float, expires_at: float, enforce: bool
    ) -> ReserveOutcome:
        """See :meth:`Ledger.reserve`."""
        args = [repr(now), repr(expires_at), str(amount), res_id, "1" if enforce else "0"]
        for line in lines:
            args.extend((str(line.limit), self._expiry(line)))
        blocked, spent, reserved, expired = self._call(self._reserve, self._keys(lines), args)
        return ReserveOutcome(int(blocked) - 1, int(spent), int(reserved), int(expired))

    def settle(
        self, lines: Sequence[Line], amount: int, res_id: str, actual: int, now: float
    ) -> list[tuple[int, int]]:
        """See :meth:`Ledger.settle`."""
        args = [f"{res_id}:{amount}", str(amount), str(actual), "1"]
        for line in lines:
            args.extend((str(line.soft), self._expiry(line)))
        flat = self._call(self._settle, self._keys(lines), args)
        return [(int(flat[i]) - 1, int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def release(self, lines: Sequence[Line], amount: int, res_id: str, now: float) -> None:
        """See :meth:`Ledger.release`."""
        args = [f"{res_id}:{amount}", str(amount), "0", "0"]
        for line in lines:
            args.extend((str(line.soft), self._expiry(line)))
        self._call(self._settle, self._keys(lines), args)

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
            raise LedgerError(f"Redis budget store {self.url!r}: {exc}", kind=type(exc).__name__) from exc
        return states

    def close(self) -> None:
        """Close the connection pool."""
        try:
            self._client.close()
        except Exception:  # closing a broken connection must not raise
            pass
