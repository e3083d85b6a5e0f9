"""One record that cannot be encoded as it is never costs the batch it travels in (issue 13.2).

The bad values reach the exporters the way a user's code can put them there: a processor's
``host.submit(record)`` (the public seam for feedback-, evaluation- and event-like records), between
ordinary LLM calls made through the fake provider. Every record must be in the JSONL file; the bad
one keeps what it can, carries marker strings for the rest, and is counted in ``lm.stats()``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.exporters import _base
from llm_monitor_sdk.processors import ProcessorHost
from llm_monitor_sdk.testing import FakeProvider

pytestmark = [pytest.mark.loose_records]


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class HostGrabber:
    """A processor that only keeps the host, so the test can submit records through it."""

    name = "grabber"

    def __init__(self) -> None:
        self.host: ProcessorHost | None = None

    def start(self, host: ProcessorHost) -> None:
        self.host = host

    def process(self, record: dict[str, Any]) -> None:
        return None


def _cycle() -> list[Any]:
    items: list[Any] = ["head"]
    items.append(items)
    return items


def _deep(levels: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    node = top
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return top


BAD_VALUES: dict[str, Any] = {
    "tuple_key": {(1, 2): "tuple key", "fine": "kept"},
    "cycle": {"loop": _cycle(), "fine": "kept"},
    "deep": {"nest": _deep(10_000), "fine": "kept"},
    "broken_repr": {"bad": BrokenRepr(), "fine": "kept"},
}


def _run(tmp_path: Path, *, redact: bool, case: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    path = tmp_path / "records.jsonl"
    grabber = HostGrabber()
    with FakeProvider() as fake:
        client = fake.openai_client()
        lm.instrument(
            providers=["openai"],
            exporters=[lm.exporters.JSONLExporter(path)],
            redact=redact,
            processors=[grabber],
            flush_interval=60,  # everything below goes out in one batch, at flush()
        )
        try:
            messages = [{"role": "user", "content": "hi"}]
            for n in range(3):
                with lm.context(metadata={"n": n}):
                    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            assert grabber.host is not None
            grabber.host.submit(
                {"kind": "event", "event": {"type": "probe", "case": case}, "metadata": BAD_VALUES[case]}
            )
            for n in range(3, 6):
                with lm.context(metadata={"n": n}):
                    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            assert lm.flush(10)
            stats = lm.stats()
        finally:
            lm.uninstrument()
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines], stats


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
@pytest.mark.parametrize("redact", [False, True], ids=["redaction-off", "redaction-on"])
@pytest.mark.internal_errors_expected
def test_a_bad_record_keeps_its_batch_and_is_marked(tmp_path: Path, redact: bool, case: str) -> None:
    records, stats = _run(tmp_path, redact=redact, case=case)
    calls = [r for r in records if r["kind"] == "llm_call"]
    assert sorted(r["metadata"]["n"] for r in calls) == list(range(6))
    (probe,) = [r for r in records if r["kind"] == "event"]
    assert probe["event"] == {"type": "probe", "case": case}
    metadata = probe["metadata"]
    text = json.dumps(metadata)
    if redact and case in ("cycle", "deep"):
        # Redaction cannot scan it: the redactor fails closed for that field alone.
        assert probe["redactions"].get("REDACTION_FAILED") == 1
    else:
        assert metadata["fine"] == "kept"
        if case == "tuple_key":
            assert metadata["(1, 2)"] == "tuple key"
        else:
            assert "<" in text  # a marker string stands in for what could not be written
    assert stats["exporters"]["jsonl"]["failed"] == 0
    assert stats["exporters"]["jsonl"]["exported"] == 7
    expected = 0 if redact and case in ("cycle", "deep") else 1
    assert stats["queue"]["unencodable"] == expected


def test_markers_name_what_was_replaced() -> None:
    record = {"kind": "event", "metadata": {"loop": _cycle(), "deep": _deep(500), "bad": BrokenRepr()}}
    line, repaired = _base.encode_checked(record)
    out = json.loads(line)
    assert repaired
    assert out["metadata"]["loop"] == ["head", "<cycle>"]
    assert out["metadata"]["bad"].startswith("<unserializable BrokenRepr")
    depth = 0
    node = out["metadata"]["deep"]
    while isinstance(node, dict):
        node, depth = node["a"], depth + 1
    assert isinstance(node, str) and "nested too deep" in node
    assert depth < 100  # nesting is capped


@pytest.mark.parametrize("encoder", ["default", "stdlib"])
def test_call_and_span_values_come_out_the_same(encoder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Datetimes, UUIDs, enums and dataclasses: ISO 8601 and plain JSON, whichever record holds them."""
    if encoder == "stdlib":
        monkeypatch.setattr(_base, "_encode", _base._encode_stdlib)
    values = {
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5),
        "day": datetime.date(2026, 1, 2),
        "id": uuid.UUID(int=1),
        "color": Color.RED,
        "point": Point(1, 2),
        "nan": float("nan"),
        "inf": float("-inf"),
    }
    expected = {
        "when": "2026-01-02T03:04:05",
        "day": "2026-01-02",
        "id": "00000000-0000-0000-0000-000000000001",
        "color": "red",
        "point": {"x": 1, "y": 2},
        "nan": None,
        "inf": None,
    }
    for kind in ("llm_call", "span"):
        line, repaired = _base.encode_checked({"kind": kind, "metadata": dict(values)})
        assert json.loads(line)["metadata"] == expected, kind
        assert b"NaN" not in line and b"Infinity" not in line
        assert not repaired  # lossless conversions are not counted as unencodable


@pytest.mark.internal_errors_expected
def test_redacted_values_are_converted_not_repred(tmp_path: Path) -> None:
    """With redaction on, a datetime in a submitted record is written as ISO 8601, not as its repr."""
    path = tmp_path / "records.jsonl"
    grabber = HostGrabber()
    lm.instrument(
        providers=[], exporters=[lm.exporters.JSONLExporter(path)], redact=True, processors=[grabber]
    )
    try:
        assert grabber.host is not None
        grabber.host.submit(
            {
                "kind": "event",
                "event": {"type": "probe"},
                "metadata": {"when": datetime.datetime(2026, 1, 2), "bad": BrokenRepr(), "n": 1},
            }
        )
        assert lm.flush(10)
    finally:
        lm.uninstrument()
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert record["metadata"]["when"] == "2026-01-02T00:00:00"
    assert record["metadata"]["n"] == 1
    assert record["metadata"]["bad"].startswith("<unserializable BrokenRepr")


def test_nan_and_negative_counts_never_poison_the_totals() -> None:
    from llm_monitor_sdk.metrics import Aggregates

    aggregates = Aggregates()
    good = {
        "kind": "llm_call",
        "status": "ok",
        "provider": "openai",
        "request_model": "m",
        "latency_ms": 10.0,
        "ttft_ms": None,
        "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
        "cost_usd": 0.5,
    }
    bad = dict(
        good,
        latency_ms=float("nan"),
        ttft_ms=float("inf"),
        usage={"input_tokens": -3, "output_tokens": float("nan"), "total_tokens": True},
        cost_usd=float("nan"),
    )
    negative = dict(good, latency_ms=-1.0, cost_usd=-2.0, usage={"input_tokens": 1})
    for record in (good, bad, negative):
        aggregates.add(record)
    summary = aggregates.summary()
    assert summary["calls"] == 3
    assert summary["tokens"] == {"input_tokens": 6, "output_tokens": 2, "total_tokens": 7}
    assert summary["cost_usd"] == 0.5
    assert summary["latency_ms"]["count"] == 1 and summary["latency_ms"]["max"] == 10.0
    assert summary["ttft_ms"]["count"] == 0
    json.dumps(summary, allow_nan=False)  # nothing in it is NaN or infinite


@pytest.mark.internal_errors_expected
def test_a_context_value_turned_into_a_marker_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    with FakeProvider() as fake:
        client = fake.openai_client()
        lm.instrument(providers=["openai"], exporters=[lm.exporters.JSONLExporter(path)], redact=False)
        try:
            for metadata in ({"n": 0}, {"n": 1, "bad": BrokenRepr()}, {"n": 2, "loop": _cycle()}):
                with lm.context(metadata=metadata):
                    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
            assert lm.flush(10)
            stats = lm.stats()
        finally:
            lm.uninstrument()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["metadata"]["n"] for r in records] == [0, 1, 2]
    assert records[1]["metadata"]["bad"].startswith("<unserializable BrokenRepr")
    assert records[2]["metadata"]["loop"] == ["head", "<cycle>"]
    assert stats["queue"]["unencodable"] == 2


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
@pytest.mark.internal_errors_expected
def test_the_otel_exporter_keeps_the_batch_and_the_bad_record_too(case: str) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider()
    grabber = HostGrabber()
    with FakeProvider() as fake:
        client = fake.openai_client()
        lm.instrument(
            providers=["openai"],
            exporters=[lm.exporters.OTelExporter(tracer_provider, meter_provider)],
            redact=False,
            processors=[grabber],
            flush_interval=60,
        )
        try:
            messages = [{"role": "user", "content": "hi"}]
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            assert grabber.host is not None
            grabber.host.submit(
                {"kind": "event", "event": {"type": "probe"}, "metadata": BAD_VALUES[case], "name": "probe"}
            )
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            assert lm.flush(10)
        finally:
            lm.uninstrument()
            tracer_provider.shutdown()
            meter_provider.shutdown()
    finished = spans.get_finished_spans()
    assert sorted(span.name for span in finished) == ["chat gpt-4o-mini", "chat gpt-4o-mini", "probe"]
    (probe,) = [span for span in finished if span.name == "probe"]
    metadata = json.loads(str(dict(probe.attributes or {})["llm_monitor.metadata"]))
    assert metadata["fine"] == "kept"


@pytest.mark.parametrize("encoder", ["default", "stdlib"])
def test_an_http_batch_body_keeps_every_record(encoder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_monitor_sdk.exporters.http import build_body

    if encoder == "stdlib":
        monkeypatch.setattr(_base, "_encode", _base._encode_stdlib)
    batch = [{"kind": "event", "n": 0}, {"kind": "event", "n": 1, "metadata": BAD_VALUES["broken_repr"]}]
    batch += [{"kind": "event", "n": 2, "metadata": BAD_VALUES["tuple_key"]}, {"kind": "event", "n": 3}]
    body = json.loads(build_body(_base.RecordBatch(batch)))
    assert [r["n"] for r in body["records"]] == [0, 1, 2, 3]
    assert body["records"][1]["metadata"]["bad"].startswith("<unserializable BrokenRepr")
    assert body["records"][2]["metadata"] == {"(1, 2)": "tuple key", "fine": "kept"}
