"""Budget store outages: how far spend can run past a limit, and how long a call can wait, when Redis dies.

Run: ``python benchmarks/budget_outage.py`` (``--quick``: fewer calls). Needs ``redis-server`` on the
PATH and the ``redis`` extra; prints a note and exits 0 without them.

Every scenario starts its own redis-server on a free loopback port, drives a budget guard directly
(one rule ``global:daily=1``; every call reserves and settles $0.01, so 100 calls fill the limit) and
then kills the server (SIGKILL), freezes it (SIGSTOP) or restarts it empty, by PID:

- ``killed after the limit``: the limit is reached, Redis is killed, 300 more calls are tried.
- ``restarted empty``: the limit is reached, Redis is restarted with nothing in it, 300 more calls.
- ``frozen``: half the limit is spent, Redis is frozen for a while, calls go on (spaced 20 ms);
  then it is thawed and the spend settled meanwhile should reach the store.

Columns: ``spent / limit`` is every dollar the guard let through divided by the limit (1.00 means the
limit held); ``max wait`` is the longest single reserve+settle; ``stalled`` counts calls that waited more
than 50 ms; ``store after`` is the spend the store holds at the end (the restarted store should hold the
restored $1.00, the frozen one every dollar let through). Numbers vary with machine load; the bounds
(spend <= limit, wait <= the store timeout) are what matters.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

from llm_monitor_sdk.budget import build_guard
from llm_monitor_sdk.errors import BudgetExceededError

COST = 0.01
LIMIT = 1.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """One redis-server without persistence, controlled by PID."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart, empty) on the same port and wait until it answers."""
        import redis

        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.01)
        client.close()

    def kill(self) -> None:
        """SIGKILL and reap."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def freeze(self) -> None:
        """SIGSTOP: the socket stays open, nothing answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Leave nothing running."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()


def one_call(guard: Any) -> tuple[bool, float]:
    """Reserve and settle one $0.01 call; (allowed, seconds it took)."""
    started = time.perf_counter()
    try:
        res = guard.reserve({}, COST)
    except BudgetExceededError:
        return False, time.perf_counter() - started
    guard.settle(res, COST)
    return True, time.perf_counter() - started


def fill(guard: Any, dollars: float) -> int:
    """Calls until ``dollars`` are spent (or the guard blocks)."""
    allowed = 0
    while allowed * COST < dollars - 1e-9:
        ok, _ = one_call(guard)
        if not ok:
            break
        allowed += 1
    return allowed


def store_spend(url: str) -> float | None:
    """What the store holds for the rule now (None when it cannot be read)."""
    guard = build_guard("global:daily=1", store=url)
    assert guard is not None
    try:
        rows = guard.status()
    except Exception:
        return None
    finally:
        guard.close()
    return float(rows[0]["spent_usd"]) if rows else 0.0


def wait_for_spend(url: str, expected: float, timeout: float = 5.0) -> float | None:
    """Poll the store until it holds ``expected`` dollars (write-back is asynchronous) or time runs out."""
    deadline = time.monotonic() + timeout
    spend = store_spend(url)
    while (spend is None or spend < expected - 1e-9) and time.monotonic() < deadline:
        time.sleep(0.05)
        spend = store_spend(url)
    return spend


def scenario(binary: str, name: str, policy: str, calls: int, freeze_s: float) -> list[Any]:
    """Run one scenario and return its table row."""
    server = RedisProcess(binary)
    server.start()
    guard = build_guard("global:daily=1", store=server.url, on_store_error=policy)
    assert guard is not None
    waits: list[float] = []
    try:
        if name == "frozen":
            allowed = fill(guard, LIMIT / 2)
            server.freeze()
            end = time.monotonic() + freeze_s
            while time.monotonic() < end:
                ok, took = one_call(guard)
                waits.append(took)
                allowed += ok
                time.sleep(0.02)
            server.thaw()
            store_after = wait_for_spend(server.url, allowed * COST)
        else:
            allowed = fill(guard, LIMIT)
            if name == "killed after the limit":
                server.kill()
            else:
                server.kill()
                server.start()
            for _ in range(calls):
                ok, took = one_call(guard)
                waits.append(took)
                allowed += ok
            # The restored floor is written by a background probe within about 50 ms.
            store_after = wait_for_spend(server.url, LIMIT) if name != "killed after the limit" else None
    finally:
        guard.close()
        server.stop()
    return [
        name,
        policy,
        f"{allowed * COST / LIMIT:.2f}",
        f"{max(waits) * 1000:.0f} ms" if waits else "-",
        sum(1 for w in waits if w > 0.05),
        "-" if store_after is None else f"${store_after:.2f}",
    ]


def main() -> None:
    """Run every scenario and print one table."""

    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--calls", type=int, default=None, help="calls after the fault (default 300)")

    args = common.parse_args(__doc__.splitlines()[0], configure)
    binary = shutil.which("redis-server")
    try:
        import redis  # noqa: F401
    except ImportError:
        binary = None
    if binary is None:
        print("budget_outage: needs redis-server on the PATH and the redis extra; nothing measured")
        return
    calls = args.calls or (60 if args.quick else 300)
    freeze_s = 1.5 if args.quick else 5.0
    common.print_header("llm-monitor-sdk: budget store outages (Redis killed, frozen, restarted empty)")
    rows = [
        scenario(binary, "killed after the limit", "open", calls, freeze_s),
        scenario(binary, "killed after the limit", "closed", calls, freeze_s),
        scenario(binary, "restarted empty", "open", calls, freeze_s),
        scenario(binary, "restarted empty", "closed", calls, freeze_s),
        scenario(binary, "frozen", "open", calls, freeze_s),
        scenario(binary, "frozen", "closed", calls, freeze_s),
    ]
    common.print_table(["scenario", "policy", "spent / limit", "max wait", "stalled", "store after"], rows)


if __name__ == "__main__":
    main()
