"""The record schema: what a JSONL line, an HTTP batch item and an OpenTelemetry span are made from.

The shape is defined once, here, as ``TypedDict`` classes: the common fields every record has, the
context ("scope") fields, and one class per ``kind``. The export worker builds records as plain
JSON-ready dicts of exactly these shapes (fast to build, redact and serialize once), through the
small constructors below (:func:`usage`, :func:`error`, :func:`safety`). The pydantic models
(:class:`Record`, :class:`Usage`, ...) are the typed, validated view of the same shape for readers:
``Record.model_validate(json.loads(line))`` reads any line the SDK writes, and keeps unknown keys so a
newer SDK's lines still validate. Field names are fixed by the public contract; new fields may be
added, none renamed.

The model classes load on first access (building them takes ~30 ms, and the SDK itself only needs
the dict shape), so importing this module stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from typing_extensions import TypedDict

if TYPE_CHECKING:  # for type checkers only: the models load lazily (see __getattr__)
    from ._record_models import BudgetAlert, ErrorInfo, Message, MessagePart, Record, Usage

#: Records only ever gain fields; this changes only when a field changes meaning.
SCHEMA_VERSION = 1

RecordKind = Literal["llm_call", "span", "feedback", "evaluation", "alert", "guardrail", "event"]
Status = Literal["ok", "error", "blocked"]
UsageSource = Literal["provider", "estimated"]
ErrorCategory = Literal[
    "timeout", "connection", "rate_limit", "server", "client", "content_filter", "cancelled", "other"
]

#: Every ``kind`` a record can have.
KINDS: tuple[str, ...] = ("llm_call", "span", "feedback", "evaluation", "alert", "guardrail", "event")
#: The contract's ``provider`` values (OpenTelemetry ``gen_ai.provider.name``).
PROVIDERS = ("openai", "anthropic", "gcp.gemini", "gcp.vertex_ai", "azure.ai.openai")
#: The contract's ``operation`` values (OpenTelemetry ``gen_ai.operation.name``).
OPERATIONS = ("chat", "text_completion", "embeddings", "generate_content")
#: The contract's ``error.category`` values.
ERROR_CATEGORIES: tuple[str, ...] = (
    "timeout",
    "connection",
    "rate_limit",
    "server",
    "client",
    "content_filter",
    "cancelled",
    "other",
)

#: A record as exporters receive it: the JSON-ready dict form of :class:`Record`.
RecordDict = dict[str, Any]


class UsageDict(TypedDict):
    """``usage``: token counts of one call (``input_tokens`` includes cache reads and writes,
    ``output_tokens`` includes reasoning)."""

    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cache_read_input_tokens: int | None
    cache_write_input_tokens: int | None
    reasoning_output_tokens: int | None
    source: UsageSource


class ErrorDict(TypedDict):
    """``error``: the exception's qualified class name, its message, the HTTP status, the category."""

    type: str
    message: str
    status_code: int | None
    category: NotRequired[ErrorCategory]


class SafetyDict(TypedDict):
    """``safety``: a provider content filter stopped the call or its output; the model refused."""

    content_filtered: bool
    refusal: bool


class TargetDict(TypedDict):
    """``target`` of feedback and evaluation records: what is judged (unknown ids null)."""

    record_id: str | None
    response_id: str | None
    trace_id: str | None


class EvaluationDict(TypedDict):
    """``evaluation`` of feedback and evaluation records."""

    name: str
    score: float | None
    passed: bool | None
    label: str | None
    explanation: str | None
    source: Literal["human", "heuristic", "llm_judge", "reference", "code"]


class AlertDict(TypedDict):
    """``alert`` of alert records (and the items of ``lm.alerts()``)."""

    name: str
    rule: str
    metric: str
    op: str
    threshold: float
    value: float | None
    window_s: float
    group: dict[str, Any]
    state: Literal["firing", "resolved"]
    severity: str
    owner: str | None
    runbook: str | None
    calls: int
    fired_at: str | None
    resolved_at: str | None


class GuardrailDict(TypedDict):
    """``guardrail`` of guardrail records."""

    name: str
    stage: Literal["input", "output"]
    blocked: bool
    reason: str | None
    latency_ms: float


class RetrievalSourceDict(TypedDict):
    """One item of ``retrieval_sources``."""

    id: str | None
    content: str | None


class CommonFields(TypedDict):
    """What every record has, whatever its kind."""

    schema_version: int
    kind: RecordKind
    record_id: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    started_at: str
    ended_at: str
    service_name: str
    sdk_version: str
    #: Entity counts of what redaction replaced (set whenever redaction ran on the record).
    redactions: NotRequired[dict[str, int]]
    #: ``OTEL_RESOURCE_ATTRIBUTES`` as a mapping, when set.
    resource: NotRequired[dict[str, str]]


class ScopeFields(TypedDict):
    """The context of ``lm.context()`` / ``@lm.observe`` in force when the call or span ran."""

    user_id: str | None
    session_id: str | None
    tenant_id: str | None
    feature: str | None
    tags: list[str]
    metadata: dict[str, Any]
    prompt_name: str | None
    prompt_version: str | None
    variant: str | None


class LLMCallRecordDict(CommonFields, ScopeFields):
    """A ``kind="llm_call"`` record: one provider call."""

    provider: str
    operation: str
    api: str
    request_model: str | None
    response_model: str | None
    request_params: dict[str, Any]
    stream: bool
    status: Status
    error: ErrorDict | None
    latency_ms: float
    ttft_ms: float | None
    usage: UsageDict | None
    cost_usd: float | None
    #: The price-table model that priced ``cost_usd`` (response model if known, else request model).
    priced_model: str | None
    finish_reasons: list[str]
    response_id: str | None
    request_id: str | None
    system_instructions: list[dict[str, Any]] | None
    input_messages: list[dict[str, Any]] | None
    output_messages: list[dict[str, Any]] | None
    partial: bool
    budget_alerts: list[dict[str, Any]]
    safety: SafetyDict
    prompt_fingerprint: str | None
    #: From ``context(retrieval_sources=...)``: content, absent when capture is off.
    retrieval_sources: NotRequired[list[RetrievalSourceDict] | None]
    #: From ``context(reference=...)``: content, absent when capture is off.
    reference: NotRequired[str | None]
    #: Text parts cut at ``LLM_MONITOR_MAX_CONTENT_CHARS`` and binary content summarised, when any.
    truncated: NotRequired[dict[str, int]]


class SpanRecordDict(CommonFields, ScopeFields):
    """A ``kind="span"`` record: one ``@observe`` function call."""

    name: str
    status: Status
    error: ErrorDict | None
    latency_ms: float
    input: NotRequired[Any]
    output: NotRequired[Any]
    partial: bool
    budget_alerts: list[dict[str, Any]]


class _Scoped(TypedDict, total=False):
    """Context fields that records made from a context (feedback, evaluations, guardrails) may carry."""

    user_id: str | None
    session_id: str | None
    tenant_id: str | None
    feature: str | None
    tags: list[str]
    metadata: dict[str, Any]
    prompt_name: str | None
    prompt_version: str | None
    variant: str | None


class FeedbackRecordDict(CommonFields, _Scoped):
    """A ``kind="feedback"`` record: human feedback on a call or a trace."""

    target: TargetDict
    evaluation: EvaluationDict
    comment: NotRequired[str | None]


class EvaluationRecordDict(CommonFields, _Scoped):
    """A ``kind="evaluation"`` record: one evaluator's result for one call."""

    target: TargetDict
    evaluation: EvaluationDict


class AlertRecordDict(CommonFields):
    """A ``kind="alert"`` record: an alert rule fired or resolved."""

    alert: AlertDict


class GuardrailRecordDict(CommonFields, _Scoped):
    """A ``kind="guardrail"`` record: one guardrail check."""

    guardrail: GuardrailDict


class EventRecordDict(CommonFields):
    """A ``kind="event"`` record (``event.type``, e.g. ``prompt_changed``)."""

    event: dict[str, Any]


#: The ``TypedDict`` of each ``kind``.
SHAPES: dict[str, type] = {
    "llm_call": LLMCallRecordDict,
    "span": SpanRecordDict,
    "feedback": FeedbackRecordDict,
    "evaluation": EvaluationRecordDict,
    "alert": AlertRecordDict,
    "guardrail": GuardrailRecordDict,
    "event": EventRecordDict,
}


def _count(value: Any) -> int | None:
    """A token count as the record keeps it: a non-negative integer, or None for anything else
    (a provider's malformed, negative, NaN or non-numeric count never reaches totals)."""
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is float and value.is_integer() and value >= 0:
        return int(value)
    return None


def usage(
    input_tokens: Any,
    output_tokens: Any,
    *,
    total_tokens: Any = None,
    cache_read: Any = None,
    cache_write: Any = None,
    reasoning: Any = None,
    source: UsageSource = "provider",
) -> UsageDict:
    """A ``usage`` object from whatever counts a provider reported.

    Each count becomes a non-negative integer or None; ``total_tokens`` defaults to input + output
    when both are known.
    """
    inputs, outputs, total = _count(input_tokens), _count(output_tokens), _count(total_tokens)
    if total is None and inputs is not None and outputs is not None:
        total = inputs + outputs
    return {
        "input_tokens": inputs,
        "output_tokens": outputs,
        "total_tokens": total,
        "cache_read_input_tokens": _count(cache_read),
        "cache_write_input_tokens": _count(cache_write),
        "reasoning_output_tokens": _count(reasoning),
        "source": source,
    }


def safety(*, content_filtered: bool = False, refusal: bool = False) -> SafetyDict:
    """A ``safety`` object."""
    return {"content_filtered": content_filtered, "refusal": refusal}


_MODELS = frozenset({"BudgetAlert", "ErrorInfo", "Message", "MessagePart", "Record", "Usage"})


def __getattr__(name: str) -> Any:
    # PEP 562: build the pydantic models the first time one is asked for.
    if name in _MODELS:
        value = getattr(importlib.import_module(f"{__package__}._record_models"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ERROR_CATEGORIES",
    "KINDS",
    "OPERATIONS",
    "PROVIDERS",
    "SCHEMA_VERSION",
    "SHAPES",
    "AlertDict",
    "AlertRecordDict",
    "BudgetAlert",
    "CommonFields",
    "ErrorDict",
    "ErrorInfo",
    "EvaluationDict",
    "EvaluationRecordDict",
    "EventRecordDict",
    "FeedbackRecordDict",
    "GuardrailDict",
    "GuardrailRecordDict",
    "LLMCallRecordDict",
    "Message",
    "MessagePart",
    "Record",
    "RecordDict",
    "RetrievalSourceDict",
    "SafetyDict",
    "ScopeFields",
    "SpanRecordDict",
    "TargetDict",
    "Usage",
    "UsageDict",
    "safety",
    "usage",
]
