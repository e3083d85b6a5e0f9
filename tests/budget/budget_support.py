"""Helpers shared by the budget tests (a module of its own: ``conftest`` names clash across folders)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

DAY = 86400.0


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeClock:
    """An injectable clock; returns aware UTC datetimes so the datetime path is exercised too."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def future_midnight(days_ahead: int = 10) -> float:
    """A UTC midnight in the future: Redis key expiry follows the budget clock, so test clocks must not
    be in the past or the server would drop the keys at once."""
    return (int(time.time() // DAY) + days_ahead) * DAY
