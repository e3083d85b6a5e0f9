"""Records validate against ``lm.Record``; ``lm.stats()`` shape and numbers; histogram accuracy."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from core_support import DummyClient, DummyError

import llm_monitor_sdk as lm
from llm_monitor_sdk.metrics import Aggregates, LogHistogram


def _exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * q / 100.0)) - 1]


def test_span_and_call_records_validate_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    lm.instrument(providers=[], exporters="jsonl", jsonl_path=str(path), redact=False, flush_interval=60)
    client = DummyClient()

    @lm.observe("flow", user_id="u1", tags=["t"], metadata={"n": 1, "odd": {1, 2}})
    def flow() -> str:
        client.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], temperature=0.5)
        try:
            client.create(model="gpt-4o-mini", messages=[], fail=True)
        except DummyError:
            pass
        return "ok"

    flow()
    assert lm.flush(10)
    records = [lm.Record.model_validate(json.loads(line)) for line in path.read_text().splitlines()]
    assert [(r.kind, r.status) for r in records] == [
        ("llm_call", "ok"),
        ("llm_call", "error"),
        ("span", "ok"),
    ]
    ok, failed, span = records
    assert ok.usage is not None and ok.usage.total_tokens == 15 and ok.usage.source == "provider"
    assert ok.cost_usd is not None and ok.cost_usd > 0
    assert ok.output_messages is not None and ok.output_messages[0].parts[0]["content"] == "hello back"
    assert ok.finish_reasons == ["stop"] and ok.request_params == {"temperature": 0.5}
    assert failed.error is not None and failed.error.type.endswith("DummyError")
    assert span.name == "flow" and span.output == "ok" and span.metadata["odd"] == [1, 2]
    for record in records:
        assert record.schema_version == 1
        assert record.service_name == "unknown_service" and record.sdk_version == lm.__version__
        assert record.trace_id == span.trace_id and record.user_id == "u1" and record.tags == ["t"]
        assert record.started_at.endswith("Z") and record.started_at <= record.ended_at


def test_openai_call_record_validates(fake_provider, tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    lm.instrument(["openai"], exporters="jsonl", jsonl_path=str(path), redact=False, flush_interval=60)
    client = fake_provider.openai_client()
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "s"}], stream=True
    )
    for _ in stream:
        pass
    assert lm.flush(10)
    records = [lm.Record.model_validate(json.loads(line)) for line in path.read_text().splitlines()]
    assert [(r.kind, r.provider, r.stream) for r in records] == [
        ("llm_call", "openai", False),
        ("llm_call", "openai", True),
    ]
    assert all(r.status == "ok" and r.usage is not None for r in records)
    assert records[1].ttft_ms is not None


def test_stats_shape_and_numbers(recorder) -> None:
    client = DummyClient()
    for _ in range(3):
        client.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(DummyError):
        client.create(model="gpt-4o-mini", messages=[], fail=True)

    @lm.observe
    def span() -> None:
        pass

    span()
    assert lm.flush(10)
    calls = [r for r in recorder.records if r["kind"] == "llm_call"]
    stats = lm.stats()
    assert stats["calls"] == 4
    assert stats["by_status"] == {"ok": 3, "error": 1}
    assert stats["error_rate"] == 0.25
    assert stats["spans"] == 1
    latency = stats["latency_ms"]
    assert set(latency) == {"count", "mean", "p50", "p90", "p99", "max"}
    assert latency["count"] == 4
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    assert stats["ttft_ms"]["count"] == 0 and stats["ttft_ms"]["p50"] is None
    assert stats["tokens"] == {"input_tokens": 30, "output_tokens": 15, "total_tokens": 45}
    assert stats["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0.0 for r in calls))
    assert stats["cost_usd"] > 0
    assert stats["by_model"]["openai/gpt-4o-mini"]["calls"] == 4
    assert stats["dropped"] == 0
    assert stats["queue"] == {"queued": 0, "dropped": 0, "processed": 5, "unencodable": 0}
    assert stats["exporters"]["recording"]["exported"] == 5
    assert stats["exporters"]["recording"]["failed"] == 0
    assert stats["internal_errors"] == {}
    json.dumps(stats)  # plain data


def test_stats_stay_readable_after_uninstrument(recorder) -> None:
    DummyClient().create(model="gpt-4o-mini", messages=[])
    lm.uninstrument()
    stats = lm.stats()
    assert stats["calls"] == 1
    assert stats["exporters"]["recording"]["exported"] == 1


def test_aggregates_percentiles_on_known_latencies() -> None:
    aggregates = Aggregates()
    latencies = [float(n) for n in range(1, 1001)]
    random.Random(7).shuffle(latencies)
    for latency in latencies:
        aggregates.add(
            {
                "kind": "llm_call",
                "status": "ok",
                "latency_ms": latency,
                "ttft_ms": latency / 2,
                "provider": "openai",
                "request_model": "m",
                "usage": None,
                "cost_usd": 0.001,
            }
        )
    aggregates.add(
        {
            "kind": "llm_call",
            "status": "blocked",
            "latency_ms": 0.0,
            "provider": "openai",
            "request_model": "m",
        }
    )
    summary = aggregates.summary()
    assert summary["by_status"] == {"ok": 1000, "blocked": 1}
    assert summary["latency_ms"]["count"] == 1000  # blocked calls never reached the provider
    for key, exact in (("p50", 500.0), ("p90", 900.0), ("p99", 990.0)):
        assert summary["latency_ms"][key] == pytest.approx(exact, rel=0.01)
        assert summary["ttft_ms"][key] == pytest.approx(exact / 2, rel=0.01)
    assert summary["latency_ms"]["max"] == 1000.0
    assert summary["cost_usd"] == pytest.approx(1.0)
    assert summary["cost_per_call_usd"] == pytest.approx(0.001)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_log_histogram_percentiles_within_one_percent(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(6.0, 1.5) + 1.0 for _ in range(20_000)]
    histogram = LogHistogram()
    for value in values:
        histogram.add(value)
    for q in (1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100):
        exact = _exact_percentile(values, q)
        assert histogram.percentile(q) == pytest.approx(exact, rel=0.01), q
    summary = histogram.summary()
    assert summary["count"] == len(values)
    assert summary["mean"] == pytest.approx(sum(values) / len(values), rel=1e-6)
    assert summary["max"] == pytest.approx(max(values), abs=0.001)


def test_log_histogram_zeros_and_empty() -> None:
    histogram = LogHistogram()
    assert histogram.percentile(50) is None
    assert histogram.summary()["p50"] is None
    for value in (0.0, 0.0, 0.0, 10.0):
        histogram.add(value)
    assert histogram.percentile(50) == 0.0
    assert histogram.percentile(100) == pytest.approx(10.0, rel=0.01)


def test_usage_constructor_keeps_only_sane_counts() -> None:
    from llm_monitor_sdk.record import usage

    assert usage(10, 5) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "cache_read_input_tokens": None,
        "cache_write_input_tokens": None,
        "reasoning_output_tokens": None,
        "source": "provider",
    }
    odd = usage(
        "many", float("nan"), total_tokens=-3, cache_read=True, cache_write=2.0, reasoning=float("inf")
    )
    assert odd["input_tokens"] is None and odd["output_tokens"] is None and odd["total_tokens"] is None
    assert odd["cache_read_input_tokens"] is None  # a bool is not a count
    assert odd["cache_write_input_tokens"] == 2
    assert odd["reasoning_output_tokens"] is None


def test_strict_validation_rejects_a_misspelled_field(recorder) -> None:
    import pydantic

    from llm_monitor_sdk._record_models import validate_strict

    DummyClient().create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert lm.flush(5)
    [record] = recorder.records
    validate_strict(record)  # what the SDK exports passes
    typo = {**record, "lantency_ms": record.pop("latency_ms")}
    with pytest.raises(pydantic.ValidationError):
        validate_strict(typo)
    with pytest.raises(pydantic.ValidationError):
        validate_strict({**record, "latency_ms": 1.0, "usage": {**record["usage"], "input_token": 1}})
