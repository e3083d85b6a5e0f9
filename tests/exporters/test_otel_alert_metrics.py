"""The OpenTelemetry metrics the alert rules read in a fleet: calls by status, error category and content
filtering, judge calls marked, the rules' group dimensions, evaluation/feedback/guardrail metrics."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from llm_monitor_sdk.exporters.otel import METRIC_INSTRUMENTS, OTelExporter

_ids = itertools.count(1)


def record(**fields: Any) -> dict[str, Any]:
    n = next(_ids)
    base: dict[str, Any] = {
        "kind": "llm_call",
        "record_id": f"r{n}",
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "parent_span_id": None,
        "started_at": "2026-12-02T10:00:00.000000Z",
        "ended_at": "2026-12-02T10:00:01.000000Z",
        "provider": "openai",
        "operation": "chat",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini",
        "status": "ok",
        "error": None,
        "latency_ms": 1000.0,
        "ttft_ms": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        "cost_usd": 0.001,
        "feature": None,
        "tenant_id": None,
        "user_id": "alice",
        "prompt_name": None,
        "metadata": {},
        "finish_reasons": ["stop"],
    }
    base.update(fields)
    return base


@pytest.fixture
def metrics() -> Iterator[tuple[OTelExporter, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    tracers = TracerProvider()
    yield OTelExporter(tracers, meters), reader
    meters.shutdown()
    tracers.shutdown()


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = list(metric.data.data_points)
    return out


def test_calls_counter_by_status_category_and_content_filter(
    metrics: tuple[OTelExporter, InMemoryMetricReader],
) -> None:
    exporter, reader = metrics
    exporter.export(
        [
            record(),
            record(finish_reasons=["content_filter"]),
            record(
                status="error", error={"type": "openai.APITimeoutError", "message": "t", "status_code": None}
            ),
            record(
                status="error",
                error={"type": "x.Y", "message": "m", "status_code": 503, "category": "server"},
            ),
            record(status="blocked", usage=None, cost_usd=None),
        ]
    )
    calls = points(reader)["llm_monitor.client.calls"]
    by_attrs = {
        (
            p.attributes["llm_monitor.status"],
            p.attributes.get("error.category"),
            p.attributes.get("llm_monitor.content_filtered"),
        ): p.value
        for p in calls
    }
    assert by_attrs == {
        ("ok", None, None): 1,
        ("ok", None, True): 1,
        ("error", "timeout", None): 1,
        ("error", "server", None): 1,
        ("blocked", None, None): 1,
    }
    assert all(p.attributes["gen_ai.provider.name"] == "openai" for p in calls)
    assert not any("llm_monitor.user_id" in p.attributes for p in calls)  # never a metric attribute
    # The blocked call is counted, but has no duration (it never reached the provider).
    assert sum(p.count for p in points(reader)["gen_ai.client.operation.duration"]) == 4


def test_group_dimensions_and_judge_calls_are_labelled(
    metrics: tuple[OTelExporter, InMemoryMetricReader],
) -> None:
    exporter, reader = metrics
    exporter.export(
        [
            record(feature="search", tenant_id="acme", prompt_name="answer", variant="b"),
            record(feature="llm-monitor-judge", metadata={"llm_monitor.judge": "faithfulness"}),
        ]
    )
    found = points(reader)
    for name in ("llm_monitor.client.calls", "gen_ai.client.operation.duration", "gen_ai.client.token.usage"):
        attrs = [p.attributes for p in found[name]]
        assert any(
            a.get("llm_monitor.feature") == "search"
            and a.get("llm_monitor.tenant_id") == "acme"
            and a.get("llm_monitor.prompt_name") == "answer"
            and a.get("llm_monitor.variant") == "b"
            and "llm_monitor.judge" not in a
            for a in attrs
        ), name
        assert any(a.get("llm_monitor.judge") is True for a in attrs), name


def test_evaluation_feedback_and_guardrail_metrics(
    metrics: tuple[OTelExporter, InMemoryMetricReader],
) -> None:
    exporter, reader = metrics

    def verdict(kind: str, **item: Any) -> dict[str, Any]:
        return record(
            kind=kind, evaluation={"label": None, "explanation": None, "source": "heuristic", **item}
        )

    exporter.export(
        [
            verdict("evaluation", name="grounding", score=0.9, passed=True),
            verdict("evaluation", name="grounding", score=0.3, passed=False),
            verdict("evaluation", name="refusal", score=None, passed=None),
            verdict("feedback", name="user_rating", score=0.0, passed=None, source="human"),
            record(kind="guardrail", guardrail={"name": "pii", "stage": "input", "blocked": True}),
            record(kind="guardrail", guardrail={"name": "pii", "stage": "input", "blocked": False}),
        ]
    )
    found = points(reader)
    (score,) = found["llm_monitor.evaluation.score"]
    assert score.count == 2 and score.sum == pytest.approx(1.2)
    assert score.attributes["llm_monitor.evaluation.name"] == "grounding"
    evals = {
        (
            p.attributes["llm_monitor.evaluation.name"],
            p.attributes.get("llm_monitor.evaluation.passed"),
        ): p.value
        for p in found["llm_monitor.evaluations"]
    }
    assert evals == {("grounding", True): 1, ("grounding", False): 1, ("refusal", None): 1}
    (feedback,) = found["llm_monitor.feedback"]
    assert feedback.attributes["llm_monitor.evaluation.passed"] is False  # score 0 < 0.5
    assert found["llm_monitor.feedback.score"][0].sum == 0.0
    guards = {
        p.attributes["llm_monitor.guardrail.blocked"]: p.value for p in found["llm_monitor.guardrail.checks"]
    }
    assert guards == {True: 1, False: 1}
    # None of these records is an LLM call: no GenAI call metrics from them.
    assert "llm_monitor.client.calls" not in found


def test_every_instrument_in_the_table_is_created(metrics: tuple[OTelExporter, InMemoryMetricReader]) -> None:
    exporter, reader = metrics
    exporter.export(
        [
            record(ttft_ms=200.0),
            record(kind="evaluation", evaluation={"name": "g", "score": 1.0, "passed": True}),
            record(kind="feedback", evaluation={"name": "u", "score": 1.0, "passed": True}),
            record(kind="guardrail", guardrail={"name": "pii", "blocked": False}),
        ]
    )
    data = reader.get_metrics_data()
    assert data is not None
    units = {m.name: m.unit for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert units == {name: unit for name, unit, _ in METRIC_INSTRUMENTS}
