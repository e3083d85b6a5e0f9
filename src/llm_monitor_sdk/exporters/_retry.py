"""Retry timing and a circuit breaker for exporters that talk to a remote endpoint.

Pure logic with an injectable clock and random source, so the HTTP exporter's delivery rules can be
read (and tested) apart from sockets and threads.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime


def is_retryable_status(status: int) -> bool:
    """True for 429 and every 5xx; other statuses (2xx done, other 4xx) are final."""
    return status == 429 or 500 <= status <= 599


def backoff_delay(
    attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential, capped, full jitter.

    Full jitter (a uniform draw between half and all of the exponential step) keeps many processes
    that failed together from retrying in lockstep.
    """
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    return step * (0.5 + 0.5 * rand())


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


class CircuitBreaker:
    """Stops calling an endpoint that keeps failing, then probes it now and then.

    Closed: calls go through. After ``threshold`` consecutive failures it opens for ``cooldown``
    seconds (doubling on each failed probe, up to ``max_cooldown``); while open, :meth:`allow`
    says no at no cost. When the cooldown has passed one probe is allowed (half-open); its success
    closes the circuit, its failure reopens it for longer.
    """

    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 1.0,
        max_cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = max(1, threshold)
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._cooldown = cooldown
        self._open_until: float | None = None
        self.opened = 0

    @property
    def is_open(self) -> bool:
        """True while calls are being refused (not yet time for a probe)."""
        with self._lock:
            return self._open_until is not None and self._clock() < self._open_until

    def seconds_until_probe(self) -> float:
        """How long until a call is allowed again; 0 when the circuit is closed or half-open."""
        with self._lock:
            if self._open_until is None:
                return 0.0
            return max(0.0, self._open_until - self._clock())

    def allow(self) -> bool:
        """Whether a call may be attempted now."""
        return self.seconds_until_probe() == 0.0

    def record_success(self) -> None:
        """A call succeeded: close the circuit and reset the cooldown."""
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._cooldown = self.base_cooldown

    def record_failure(self) -> None:
        """A call failed: open the circuit after enough of them, or again after a failed probe."""
        with self._lock:
            self._failures += 1
            if self._open_until is not None:
                # A failed half-open probe: wait longer next time.
                self._cooldown = min(self.max_cooldown, self._cooldown * 2)
                self._open_until = self._clock() + self._cooldown
                self.opened += 1
            elif self._failures >= self.threshold:
                self._open_until = self._clock() + self._cooldown
                self.opened += 1
