"""The pydantic models behind :mod:`llm_monitor_sdk.record` (``Record``, ``Usage``, ``ErrorInfo``, ...).

Kept apart from ``record.py`` because building pydantic models costs ~30 ms: the SDK's own code only
needs the plain-dict shape, so this module loads the first time someone asks for a model class.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from typing_extensions import is_typeddict

from . import record as _shapes
from .record import SCHEMA_VERSION, ErrorCategory, RecordKind, Status, UsageSource


class _Model(BaseModel):
    # Unknown keys are kept so that a newer SDK's lines still validate with an older reader.
    model_config = ConfigDict(extra="allow")


class Usage(_Model):
    """Token counts of one call.

    ``input_tokens`` includes cache reads and cache writes; ``output_tokens`` includes reasoning
    tokens. ``source`` says whether the provider reported them or the SDK estimated them offline.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    source: UsageSource = "provider"


class ErrorInfo(_Model):
    """What went wrong: ``type`` is the exception's fully qualified class name."""

    type: str
    message: str = ""
    status_code: int | None = None
    category: ErrorCategory | None = None


class MessagePart(_Model):
    """One part of a message in the OpenTelemetry GenAI shape (``text``, ``tool_call``, ``reasoning``, ...)."""

    type: str


class Message(_Model):
    """One input or output message in the OpenTelemetry GenAI shape."""

    role: str
    parts: list[dict[str, Any]] = Field(default_factory=list)
    finish_reason: str | None = None


class BudgetAlert(_Model):
    """A soft budget limit crossed by this call."""

    scope: str
    key: str | None = None
    window: str
    limit_usd: float
    spent_usd: float
    threshold: float | None = None


class Record(_Model):
    """One exported record: an LLM call (``kind="llm_call"``), an ``@observe`` span (``kind="span"``),
    or a ``feedback``, ``evaluation``, ``alert``, ``guardrail`` or ``event`` record; the kind-specific
    objects of the last five are kept as plain dicts."""

    schema_version: int = SCHEMA_VERSION
    kind: RecordKind = "llm_call"
    record_id: str
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    started_at: str
    ended_at: str
    name: str | None = None
    provider: str | None = None
    operation: str | None = None
    api: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    request_params: dict[str, Any] = Field(default_factory=dict)
    stream: bool = False
    status: Status = "ok"
    error: ErrorInfo | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    finish_reasons: list[str] = Field(default_factory=list)
    response_id: str | None = None
    request_id: str | None = None
    system_instructions: list[dict[str, Any]] | None = None
    input_messages: list[Message] | None = None
    output_messages: list[Message] | None = None
    input: Any = None
    output: Any = None
    user_id: str | None = None
    session_id: str | None = None
    tenant_id: str | None = None
    feature: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    prompt_name: str | None = None
    prompt_version: str | None = None
    variant: str | None = None
    safety: dict[str, bool] | None = None
    prompt_fingerprint: str | None = None
    priced_model: str | None = None
    retrieval_sources: list[dict[str, Any]] | None = None
    reference: str | None = None
    target: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None
    guardrail: dict[str, Any] | None = None
    event: dict[str, Any] | None = None
    partial: bool = False
    redactions: dict[str, int] = Field(default_factory=dict)
    budget_alerts: list[BudgetAlert] = Field(default_factory=list)
    service_name: str | None = None
    sdk_version: str | None = None


_STRICT: dict[str, TypeAdapter[Any]] = {}


def validate_strict(record: dict[str, Any]) -> None:
    """Check ``record`` against its kind's ``TypedDict`` with unknown keys forbidden (raises
    ``pydantic.ValidationError``): how the test suite makes a misspelled field fail a test."""
    if not _STRICT:
        forbid = ConfigDict(extra="forbid")
        for name in dir(_shapes):
            shape = getattr(_shapes, name)
            if is_typeddict(shape):
                shape.__pydantic_config__ = forbid
        for name, shape in _shapes.SHAPES.items():
            _STRICT[name] = TypeAdapter(shape)
    kind = record.get("kind")
    adapter = _STRICT.get(kind) if isinstance(kind, str) else None
    if adapter is None:
        raise ValueError(f"unknown record kind {kind!r}")
    adapter.validate_python(record, strict=False)


__all__ = ["BudgetAlert", "ErrorInfo", "Message", "MessagePart", "Record", "Usage", "validate_strict"]
