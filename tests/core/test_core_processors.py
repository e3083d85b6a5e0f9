"""The processor seam: every finished record passes the processors once, in order, guarded."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from core_support import DummyClient, DummyError, RecordingExporter

import llm_monitor_sdk as lm


class Spy:
    """Keeps the record ids and kinds it saw; optionally emits one event per llm_call."""

    name = "spy"

    def __init__(self, emit: bool = False) -> None:
        self.seen: list[tuple[str, str]] = []
        self.emit = emit
        self.threads: set[str] = set()

    def process(self, record: dict[str, Any]) -> list[dict[str, Any]] | None:
        self.threads.add(threading.current_thread().name)
        self.seen.append((record["kind"], record["record_id"]))
        if self.emit and record["kind"] == "llm_call":
            return [{"kind": "event", "event": {"type": "seen", "of": record["record_id"]}}]
        return None


class Exploding:
    name = "exploding"

    def process(self, record: dict[str, Any]) -> None:
        raise RuntimeError("processor bug")


def _instrument(exporter: RecordingExporter, processors: list[Any], **settings: Any) -> None:
    lm.instrument(
        providers=[],
        exporters=[exporter],
        redact=False,
        flush_interval=0.02,
        processors=processors,
        **settings,
    )


def test_processor_sees_every_call_once_in_completion_order() -> None:
    exporter, spy = RecordingExporter(), Spy()
    _instrument(exporter, [spy])
    client = DummyClient()
    for i in range(30):
        try:
            client.create(model="m", messages=[{"role": "user", "content": f"q{i}"}], fail=i % 7 == 0)
        except DummyError:
            pass
    assert lm.flush(5)
    exported = [(r["kind"], r["record_id"]) for r in exporter.records]
    assert spy.seen == exported  # every record, once, in the order they finished
    assert len(spy.seen) == 30
    assert spy.threads == {"llm-monitor-export"}  # never the caller's thread


def test_processors_see_calls_sampled_out_of_export() -> None:
    exporter, spy = RecordingExporter(), Spy()
    _instrument(exporter, [spy], sample_rate=0.0)
    client = DummyClient()
    for _ in range(10):
        client.create(model="m", messages=[])
    assert lm.flush(5)
    assert exporter.records == []
    assert len(spy.seen) == 10
    assert lm.stats()["sampled_out"] == 10


@pytest.mark.internal_errors_expected
def test_a_raising_processor_costs_only_a_counter() -> None:
    exporter, spy = RecordingExporter(), Spy()
    _instrument(exporter, [Exploding(), spy])
    client = DummyClient()
    for _ in range(5):
        client.create(model="m", messages=[])
    assert lm.flush(5)
    assert len(exporter.records) == 5  # no record lost
    assert len(spy.seen) == 5  # the next processor still runs
    stats = lm.stats()
    assert stats["processors"]["exploding"]["errors"] == 5
    assert stats["processors"]["spy"]["errors"] == 0
    assert stats["calls"] == 5  # metrics (the first processor) unaffected
    assert any(key.startswith("processor.exploding") for key in stats["internal_errors"])


def test_emitted_records_are_exported_in_the_same_batch_after_their_cause() -> None:
    exporter, spy = RecordingExporter(), Spy(emit=True)
    _instrument(exporter, [spy])
    client = DummyClient()
    client.create(model="m", messages=[])
    assert lm.flush(5)
    assert exporter.batches == 1
    call, event = exporter.records
    assert call["kind"] == "llm_call" and event["kind"] == "event"
    assert event["event"] == {"type": "seen", "of": call["record_id"]}
    # The worker filled the common fields the processor left out.
    for key in (
        "schema_version",
        "record_id",
        "trace_id",
        "span_id",
        "started_at",
        "ended_at",
        "service_name",
    ):
        assert event[key], key
    assert event["record_id"] != call["record_id"]
    assert spy.seen == [("llm_call", call["record_id"])]  # emitted records are not processed again


class Ticker:
    name = "ticker"

    def __init__(self) -> None:
        self.ticks: list[float] = []

    def process(self, record: dict[str, Any]) -> None:
        return None

    def tick(self, now: float) -> list[dict[str, Any]] | None:
        self.ticks.append(now)
        if len(self.ticks) == 1:
            return [{"kind": "event", "event": {"type": "tick"}}]
        return None


def test_tick_runs_without_traffic_and_its_records_are_exported() -> None:
    exporter, ticker = RecordingExporter(), Ticker()
    _instrument(exporter, [ticker])
    deadline = time.monotonic() + 5
    while len(ticker.ticks) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ticker.ticks) >= 2
    assert lm.flush(5)
    assert [r["event"] for r in exporter.records] == [{"type": "tick"}]


class Submitter:
    name = "submitter"

    def __init__(self) -> None:
        self.host: Any = None
        self.kinds: list[str] = []

    def start(self, host: Any) -> None:
        self.host = host

    def process(self, record: dict[str, Any]) -> None:
        self.kinds.append(record["kind"])

    def stats(self) -> dict[str, Any]:
        return {"submitter_seen": len(self.kinds)}


def test_records_submitted_from_another_thread_pass_the_processors_and_are_redacted() -> None:
    exporter, submitter = RecordingExporter(), Submitter()
    lm.instrument(providers=[], exporters=[exporter], flush_interval=0.02, processors=[submitter])
    record = {
        "kind": "feedback",
        "target": {"record_id": None, "response_id": "resp-1", "trace_id": None},
        "evaluation": {
            "name": "user_rating",
            "score": 1.0,
            "passed": True,
            "label": None,
            "explanation": None,
            "source": "human",
        },
        "metadata": {"note": "mail me at jane.doe@example.com"},
    }
    thread = threading.Thread(target=lambda: submitter.host.submit(record))
    thread.start()
    thread.join()
    assert lm.flush(5)
    (exported,) = exporter.records
    assert exported["kind"] == "feedback"
    assert "jane.doe@example.com" not in str(exported)
    assert submitter.kinds == ["feedback"]
    assert lm.stats()["submitter_seen"] == 1


def test_a_processor_without_process_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="process"):
        lm.instrument(providers=[], exporters=["none"], processors=[object()])


class RawPeek:
    name = "raw_peek"

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.redacted: list[str] = []

    def before_redaction(self, record: dict[str, Any]) -> None:
        self.raw.append(str(record["metadata"]))

    def process(self, record: dict[str, Any]) -> None:
        self.redacted.append(str(record["metadata"]))


def test_before_redaction_sees_raw_text_and_process_sees_redacted() -> None:
    exporter, peek = RecordingExporter(), RawPeek()
    lm.instrument(providers=[], exporters=[exporter], flush_interval=0.02, processors=[peek])
    with lm.context(metadata={"contact": "jane.doe@example.com"}):
        DummyClient().create(model="m", messages=[])
    assert lm.flush(5)
    assert "jane.doe@example.com" in peek.raw[0]
    assert "jane.doe@example.com" not in peek.redacted[0]
    assert "jane.doe@example.com" not in str(exporter.records)


def test_the_clock_is_replaceable_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_monitor_sdk import _clock

    exporter, ticker = RecordingExporter(), Ticker()
    monkeypatch.setattr(_clock, "now", lambda: 1_000_000.0)
    _instrument(exporter, [ticker])
    deadline = time.monotonic() + 5
    while not ticker.ticks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ticker.ticks[0] == 1_000_000.0
