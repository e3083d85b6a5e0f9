"""The alert engine's behaviour through the SDK: low traffic, groups, for=, cooldown=, z-scores,
provider downtime on a closed port, broken notification channels, judge calls."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import openai
import pytest
from monitoring_support import FakeClock, Harness, Webhook, alert_logs, closed_port
from test_alert_channels import call

import llm_monitor_sdk as lm
from llm_monitor_sdk.monitoring import AlertProcessor, Notifier, build_processors
from llm_monitor_sdk.testing import FakeProvider


def test_four_calls_with_three_failures_fire_nothing_under_default_min_calls(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("error_rate>0.02 over 5m")
    client = fake.openai_client(in_process=True)
    call(client, 3, status=500)
    call(client, 1)
    assert h.alert_records() == []  # 75 % errors, but 4 calls are not enough to judge
    call(client, 15)
    assert h.alert_records() == []  # 19 calls
    call(client, 1, status=500)  # the 20th call: 4/20 = 20 % errors, judged now
    (alert,) = h.alert_records()
    assert alert["state"] == "firing" and alert["calls"] == 20 and alert["value"] == 0.2


def test_by_provider_isolates_the_failing_provider(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("error_rate>0.1 over 1m by=provider min_calls=10")
    openai_client = fake.openai_client(in_process=True)
    anthropic_client = fake.anthropic_client(in_process=True)
    for i in range(12):
        call(openai_client, 1, status=503 if i % 2 else 200)
        anthropic_client.messages.create(
            model="claude-3-5-haiku-latest", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    (alert,) = h.alert_records()
    assert alert["group"] == {"provider": "openai"}
    assert alert["value"] == 0.5 and alert["calls"] == 10  # judged from the 10th call on
    assert [a["group"] for a in h.alerts.firing()] == [{"provider": "openai"}]
    # The healthy provider's window is there, and judged: it just does not breach.
    windows = h.alerts.engine.window_sets[0]
    assert set(windows.groups) == {"openai", "anthropic"}


def test_for_holds_before_firing(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("error_rate>0.5 over 30s min_calls=3 for=10s")
    client = fake.openai_client(in_process=True)
    call(client, 3, status=500)
    assert h.alert_records() == []  # pending
    clock.advance(5.0)
    call(client, 1, status=500)
    assert h.alert_records() == []  # still pending after 5 s
    clock.advance(5.1)
    call(client, 1, status=500)
    (alert,) = h.alert_records()
    assert alert["state"] == "firing"


def test_a_breach_shorter_than_for_never_fires(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("error_rate>0.5 over 30s min_calls=3 for=10s")
    client = fake.openai_client(in_process=True)
    call(client, 3, status=500)
    clock.advance(5.0)
    call(client, 6)  # 3/9 errors: the condition stops holding before for= passed
    clock.advance(6.0)
    call(client, 1)
    time.sleep(1.2)  # a tick at the later time
    assert h.alert_records() == []


def test_for_elapses_on_the_tick_without_traffic(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("error_rate>0.5 over 1m min_calls=3 for=10s")
    call(fake.openai_client(in_process=True), 3, status=500)
    assert h.alert_records() == []
    clock.advance(10.5)
    (alert,) = h.wait_alert_records(1)
    assert alert["state"] == "firing"


def test_cooldown_holds_after_a_resolution(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("calls>2 over 10s cooldown=30s")
    client = fake.openai_client(in_process=True)
    call(client, 3)
    assert [a["state"] for a in h.alert_records()] == ["firing"]
    clock.advance(11.0)
    call(client, 1)  # 1 call in the window: resolved
    assert [a["state"] for a in h.alert_records()] == ["firing", "resolved"]
    clock.advance(5.0)
    call(client, 3)  # breaches again 16 s after the resolution: inside the cooldown
    clock.advance(5.0)
    call(client, 1)
    assert [a["state"] for a in h.alert_records()] == ["firing", "resolved"]
    clock.advance(21.0)  # 31 s after the resolution
    call(client, 3)
    assert [a["state"] for a in h.alert_records()] == ["firing", "resolved", "firing"]


def test_default_cooldown_is_the_window(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("calls>2 over 10s")
    client = fake.openai_client(in_process=True)
    call(client, 3)
    clock.advance(11.0)
    call(client, 1)
    clock.advance(1.0)
    call(client, 3)  # 1 s after the resolution
    assert [a["state"] for a in h.alert_records()] == ["firing", "resolved"]
    clock.advance(9.5)  # 10.5 s after it
    call(client, 3)
    assert [a["state"] for a in h.alert_records()] == ["firing", "resolved", "firing"]


def test_zscore_is_quiet_on_steady_traffic_and_fires_on_a_cost_spike(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("cost_usd.zscore>3 over 1s baseline=10s")
    client = fake.openai_client(in_process=True)
    # Steady traffic with some variation: 2 or 3 calls per window, for 30 windows.
    for i in range(30):
        clock.advance(1.0)
        call(client, 2 + i % 2)
    assert h.alert_records() == []
    clock.advance(1.0)
    call(client, 2, input_tokens=100_000)  # the same call count, 8000 times the input
    (alert,) = h.alert_records()
    assert alert["metric"] == "cost_usd.zscore" and alert["value"] > 3


def test_zscore_waits_for_its_baseline(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("cost_usd.zscore>3 over 1s baseline=10s")
    client = fake.openai_client(in_process=True)
    for _ in range(4):  # the first window is partial and never used; 3 complete ones < 5 needed
        clock.advance(1.0)
        call(client, 2)
    clock.advance(1.0)
    call(client, 2, input_tokens=100_000)
    assert h.alert_records() == []


def test_connection_errors_to_a_closed_port_fire_consecutive_errors(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("consecutive_errors>=3 over 1m by=provider name=provider-down severity=critical")
    healthy = fake.openai_client(in_process=True)
    dead = openai.OpenAI(api_key="k", base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=0)
    call(healthy, 2)
    for _ in range(2):
        with pytest.raises(openai.APIConnectionError):
            dead.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert h.alert_records() == []
    with pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    (alert,) = h.alert_records()
    assert alert["name"] == "provider-down" and alert["severity"] == "critical"
    assert alert["group"] == {"provider": "openai"} and alert["value"] == 3
    call(healthy, 1)  # the provider answers again
    assert [a["state"] for a in h.alert_records()] == ["firing", "resolved"]


def test_client_errors_neither_count_nor_reset_consecutive_errors(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("consecutive_errors>=3 over 1m")
    client = fake.openai_client(in_process=True)
    call(client, 2, status=500)
    call(client, 2, status=400)  # the request's fault, not the provider's
    assert h.alert_records() == []
    call(client, 1, status=502)
    (alert,) = h.alert_records()
    assert alert["value"] == 3


def test_streak_leaves_the_window(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("consecutive_errors>=3 over 10s")
    client = fake.openai_client(in_process=True)
    call(client, 2, status=500)
    clock.advance(11.0)
    call(client, 1, status=500)  # the first two are older than the window
    assert h.alert_records() == []


def test_judge_calls_never_count(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("error_rate>0.1 over 1m min_calls=3")
    client = fake.openai_client(in_process=True)
    with lm.context(feature="llm-monitor-judge"):
        call(client, 5, status=500)
    with lm.context(metadata={"llm_monitor.judge": "faithfulness"}):
        call(client, 5, status=500)
    call(client, 3)
    assert h.alert_records() == []
    assert lm.stats()["calls"] == 13  # the calls were recorded, just not judged


def test_traffic_that_stops_resolves_on_the_tick(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("latency_p99_ms>20 over 10s min_calls=3")
    call(fake.openai_client(in_process=True), 3, delay=0.03)
    assert [a["state"] for a in h.alert_records()] == ["firing"]
    clock.advance(4.0)  # the calls are still in the window
    time.sleep(1.2)
    assert [a["state"] for a in h.alert_records()] == ["firing"]
    clock.advance(7.0)
    records = h.wait_alert_records(2)
    assert [a["state"] for a in records] == ["firing", "resolved"]
    assert records[1]["value"] is None and records[1]["calls"] == 0


def _slow_dead_processor(rules: str, callback: Callable[[dict[str, Any]], Any]) -> AlertProcessor:
    notifier = Notifier(
        on_alert=callback,
        webhook_url=f"http://127.0.0.1:{closed_port()}/hook",
        retries=2,
        backoff=0.01,
        timeout=1.0,
    )
    return AlertProcessor(rules, notifier=notifier)


def test_a_dead_webhook_and_a_raising_callback_lose_no_alert_record(
    fake: FakeProvider, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llm_monitor_sdk.alerts")
    seen: list[str] = []

    def broken(alert: dict[str, Any]) -> None:
        seen.append(alert["state"])
        raise RuntimeError("the user's callback is broken")

    processor = _slow_dead_processor("error_rate>0.5 over 10s min_calls=3", broken)
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[exporter], flush_interval=0.02, processors=[processor])
    client = fake.openai_client(in_process=True)
    call(client, 3, status=500)
    clock.advance(11.0)
    call(client, 3)
    assert lm.flush(10)
    assert [r["alert"]["state"] for r in exporter.records if r["kind"] == "alert"] == ["firing", "resolved"]
    assert processor.notifier.drain(10)
    assert seen == ["firing", "resolved"]  # called for each, despite raising
    stats = lm.stats()["alerts"]["notifications"]
    assert stats["callback"]["failed"] == 2 and stats["callback"]["sent"] == 0
    assert stats["webhook"]["failed"] == 2 and stats["webhook"]["sent"] == 0
    assert [level for level, _ in alert_logs(caplog)].count(logging.WARNING) >= 1
    # Both broken channels were logged once each, never with the webhook URL.
    failures = [m for _, m in alert_logs(caplog) if "delivery failed" in m]
    assert len(failures) == 2 and not any("127.0.0.1" in m for m in failures)


def test_a_slow_callback_never_blocks_the_worker_and_a_full_queue_is_counted(clock: FakeClock) -> None:
    gate = threading.Event()
    delivered: list[str] = []

    def slow(alert: dict[str, Any]) -> None:
        gate.wait(10)
        delivered.append(alert["name"])

    notifier = Notifier(on_alert=slow, queue_size=2)
    processor = AlertProcessor(";".join(f"calls>0 over 10s name=r{i}" for i in range(6)), notifier=notifier)
    started = time.monotonic()
    records = processor.process({"kind": "llm_call", "status": "ok", "latency_ms": 1.0})
    assert time.monotonic() - started < 1.0  # the worker only queued
    assert records is not None and len(records) == 6  # every alert record, whatever the channel does
    gate.set()
    assert notifier.drain(10)
    stats = notifier.stats()["callback"]
    # One in delivery (or queued), two queued, the rest dropped and counted.
    assert stats["dropped"] >= 3 and stats["sent"] + stats["dropped"] == 6
    assert len(delivered) == stats["sent"]


def test_webhook_retries_with_backoff_then_delivers(clock: FakeClock) -> None:
    import http.server
    import json

    calls: list[dict[str, Any]] = []

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(body)
            self.send_response(503 if len(calls) < 3 else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        notifier = Notifier(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/", backoff=0.01)
        processor = AlertProcessor("calls>0 over 10s", notifier=notifier)
        processor.process({"kind": "llm_call", "status": "ok"})
        assert notifier.drain(10)
        assert len(calls) == 3  # two 503s, then delivered
        assert notifier.stats()["webhook"] == {
            "sent": 1,
            "failed": 0,
            "dropped": 0,
            "queued": 0,
            "lost_at_shutdown": 0,
        }
        assert calls[-1]["alert"]["state"] == "firing" and "calls" in calls[-1]["text"]
    finally:
        server.shutdown()
        server.server_close()


def test_alerts_for_evaluations_stay_ok_without_such_records(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock
) -> None:
    h = harness("eval.grounding<0.7 over 1m; feedback.user_rating.fail_rate>0.2 over 1m")
    call(fake.openai_client(in_process=True), 30)
    assert h.alert_records() == []


def test_stats_and_firing_from_another_thread(
    harness: Callable[..., Harness], fake: FakeProvider, clock: FakeClock, webhook: Webhook
) -> None:
    h = harness("calls>1 over 1m by=model")
    call(fake.openai_client(in_process=True), 2)
    h.flush()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append((h.alerts.firing(), lm.stats())))
    thread.start()
    thread.join()
    firing, stats = result[0]
    assert [a["group"] for a in firing] == [{"model": "gpt-4o-mini"}]
    assert stats["alerts_firing"] == 1
    assert stats["alerts"]["rules"] == 1 and stats["alerts"]["fired"] == 1
    firing[0]["group"]["model"] = "changed"  # a copy: the processor's state is untouched
    assert h.alerts.firing()[0]["group"] == {"model": "gpt-4o-mini"}


def test_build_processors_without_rules_has_only_prompt_changes() -> None:
    from llm_monitor_sdk.config import load_settings

    processors = build_processors(load_settings({}))
    assert [p.name for p in processors] == ["prompt_changes"]


def test_a_bad_webhook_url_is_a_value_error() -> None:
    from llm_monitor_sdk.config import load_settings

    with pytest.raises(ValueError, match="LLM_MONITOR_ALERT_WEBHOOK"):
        build_processors(load_settings(alerts="calls>1 over 1m", alert_webhook="file:///etc/passwd"))


def test_processor_shutdown_delivers_what_is_queued(clock: FakeClock) -> None:
    delivered: list[str] = []
    processor = AlertProcessor("calls>0 over 10s", on_alert=lambda a: delivered.append(a["state"]))
    processor.process({"kind": "llm_call", "status": "ok"})
    processor.shutdown(5.0)
    assert delivered == ["firing"]
