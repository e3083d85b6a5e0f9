"""Backoff, Retry-After parsing and the circuit breaker, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from llm_monitor_sdk.exporters._retry import (
    CircuitBreaker,
    backoff_delay,
    is_retryable_status,
    parse_retry_after,
)


def test_backoff_is_exponential_capped_and_jittered():
    assert [backoff_delay(n, base=0.5, cap=30, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [
        0.5,
        1.0,
        2.0,
        4.0,
    ]
    assert backoff_delay(20, base=0.5, cap=30, rand=lambda: 1.0) == 30
    assert backoff_delay(3, base=0.5, cap=30, rand=lambda: 0.0) == 1.0  # jitter keeps at least half


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    when = format_datetime(datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC), usegmt=True)
    now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    assert parse_retry_after(when, now=lambda: now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retryable_statuses():
    assert [s for s in (200, 400, 401, 404, 408, 429, 500, 503, 599) if is_retryable_status(s)] == [
        429,
        500,
        503,
        599,
    ]


def test_circuit_opens_probes_and_closes():
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=1.0, max_cooldown=4.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow() and breaker.seconds_until_probe() == 1.0
    now[0] = 1.0
    assert breaker.allow()  # half-open: one probe
    breaker.record_failure()
    assert breaker.seconds_until_probe() == 2.0  # failed probe doubles the cooldown
    now[0] = 3.0
    breaker.record_success()
    assert breaker.allow() and not breaker.is_open and breaker.opened == 2
