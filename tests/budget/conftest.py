"""Fixtures for the budget tests: a real redis-server, store URLs for all three ledgers, a fake clock."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from budget_support import FakeClock, RedisProcess, free_port, future_midnight


@pytest.fixture
def clock() -> FakeClock:
    """A clock one minute before a future UTC midnight."""
    return FakeClock(future_midnight() - 60.0)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real redis-server on a free loopback port for the whole session; yields its URL."""
    import os

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is not installed; CI must install the redis-server package")
        pytest.skip("redis-server is not installed (CI installs the redis-server system package)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.02)
    client.close()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied for this test. Its URL sets generous socket timeouts: these tests are
    about exactness, and on a loaded machine a healthy server can miss the 0.1 s default now and then
    (the outage tests, with a server of their own, use the default)."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return f"{redis_server}?socket_timeout=5&socket_connect_timeout=5"


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of each ledger in turn."""
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/budget.db"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=["sqlite", "redis"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of each ledger that several processes can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/budget.db"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def redis_binary() -> str:
    """Path of redis-server; skipped only outside CI (CI installs the redis-server system package)."""
    import os

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is not installed; CI must install the redis-server package")
        pytest.skip("redis-server is not installed (CI installs the redis-server system package)")
    return binary


@pytest.fixture
def own_redis(redis_binary: str) -> Iterator[RedisProcess]:
    """A redis-server of this test's own, to kill, freeze and restart by PID."""
    server = RedisProcess(redis_binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
