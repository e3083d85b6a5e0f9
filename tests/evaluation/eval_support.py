"""Helpers for the evaluation tests: instrument with evaluators, wait for results, build records."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import llm_monitor_sdk as lm
from llm_monitor_sdk.evaluation import EvaluationProcessor

feedback = lm.feedback
guardrail = lm.guardrail


class Monitored:
    """An instrumented monitor exporting to memory, with evaluation processors attached."""

    def __init__(self, exporter: lm.exporters.InMemoryExporter, processors: list[Any]) -> None:
        self.exporter = exporter
        self.processors = processors

    @property
    def pool(self) -> EvaluationProcessor:
        return next(p for p in self.processors if isinstance(p, EvaluationProcessor))

    def drain(self, timeout: float = 10.0) -> None:
        """Export queued records, run queued evaluations, export their results."""
        assert lm.flush(timeout)
        for processor in self.processors:
            if isinstance(processor, EvaluationProcessor):
                assert processor.flush(timeout), "evaluations still running"
        assert lm.flush(timeout)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.exporter.records if kind is None or r["kind"] == kind]

    def evaluations(self, name: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records("evaluation") if name is None or r["evaluation"]["name"] == name]


def instrument(
    evaluators: Any = None,
    *,
    processors: Sequence[Any] | None = None,
    redact: bool = False,
    **settings: Any,
) -> Monitored:
    """``lm.instrument(evaluators=...)`` (the monitor builds the evaluation processors), or with the
    given extra processors."""
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(
        exporters=[exporter],
        redact=redact,
        flush_interval=0.02,
        evaluators=evaluators,
        processors=list(processors or ()),
        **settings,
    )
    monitor = lm.get_monitor()
    assert monitor is not None
    return Monitored(exporter, monitor.processors)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def call_record(
    *,
    user: str = "Hello",
    output: str = "Hi! How can I help?",
    history: Sequence[tuple[str, str]] = (),
    system: str | None = None,
    tool: str | None = None,
    sources: Sequence[str] | None = None,
    params: dict[str, Any] | None = None,
    reference: str | None = None,
    trace_id: str = "0" * 31 + "1",
    **fields: Any,
) -> dict[str, Any]:
    """An ``llm_call`` record dict as evaluators receive it."""
    messages: list[dict[str, Any]] = [
        {"role": role, "parts": [{"type": "text", "content": text}]} for role, text in history
    ]
    if user:
        messages.append({"role": "user", "parts": [{"type": "text", "content": user}]})
    if tool is not None:
        messages.append(
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": tool}]}
        )
    record: dict[str, Any] = {
        "kind": "llm_call",
        "record_id": "r" * 32,
        "trace_id": trace_id,
        "span_id": "s" * 16,
        "status": "ok",
        "response_id": "resp_1",
        "system_instructions": [{"type": "text", "content": system}] if system else None,
        "input_messages": messages,
        "output_messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": output}], "finish_reason": "stop"}
        ],
        "request_params": params or {},
        "safety": {"content_filtered": False, "refusal": False},
    }
    if sources is not None:
        record["retrieval_sources"] = [{"id": str(i), "content": s} for i, s in enumerate(sources)]
    if reference is not None:
        record["reference"] = reference
    record.update(fields)
    return record
