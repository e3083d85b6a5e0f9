"""Every metric of the grammar fires and resolves exactly once on every channel.

Traffic goes through the real OpenAI SDK to the fake provider (evaluation, feedback and guardrail
records are submitted like the modules that make them will); the monitoring clock is the test's, so
a 10 s window passes in one ``advance``; resolutions without traffic come from the worker's
once-a-second tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import openai
import pytest
from monitoring_support import FakeClock, Harness, Webhook, alert_logs

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider, fake_headers

ALERT_KEYS = {
    "name",
    "rule",
    "metric",
    "op",
    "threshold",
    "value",
    "window_s",
    "group",
    "state",
    "severity",
    "owner",
    "runbook",
    "calls",
    "fired_at",
    "resolved_at",
}


def call(client: Any, n: int = 1, **knobs: Any) -> None:
    for _ in range(n):
        try:
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers=fake_headers(**knobs) if knobs else None,
            )
        except (openai.APIError, lm.BudgetExceededError):
            pass
    # The worker counts a record at the clock's time when it processes it: flush before moving on.
    assert lm.flush(10)


def stream(client: Any, n: int, **knobs: Any) -> None:
    for _ in range(n):
        chunks = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_headers=fake_headers(**knobs),
        )
        for _chunk in chunks:
            pass
    assert lm.flush(10)


def submit(kind: str, n: int, **item: Any) -> None:
    monitor = lm.get_monitor()
    assert monitor is not None
    for _ in range(n):
        if kind == "guardrail":
            body = {
                "kind": "guardrail",
                "guardrail": {"stage": "input", "reason": None, "latency_ms": 1.0, **item},
            }
        else:
            body = {
                "kind": kind,
                "target": {"record_id": None, "response_id": None, "trace_id": None},
                "evaluation": {
                    "label": None,
                    "explanation": None,
                    "passed": None,
                    "source": "human" if kind == "feedback" else "heuristic",
                    **item,
                },
            }
        assert monitor.submit_record(body)
    assert lm.flush(10)


def steady_then_spike(client: Any, clock: FakeClock) -> None:
    for _ in range(7):
        clock.advance(1.0)
        call(client, 2)
    clock.advance(1.0)
    call(client, 2, input_tokens=200_000)


Step = Callable[[Any, FakeClock], None]
# (rule, breach, resolve): resolve None means "let the window pass" (the tick resolves it).
CASES: list[tuple[str, Step, Step | None]] = [
    ("latency_p50_ms>30 over 10s min_calls=5", lambda c, k: call(c, 5, delay=0.05), None),
    ("latency_p90_ms>30 over 10s min_calls=5", lambda c, k: call(c, 5, delay=0.05), None),
    ("latency_p99_ms>30 over 10s min_calls=5", lambda c, k: call(c, 5, delay=0.05), None),
    ("ttft_p50_ms>30 over 10s min_calls=5", lambda c, k: stream(c, 5, delay=0.05), None),
    ("ttft_p90_ms>30 over 10s min_calls=5", lambda c, k: stream(c, 5, delay=0.05), None),
    ("ttft_p99_ms>30 over 10s min_calls=5", lambda c, k: stream(c, 5, delay=0.05), None),
    ("error_rate>0.5 over 10s min_calls=5", lambda c, k: call(c, 5, status=500), None),
    ("timeout_rate>0.5 over 10s min_calls=5", lambda c, k: call(c, 5, status=408), None),
    ("rate_limit_rate>0.5 over 10s min_calls=5", lambda c, k: call(c, 5, status=429), None),
    (
        "content_filter_rate>0.5 over 10s min_calls=5",
        lambda c, k: call(c, 5, finish_reason="content_filter"),
        None,
    ),
    ("blocked_rate>0.5 over 10s min_calls=5", lambda c, k: call(c, 5), None),
    ("calls>4 over 10s", lambda c, k: call(c, 5), None),
    ("calls_per_s>0.4 over 10s", lambda c, k: call(c, 5), None),
    ("cost_usd>0.00001 over 10s", lambda c, k: call(c, 5), None),
    ("cost_per_call_usd>0.000001 over 10s min_calls=5", lambda c, k: call(c, 5), None),
    ("input_tokens>50 over 10s", lambda c, k: call(c, 5), None),
    ("output_tokens>8 over 10s", lambda c, k: call(c, 5), None),
    ("total_tokens>60 over 10s", lambda c, k: call(c, 5), None),
    ("consecutive_errors>=3 over 10s", lambda c, k: call(c, 3, status=503), lambda c, k: call(c, 1)),
    ("cost_usd.zscore>3 over 1s baseline=5s", steady_then_spike, None),
    (
        "eval.grounding<0.5 over 10s min_calls=3",
        lambda c, k: submit("evaluation", 3, name="grounding", score=0.2),
        None,
    ),
    (
        "eval.json_valid.fail_rate>0.5 over 10s min_calls=3",
        lambda c, k: submit("evaluation", 3, name="json_valid", score=0.0, passed=False),
        None,
    ),
    (
        "feedback.user_rating<0.5 over 10s min_calls=3",
        lambda c, k: submit("feedback", 3, name="user_rating", score=0.0),
        None,
    ),
    (
        "feedback.user_rating.fail_rate>0.5 over 10s min_calls=3",
        lambda c, k: submit("feedback", 3, name="user_rating", score=0.0),
        None,
    ),
    (
        "guardrail.pii.block_rate>0.5 over 10s min_calls=3",
        lambda c, k: submit("guardrail", 3, name="pii", blocked=True),
        None,
    ),
]


@pytest.mark.parametrize(("rule", "breach", "resolve"), CASES, ids=[c[0].split(" ")[0] for c in CASES])
def test_every_metric_fires_and_resolves_once_on_every_channel(
    rule: str,
    breach: Step,
    resolve: Step | None,
    harness: Callable[..., Harness],
    fake: FakeProvider,
    clock: FakeClock,
    webhook: Webhook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings: dict[str, Any] = {}
    if rule.startswith("blocked_rate"):
        settings["budgets"] = "global:total=0.0000001"  # every call would exceed it: blocked
    h = harness(f"{rule} owner=llm-team runbook=https://runbooks.example/llm", **settings)
    client = fake.openai_client(in_process=True)

    breach(client, clock)
    fired = h.alert_records()
    assert [a["state"] for a in fired] == ["firing"], fired
    alert = fired[0]
    assert set(alert) == ALERT_KEYS
    assert alert["rule"] == f"{rule} owner=llm-team runbook=https://runbooks.example/llm"
    assert alert["metric"] == rule.split(">")[0].split("<")[0]
    assert alert["group"] == {} and alert["owner"] == "llm-team"
    assert alert["runbook"] == "https://runbooks.example/llm"
    assert alert["resolved_at"] is None and alert["fired_at"]
    assert alert["value"] is not None
    assert (
        (alert["value"] < alert["threshold"])
        if alert["op"] == "<"
        else (alert["value"] >= alert["threshold"])
    )
    assert h.alerts.firing() == [alert]
    assert lm.stats()["alerts_firing"] == 1

    if resolve is not None:
        resolve(client, clock)
    else:
        clock.advance(11.0)  # the window empties: the tick resolves it (no traffic needed)
    records = h.wait_alert_records(2)
    assert [a["state"] for a in records] == ["firing", "resolved"], records
    resolved = records[1]
    assert resolved["fired_at"] == alert["fired_at"] and resolved["resolved_at"]
    assert h.alerts.firing() == []
    assert lm.stats()["alerts_firing"] == 0

    h.drain()
    assert [(a["state"], a["name"]) for a in h.callbacks] == [
        ("firing", alert["name"]),
        ("resolved", alert["name"]),
    ]
    assert [p["alert"]["state"] for p in webhook.posts] == ["firing", "resolved"]
    text = webhook.posts[0]["text"]
    assert alert["metric"] in text and "llm-team" in text and "<https://runbooks.example/llm|runbook>" in text
    assert [level for level, _ in alert_logs(caplog)] == [logging.WARNING, logging.INFO]
    h.flush()
    assert len(h.alert_records()) == 2 and len(h.callbacks) == 2 and len(webhook.posts) == 2
    stats = lm.stats()["alerts"]
    assert stats["fired"] == 1 and stats["resolved"] == 1
    assert stats["notifications"]["webhook"]["sent"] == 2
    assert stats["notifications"]["callback"]["sent"] == 2
