"""Records to OpenTelemetry GenAI span data and metric attributes: pure functions, no OpenTelemetry import.

Follows the GenAI semantic conventions as released code emits them (semconv 0.66b2 / util-genai 1.3b0):
span name ``"{gen_ai.operation.name} {gen_ai.request.model}"``, kind CLIENT, ``gen_ai.*`` request,
response and usage attributes, ``error.type`` on failures, message content as compact JSON strings
(opt-in). Fields the conventions do not cover go under the ``llm_monitor.`` prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..record import RecordDict
from ._base import encode_value

#: Advised bucket boundaries for durations in seconds (operation duration, time to first chunk).
DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
#: Advised bucket boundaries for token counts.
TOKEN_BUCKETS: tuple[int, ...] = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)

#: ``error.type`` of a call the SDK blocked before it reached the provider.
BLOCKED_ERROR_TYPE = "llm_monitor_sdk.BudgetExceededError"
#: Prefix of every attribute that is ours rather than the conventions'.
PREFIX = "llm_monitor."

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# request_params key -> (attribute, converter); several providers' spellings map to one attribute.
_PARAMS: dict[str, tuple[str, type]] = {
    "temperature": ("gen_ai.request.temperature", float),
    "top_p": ("gen_ai.request.top_p", float),
    "top_k": ("gen_ai.request.top_k", int),
    "max_tokens": ("gen_ai.request.max_tokens", int),
    "max_completion_tokens": ("gen_ai.request.max_tokens", int),
    "max_output_tokens": ("gen_ai.request.max_tokens", int),
    "frequency_penalty": ("gen_ai.request.frequency_penalty", float),
    "presence_penalty": ("gen_ai.request.presence_penalty", float),
    "seed": ("gen_ai.request.seed", int),
}
_STOP_KEYS = ("stop", "stop_sequences")
_CHOICE_KEYS = ("n", "candidate_count")

_USAGE = (
    ("input_tokens", "gen_ai.usage.input_tokens"),
    ("output_tokens", "gen_ai.usage.output_tokens"),
    ("cache_read_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
    ("cache_write_input_tokens", "gen_ai.usage.cache_write.input_tokens"),
    ("reasoning_output_tokens", "gen_ai.usage.reasoning.output_tokens"),
)
# Record fields copied as-is under the prefix (scalars) when present.
_EXTRA_SCALARS = (
    "record_id",
    "api",
    "status",
    "cost_usd",
    "user_id",
    "session_id",
    "tenant_id",
    "feature",
    "latency_ms",
    "ttft_ms",
    "request_id",
    "variant",
    "prompt_fingerprint",
    "priced_model",
)
_EXTRA_JSON = ("metadata", "redactions", "budget_alerts")


@dataclass(frozen=True, slots=True)
class SpanData:
    """Everything needed to build one finished span, independent of the OpenTelemetry SDK."""

    name: str
    client: bool
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    error: bool
    status_message: str | None


def iso_to_ns(value: str) -> int:
    """Nanoseconds since the epoch for an ISO 8601 timestamp (naive means UTC); exact to the microsecond."""
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _hex_id(value: Any, digits: int, field: str) -> int:
    if not isinstance(value, str) or len(value) != digits:
        raise ValueError(f"record {field} must be {digits} hex digits, got {value!r}")
    number = int(value, 16)
    if number == 0:
        raise ValueError(f"record {field} must not be all zeros")
    return number


def _compact(value: Any) -> str:
    # The JSONL encoder's rules: ISO 8601 datetimes, null for NaN, markers for what cannot be written
    # (a cycle or an object whose repr raises must cost one attribute, not the batch).
    return encode_value(value)


def error_type(record: RecordDict) -> str | None:
    """The ``error.type`` of a failed or blocked record, None when it succeeded."""
    status = record.get("status")
    if status not in ("error", "blocked"):
        return None
    error = record.get("error") or {}
    if isinstance(error, Mapping) and error.get("type"):
        return str(error["type"])
    return BLOCKED_ERROR_TYPE if status == "blocked" else "_OTHER"


def _set(attrs: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "" and value != []:
        attrs[key] = value


def _request_attributes(attrs: dict[str, Any], params: Mapping[str, Any]) -> None:
    for key, (attribute, convert) in _PARAMS.items():
        value = params.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[attribute] = convert(value)
    for key in _STOP_KEYS:
        stop = params.get(key)
        if isinstance(stop, str):
            attrs["gen_ai.request.stop_sequences"] = [stop]
        elif isinstance(stop, list | tuple) and stop:
            attrs["gen_ai.request.stop_sequences"] = [str(s) for s in stop]
    for key in _CHOICE_KEYS:
        count = params.get(key)
        if isinstance(count, int) and not isinstance(count, bool) and count != 1:
            attrs["gen_ai.request.choice.count"] = count
    encoding = params.get("encoding_format")
    if isinstance(encoding, str):
        attrs["gen_ai.request.encoding_formats"] = [encoding]


def _llm_call_attributes(record: RecordDict, attrs: dict[str, Any], capture_content: bool) -> None:
    _set(attrs, "gen_ai.operation.name", record.get("operation"))
    _set(attrs, "gen_ai.provider.name", record.get("provider"))
    _set(attrs, "gen_ai.request.model", record.get("request_model"))
    _set(attrs, "gen_ai.response.model", record.get("response_model"))
    _set(attrs, "gen_ai.response.id", record.get("response_id"))
    if record.get("stream"):
        attrs["gen_ai.request.stream"] = True
    params = record.get("request_params")
    if isinstance(params, Mapping):
        _request_attributes(attrs, params)
        if params:
            attrs[PREFIX + "request_params"] = _compact(params)
    api = record.get("api") or ""
    if record.get("provider") in ("openai", "azure.ai.openai") and api:
        attrs["openai.api.type"] = "responses" if api.startswith("responses") else "chat_completions"
    finish = record.get("finish_reasons")
    if finish:
        attrs["gen_ai.response.finish_reasons"] = [str(f) for f in finish]
    usage = record.get("usage")
    if isinstance(usage, Mapping):
        for field, attribute in _USAGE:
            value = usage.get(field)
            if isinstance(value, int) and not isinstance(value, bool):
                attrs[attribute] = value
        _set(attrs, PREFIX + "usage.source", usage.get("source"))
    ttft = record.get("ttft_ms")
    if isinstance(ttft, int | float):
        attrs["gen_ai.response.time_to_first_chunk"] = ttft / 1000.0
    _set(attrs, "gen_ai.prompt.name", record.get("prompt_name"))
    _set(attrs, "gen_ai.prompt.version", record.get("prompt_version"))
    if record.get("partial"):
        attrs[PREFIX + "partial"] = True
    error = record.get("error")
    if isinstance(error, Mapping):
        _set(attrs, PREFIX + "error.category", error.get("category"))
    safety = record.get("safety")
    if isinstance(safety, Mapping):
        attrs[PREFIX + "safety.content_filtered"] = bool(safety.get("content_filtered"))
        attrs[PREFIX + "safety.refusal"] = bool(safety.get("refusal"))
    if capture_content:
        for field, attribute in (
            ("system_instructions", "gen_ai.system_instructions"),
            ("input_messages", "gen_ai.input.messages"),
            ("output_messages", "gen_ai.output.messages"),
            ("retrieval_sources", PREFIX + "retrieval_sources"),
            ("reference", PREFIX + "reference"),
        ):
            if record.get(field):
                attrs[attribute] = _compact(record[field])


def span_data(record: RecordDict, *, capture_content: bool = True) -> SpanData:
    """Map one record to span data.

    ``kind="llm_call"`` records become CLIENT spans named ``"{operation} {request_model}"``;
    ``kind="span"`` records (from ``@observe``) become INTERNAL spans named by the record's ``name``.
    Ids and times are the record's own, so parent links made at record time hold in the trace.

    Raises:
        ValueError: the record's ids or timestamps are missing or malformed.
    """
    trace_id = _hex_id(record.get("trace_id"), 32, "trace_id")
    span_id = _hex_id(record.get("span_id"), 16, "span_id")
    parent = record.get("parent_span_id")
    parent_id = _hex_id(parent, 16, "parent_span_id") if parent else None
    try:
        start_ns = iso_to_ns(record["started_at"])
        end_ns = iso_to_ns(record["ended_at"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"record needs started_at and ended_at timestamps: {exc}") from None

    attrs: dict[str, Any] = {}
    client = record.get("kind", "llm_call") == "llm_call"
    if client:
        _llm_call_attributes(record, attrs, capture_content)
        operation = record.get("operation") or "chat"
        model = record.get("request_model")
        name = f"{operation} {model}" if model else operation
    else:
        name = record.get("name") or "observe"
        if capture_content:
            for field in ("input", "output"):
                if record.get(field) is not None:
                    attrs[PREFIX + field] = _compact(record[field])
    for field in _EXTRA_SCALARS:
        value = record.get(field)
        if isinstance(value, str | int | float | bool) and value != "":
            attrs[PREFIX + field] = value
    tags = record.get("tags")
    if tags:
        attrs[PREFIX + "tags"] = [str(t) for t in tags]
    for field in _EXTRA_JSON:
        if record.get(field):
            attrs[PREFIX + field] = _compact(record[field])

    # OpenTelemetry attribute sequences are tuples (immutable), as the SDK itself stores them.
    attrs = {k: tuple(v) if isinstance(v, list) else v for k, v in attrs.items()}
    err_type = error_type(record)
    message = None
    if err_type is not None:
        attrs["error.type"] = err_type
        error = record.get("error")
        if isinstance(error, Mapping):
            message = str(error.get("message") or "")[:1000] or None
    return SpanData(
        name, client, trace_id, span_id, parent_id, start_ns, end_ns, attrs, err_type is not None, message
    )


def metric_attributes(record: RecordDict) -> dict[str, Any]:
    """Attributes shared by every GenAI client metric point of this record."""
    attrs: dict[str, Any] = {}
    _set(attrs, "gen_ai.operation.name", record.get("operation"))
    _set(attrs, "gen_ai.provider.name", record.get("provider"))
    _set(attrs, "gen_ai.request.model", record.get("request_model"))
    _set(attrs, "gen_ai.response.model", record.get("response_model"))
    return attrs
