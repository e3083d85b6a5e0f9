"""The record schema: what a JSONL line, an HTTP batch item and an OpenTelemetry span are made from.

Internally the export worker builds records as plain JSON-ready dicts (fast to build, redact and
serialize once). These pydantic models are the typed, validated view of exactly the same shape:
``Record.model_validate(json.loads(line))`` reads any line the SDK writes. The field names are
fixed by the public contract; new fields may be added, none renamed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

RecordKind = Literal["llm_call", "span"]
Status = Literal["ok", "error", "blocked"]
UsageSource = Literal["provider", "estimated"]

#: The contract's ``provider`` values (OpenTelemetry ``gen_ai.provider.name``).
PROVIDERS = ("openai", "anthropic", "gcp.gemini", "gcp.vertex_ai", "azure.ai.openai")
#: The contract's ``operation`` values (OpenTelemetry ``gen_ai.operation.name``).
OPERATIONS = ("chat", "text_completion", "embeddings", "generate_content")


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


#: A record as exporters receive it: the JSON-ready dict form of :class:`Record`.
RecordDict = dict[str, Any]

__all__ = [
    "OPERATIONS",
    "PROVIDERS",
    "SCHEMA_VERSION",
    "BudgetAlert",
    "ErrorInfo",
    "Message",
    "MessagePart",
    "Record",
    "RecordDict",
    "Usage",
]
