"""The pydantic models behind :mod:`llm_monitor_sdk.record` (``Record``, ``Usage``, ``ErrorInfo``, ...).

Kept apart from ``record.py`` because building pydantic models costs ~30 ms: the SDK's own code only
needs the plain-dict shape, so this module loads the first time someone asks for a model class.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .record import SCHEMA_VERSION, RecordKind, Status, UsageSource


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
    """One exported record: an LLM call (``kind="llm_call"``) or an ``@observe`` span (``kind="span"``)."""

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
    partial: bool = False
    redactions: dict[str, int] = Field(default_factory=dict)
    budget_alerts: list[BudgetAlert] = Field(default_factory=list)
    service_name: str | None = None
    sdk_version: str | None = None


__all__ = ["BudgetAlert", "ErrorInfo", "Message", "MessagePart", "Record", "Usage"]
