"""Worker-side record building: finished calls and ``@observe`` spans become record dicts.

The call lifecycle (``instrumentation/_call.py``) only keeps references on the caller's thread: the
request kwargs, the response or the stream's chunks, clocks, the context scope. Everything that reads
them runs here, on the export worker (or, for a budgeted call, on the thread that finishes it, where
the real cost must be known before the next call): the adapter's readers, ids, timestamps, the
error object, the offline token estimate. Records are built in the shapes of :mod:`llm_monitor_sdk.record`.
Every value a record holds is the record's own (JSON-ready copies), so redaction can rewrite it in
place without touching the application's objects.
"""

from __future__ import annotations

import math
import os
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._convert import to_jsonable
from ._guard import guard
from .context import Scope, new_span_id, new_trace_id, text_value
from .instrumentation._helpers import header, is_raw_response, raw_json
from .record import SCHEMA_VERSION, usage

if TYPE_CHECKING:
    from .context import _Span
    from .instrumentation._call import Call


# -- ids and timestamps ------------------------------------------------------------------------------
def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with microseconds and a ``Z``."""
    # Same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"). Runs twice per record, so the date and time of
    # day are formatted once per second and reused; microseconds round half-even as fromtimestamp's do.
    global _iso_cache
    if ts < 0 or not math.isfinite(ts):
        return (
            datetime.fromtimestamp(ts if math.isfinite(ts) else 0.0, UTC).isoformat(timespec="microseconds")[
                :-6
            ]
            + "Z"
        )
    frac, whole = math.modf(ts)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        whole += 1.0
        micros -= 1_000_000
    second, prefix = _iso_cache  # one tuple: threads never see a second paired with another's text
    if whole != second:
        prefix = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _iso_cache = (whole, prefix)
    return f"{prefix}{micros:06d}Z"


_iso_cache: tuple[float, str] = (-1.0, "")


def record_id() -> str:
    """A random UUID4 as 32 hex digits: ``uuid.uuid4().hex`` without the ``UUID`` object's cost."""
    n = int.from_bytes(os.urandom(16), "big")
    return f"{(n & _UUID_CLEAR) | _UUID4_BITS:032x}"


_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # variant and version bits
_UUID4_BITS = (0x8000 << 48) | (0x4000 << 64)  # RFC 4122 variant, version 4


# -- errors ------------------------------------------------------------------------------------------
def qualified_name(exc_type: type) -> str:
    """The shortest public dotted name of an exception class: ``openai.RateLimitError`` rather than
    ``openai._exceptions.RateLimitError``, ``llm_monitor_sdk.BudgetExceededError``."""
    module = exc_type.__module__ or ""
    name = exc_type.__qualname__
    if not module or module == "builtins":
        return name
    parts = module.split(".")
    for depth in range(1, len(parts)):
        candidate = ".".join(parts[:depth])
        if getattr(sys.modules.get(candidate), name, None) is exc_type:
            return f"{candidate}.{name}"
    return f"{module}.{name}"


def error_info(exc: BaseException) -> dict[str, Any]:
    """The record's ``error`` object: qualified type, message, HTTP status code, category."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        code = getattr(exc, "code", None)
        status = code if isinstance(code, int) and 100 <= code <= 599 else None
    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        try:
            message = str(exc)
        except Exception:  # an exception whose __str__ is broken
            message = f"<unprintable {type(exc).__name__}>"
    return {
        "type": qualified_name(type(exc)),
        "message": message,
        "status_code": status,
        "category": error_category(exc, status),
    }


# Class names (anywhere in the exception's MRO) of each SDK and HTTP library, all supported majors.
_TIMEOUT_NAMES = frozenset(
    {
        "APITimeoutError",
        "TimeoutException",
        "ReadTimeout",
        "ConnectTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "ServerTimeoutError",
        "TimeoutError",
    }
)
_CONNECTION_NAMES = frozenset(
    {
        "APIConnectionError",
        "ConnectError",
        "NetworkError",
        "RemoteProtocolError",
        "ReadError",
        "WriteError",
        "ProtocolError",
        "ConnectionError",
        "ClientConnectionError",
        "ServerDisconnectedError",
        "ClientOSError",
        "IncompleteRead",
        "ChunkedEncodingError",
    }
)
_RATE_LIMIT_NAMES = frozenset({"RateLimitError"})
_SERVER_NAMES = frozenset(
    {"InternalServerError", "OverloadedError", "ServiceUnavailableError", "ServerError"}
)
_CANCELLED_NAMES = frozenset({"CancelledError", "KeyboardInterrupt"})
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "ResponsibleAIPolicyViolation"})


def error_category(exc: BaseException, status: int | None = None) -> str:
    """``timeout``, ``connection``, ``rate_limit``, ``server``, ``client``, ``content_filter``,
    ``cancelled`` or ``other``, from the exception's class and its HTTP status.

    Works by class *names* along the MRO, so it covers openai, anthropic and google-genai in every
    supported major and the HTTP libraries under them (httpx, httpx2, aiohttp, requests) without
    importing any of them.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _CANCELLED_NAMES:
        return "cancelled"
    if _is_content_filter(exc):
        return "content_filter"
    if names & _TIMEOUT_NAMES or status == 408:
        return "timeout"
    if names & _RATE_LIMIT_NAMES or status == 429:
        return "rate_limit"
    if (status is not None and 500 <= status <= 599) or names & _SERVER_NAMES:
        return "server"
    if names & _CONNECTION_NAMES:
        return "connection"
    if status is not None and 400 <= status <= 499:
        return "client"
    return "other"


def _is_content_filter(exc: BaseException) -> bool:
    # Azure OpenAI: 400 with error code "content_filter" (prompt) and an innererror naming the policy.
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code in _FILTER_CODES:
        return True
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(error, dict):
            inner = error.get("innererror")
            if error.get("code") in _FILTER_CODES or (
                isinstance(inner, dict) and inner.get("code") in _FILTER_CODES
            ):
                return True
    return False


# Finish reasons that mean a provider content filter stopped the output (OpenAI/Azure, Gemini, Anthropic).
_FILTER_REASONS = frozenset(
    {
        "content_filter",
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "refusal",
    }
)


def derive_safety(record: dict[str, Any]) -> dict[str, bool]:
    """``safety`` from what the record already says: filter finish reasons, ``refusal`` parts of the
    output, and a ``content_filter`` error (adapters may set a more precise one before this runs)."""
    reasons = record.get("finish_reasons") or ()
    filtered = any(reason in _FILTER_REASONS for reason in reasons)
    error = record.get("error")
    if not filtered and isinstance(error, dict) and error.get("category") == "content_filter":
        filtered = True
    refusal = "refusal" in reasons
    if not refusal:
        for message in record.get("output_messages") or ():
            for part in message.get("parts") or () if isinstance(message, dict) else ():
                if isinstance(part, dict) and part.get("type") == "refusal":
                    refusal = True
                    break
    return {"content_filtered": filtered, "refusal": refusal}


# -- shared pieces -----------------------------------------------------------------------------------
def scope_fields(scope: Scope) -> dict[str, Any]:
    """The context fields of a record, as the record's own JSON-ready copies.

    Context values are kept as the application gave them; they become text here, on the worker
    (a value whose ``str()`` raises becomes a placeholder instead of an error).
    """
    return {
        "user_id": text_value(scope.user_id),
        "session_id": text_value(scope.session_id),
        "tenant_id": text_value(scope.tenant_id),
        "feature": text_value(scope.feature),
        "tags": [text_value(tag) for tag in scope.tags],
        "metadata": to_jsonable(scope.metadata) if scope.metadata else {},
        "prompt_name": text_value(scope.prompt_name),
        "prompt_version": text_value(scope.prompt_version),
        "variant": text_value(scope.variant),
    }


def retrieval_sources(value: Any) -> list[dict[str, Any]] | None:
    """``context(retrieval_sources=...)`` as ``[{"id", "content"}]``: dicts with ``id``/``content``
    (or ``text``/``page_content``), plain strings, or objects with those attributes."""
    if value is None:
        return None
    items = [value] if isinstance(value, str | bytes | dict) else value
    try:
        items = list(items)
    except TypeError:
        items = [items]
    sources: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            sources.append({"id": None, "content": item})
            continue
        ident = content = None
        for key in ("id", "doc_id", "node_id", "source"):
            ident = item.get(key) if isinstance(item, dict) else getattr(item, key, None)
            if ident is not None:
                break
        for key in ("content", "text", "page_content"):
            content = item.get(key) if isinstance(item, dict) else getattr(item, key, None)
            if content is not None:
                break
        if content is None and not isinstance(item, dict):
            content = item
        sources.append(
            {
                "id": text_value(ident) if ident is not None else None,
                "content": content if isinstance(content, str) else to_jsonable(content),
            }
        )
    return sources


def common_fields(
    kind: str, trace_id: str, span_id: str, parent_span_id: str | None, started_at: str, ended_at: str
) -> dict[str, Any]:
    """The fields every record starts with (``service_name``/``sdk_version`` are set by the monitor)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "record_id": record_id(),
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "started_at": started_at,
        "ended_at": ended_at,
    }


# -- content -----------------------------------------------------------------------------------------
# A base64 payload inside text (``data:`` URL); the summary keeps its media type and decoded size.
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*);base64,([A-Za-z0-9+/=]+)")
_MAX_DEPTH = 24


class ContentCopy:
    """Copies captured content into the record's own JSON-ready containers, on the worker.

    Every dict and list is new (redaction then rewrites the record in place without touching the
    application's objects); strings longer than ``limit`` characters are cut with a marker; base64
    ``data:`` URLs inside text become a short summary; anything that is not JSON data goes through
    :func:`~llm_monitor_sdk._convert.to_jsonable`. What was cut is counted for the record's
    ``truncated`` field.
    """

    __slots__ = ("binary", "chars", "limit", "parts")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts = 0
        self.chars = 0
        self.binary = 0

    def copy(self, value: Any, depth: int = 0) -> Any:
        """The record's own copy of ``value``."""
        kind = type(value)
        if kind is str:
            return self.text(value)
        if value is None or kind is int or kind is bool:
            return value
        if kind is float:
            return value if math.isfinite(value) else None
        if depth >= _MAX_DEPTH:
            return f"<{kind.__name__} nested too deep>"
        if kind is dict:
            return {
                (key if type(key) is str else to_jsonable({key: None}).popitem()[0]): self.copy(
                    item, depth + 1
                )
                for key, item in value.items()
            }
        if kind is list:
            return [self.copy(item, depth + 1) for item in value]
        return self.copy(to_jsonable(value), depth + 1)

    def text(self, text: str) -> str:
        """``text`` with ``data:`` payloads summarised and cut at the limit."""
        if "base64," in text:
            text = _DATA_URL.sub(self._summarise, text)
        limit = self.limit
        if limit and len(text) > limit:
            cut = len(text) - limit
            self.parts += 1
            self.chars += cut
            return f"{text[:limit]}...[truncated {cut} chars]"
        return text

    def _summarise(self, match: re.Match[str]) -> str:
        self.binary += 1
        size = len(match.group(3)) * 3 // 4
        return f"<data:{match.group(1) or 'application/octet-stream'};base64, {size} bytes>"

    def counts(self) -> dict[str, int] | None:
        """``{"parts", "chars", "binary"}`` when anything was cut or summarised, else None."""
        if not (self.parts or self.binary):
            return None
        return {"parts": self.parts, "chars": self.chars, "binary": self.binary}


_CONTENT_FIELDS = ("system_instructions", "input_messages", "output_messages")


# -- llm_call ----------------------------------------------------------------------------------------
def build_call_record(call: Call, max_content_chars: int = 0) -> dict[str, Any]:
    """The record of a finished call, before token estimation, pricing and redaction.

    Content is copied into the record's own containers, text parts cut at ``max_content_chars``
    (0: no limit).
    """
    adapter = call.adapter
    request = call.request
    provider = adapter.provider
    t_end = call.t_end if call.t_end is not None else call.t0
    latency_ms = (t_end - call.t0) * 1000.0
    error = call.blocked if call.blocked is not None else call.error
    if call.trace_id is None:
        call.trace_id = new_trace_id()
    if call.span_id is None:
        call.span_id = new_span_id()
    record = common_fields(
        "llm_call",
        call.trace_id,
        call.span_id,
        call.parent_span_id,
        iso(call.wall0),
        iso(call.wall0 + latency_ms / 1000.0),
    )
    record.update(
        {
            "provider": provider,
            "operation": adapter.operation,
            "api": call.api,
            "request_model": request.model if isinstance(request.model, str) else None,
            "response_model": None,
            "request_params": {},
            "stream": bool(request.stream),
            "status": call.status(),
            "error": error_info(error) if error is not None else None,
            "latency_ms": round(latency_ms, 3),
            "ttft_ms": round((call.t_first - call.t0) * 1000.0, 3) if call.t_first is not None else None,
            "usage": None,
            "cost_usd": None,
            "priced_model": None,
            "finish_reasons": [],
            "response_id": None,
            "request_id": None,
            "system_instructions": None,
            "input_messages": None,
            "output_messages": None,
        }
    )
    record.update(scope_fields(call.scope))
    record["partial"] = bool(request.stream) and not call.complete
    record["redactions"] = {}
    record["budget_alerts"] = []
    record["safety"] = None
    record["prompt_fingerprint"] = None
    # Each step is guarded on its own: a surprise in one part of a response never costs the record.
    with guard(f"{provider}.provider_name"):
        record["provider"] = adapter.provider_name(request)
    with guard(f"{provider}.fill_request"):
        adapter.fill_request(record, request)
    with guard(f"{provider}.messages"):
        record["system_instructions"], record["input_messages"] = call.input_messages()
    with guard(f"{provider}.fill_response"):
        if call.chunks is not None:
            adapter.fill_chunks(record, request, call.chunks, call.stream)
        elif call.response is not None:
            response = call.response
            if is_raw_response(response):
                record["request_id"] = header(response, adapter.request_id_header)
                response = raw_json(response)
            if response is not None:
                adapter.fill_response(record, request, response)
    if record["request_id"] is None and error is not None:
        # HTTP errors carry the provider's response (``exc.response``), request id header included.
        record["request_id"] = header(error, adapter.request_id_header)
    if record["safety"] is None:  # an adapter that knows better has set it already
        record["safety"] = derive_safety(record)
    content = ContentCopy(max_content_chars)
    with guard("record.content"):
        for name in _CONTENT_FIELDS:
            if record[name] is not None:
                record[name] = content.copy(record[name])
        scope = call.scope
        if scope.retrieval_sources is not None:
            record["retrieval_sources"] = content.copy(retrieval_sources(scope.retrieval_sources))
        if scope.reference is not None:
            record["reference"] = content.text(text_value(scope.reference) or "")
    truncated = content.counts()
    if truncated is not None:
        record["truncated"] = truncated
    return record


def has_output(record: dict[str, Any]) -> bool:
    """Whether the record's output messages carry any content (a message without any is no output)."""
    for message in record.get("output_messages") or ():
        for part in message.get("parts") or () if isinstance(message, dict) else ():
            if isinstance(part, dict) and (part.get("type") != "text" or part.get("content")):
                return True
    return False


def estimate_usage(record: dict[str, Any], provider: str, model: str | None) -> None:
    """Fill ``usage`` with an offline estimate (``source="estimated"``) when the provider gave none.

    Only for calls that reached the provider and got something back (a failed call spent nothing we
    can see).
    """
    output = has_output(record)
    if record["status"] == "error" and not output:
        return
    from . import tokens

    with guard("tokens.estimate"):
        system = record.get("system_instructions")
        inputs = [
            *([{"role": "system", "parts": system}] if system else []),
            *(record.get("input_messages") or []),
        ]
        input_tokens = tokens.count_messages(inputs, provider=provider, model=model) if inputs else 0
        outputs = (record.get("output_messages") or []) if output else []
        # The reply's text only: message overhead is a prompt-side cost (a cut-off "Sure. I wil" is the
        # tokens of that text, not 7 more).
        output_tokens = tokens.count_output(outputs, provider=provider, model=model) if outputs else 0
        if input_tokens or output_tokens:
            record["usage"] = usage(input_tokens, output_tokens, source="estimated")


# -- span --------------------------------------------------------------------------------------------
def build_span_record(span: _Span, t_end: float, max_content_chars: int = 0) -> dict[str, Any]:
    """The ``kind="span"`` record of a finished ``@observe`` span."""
    scope = span.scope
    latency_ms = (t_end - span.t0) * 1000.0
    error = span.error
    record = common_fields(
        "span",
        scope.trace_id or new_trace_id(),
        scope.span_id or new_span_id(),
        span.parent_span_id,
        iso(span.wall0),
        iso(span.wall0 + latency_ms / 1000.0),
    )
    record["name"] = span.name
    record["status"] = "error" if error is not None else "ok"
    record["error"] = error_info(error) if error is not None else None
    record["latency_ms"] = round(latency_ms, 3)
    content = ContentCopy(max_content_chars)
    record["input"] = content.copy(to_jsonable(span.inputs)) if span.inputs is not None else None
    record["output"] = content.copy(to_jsonable(span.output)) if span.output is not None else None
    record.update(scope_fields(scope))
    record["partial"] = False
    record["redactions"] = {}
    record["budget_alerts"] = []
    return record


__all__ = [
    "ContentCopy",
    "build_call_record",
    "build_span_record",
    "common_fields",
    "derive_safety",
    "error_category",
    "error_info",
    "estimate_usage",
    "has_output",
    "iso",
    "qualified_name",
    "record_id",
    "retrieval_sources",
    "scope_fields",
]
