"""The knobs that shape one fake reply, and how layers of them combine.

A reply is built from three layers, later ones winning: the provider's defaults
(``FakeProvider(**knobs)`` / ``configure``), a queued one-shot behaviour (``once``,
``fail_next``, ``cut_next``), and the ``x-fake-provider`` request header (JSON), which lets
concurrent tests share one server without racing each other.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Request header carrying per-request knob overrides as a JSON object.
HEADER = "x-fake-provider"

_ERROR_STATUSES = frozenset({400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function/tool call the fake model "decides" to make.

    ``arguments`` is sent as a JSON string (OpenAI), an ``input`` object (Anthropic) or
    ``args`` (Gemini), exactly as each provider does.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None

    @classmethod
    def coerce(cls, value: ToolCall | Mapping[str, Any]) -> ToolCall:
        """Accept a ``ToolCall`` or a ``{"name", "arguments"?, "id"?}`` mapping."""
        if isinstance(value, ToolCall):
            return value
        if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
            raise ValueError(f"tool call must be a ToolCall or a mapping with a 'name': {value!r}")
        unknown = set(value) - {"name", "arguments", "id"}
        if unknown:
            raise ValueError(f"unknown tool call keys {sorted(unknown)}")
        args = value.get("arguments") or {}
        if not isinstance(args, Mapping):
            raise ValueError(f"tool call arguments must be a mapping: {args!r}")
        return cls(name=value["name"], arguments=dict(args), id=value.get("id"))


@dataclass(frozen=True, slots=True)
class Knobs:
    """Everything that shapes one fake reply. All fields are optional keyword knobs.

    Token counts are placed verbatim in each provider's own usage fields (for example
    ``cached_tokens`` becomes OpenAI ``prompt_tokens_details.cached_tokens``, Anthropic
    ``cache_read_input_tokens`` and Gemini ``cachedContentTokenCount``).
    """

    #: The assistant text, streamed in ``chunks`` pieces.
    text: str = "Hello!"
    #: How many content deltas a stream splits ``text`` into (at most one per character).
    chunks: int = 2
    #: Whether replies carry usage (token counts). Anthropic streams always do, as the real API.
    usage: bool = True
    input_tokens: int = 12
    #: ``None`` derives a count from the text (about four characters per token).
    output_tokens: int | None = None
    cached_tokens: int = 0
    #: Anthropic ``cache_creation_input_tokens``.
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    #: Seconds before the JSON reply; for streams, before the first event (after the headers).
    delay: float = 0.0
    #: Seconds between stream events.
    chunk_delay: float = 0.0
    #: HTTP status; 4xx/5xx replies carry the provider's error body.
    status: int = 200
    error_message: str | None = None
    #: Overrides the provider's error type/code/status string (e.g. ``"insufficient_quota"``).
    error_type: str | None = None
    #: Seconds for the ``retry-after`` header on error replies.
    retry_after: float | None = None
    #: Close the connection after this many stream events, without the terminator.
    #: On a non-streaming request the connection closes before any reply.
    cut_after: int | None = None
    #: The provider's raw finish/stop reason (``"length"``, ``"max_tokens"``, ``"SAFETY"``...).
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    #: Reasoning text: Anthropic ``thinking`` blocks and Gemini ``thought`` parts.
    thinking: str | None = None
    #: Fixed request id instead of a fresh one per request.
    request_id: str | None = None

    def __post_init__(self) -> None:
        calls = tuple(ToolCall.coerce(c) for c in (self.tool_calls or ()))
        object.__setattr__(self, "tool_calls", calls)
        _check(isinstance(self.text, str), "text must be a string")
        for name in ("chunks", "input_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens"):
            value = getattr(self, name)
            _check(
                isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                f"{name} must be a non-negative int, got {value!r}",
            )
        _check(self.chunks >= 1, "chunks must be >= 1")
        _check(
            self.output_tokens is None or (isinstance(self.output_tokens, int) and self.output_tokens >= 0),
            f"output_tokens must be None or a non-negative int, got {self.output_tokens!r}",
        )
        for name in ("delay", "chunk_delay"):
            value = getattr(self, name)
            _check(
                isinstance(value, int | float) and value >= 0, f"{name} must be >= 0 seconds, got {value!r}"
            )
        _check(
            self.status == 200 or self.status in _ERROR_STATUSES,
            f"status must be 200 or one of {sorted(_ERROR_STATUSES)}, got {self.status!r}",
        )
        _check(
            self.cut_after is None or (isinstance(self.cut_after, int) and self.cut_after >= 0),
            f"cut_after must be None or a non-negative int, got {self.cut_after!r}",
        )
        _check(
            self.retry_after is None or (isinstance(self.retry_after, int | float) and self.retry_after >= 0),
            f"retry_after must be None or >= 0, got {self.retry_after!r}",
        )

    @property
    def is_error(self) -> bool:
        """True when this reply is an HTTP error."""
        return self.status >= 400

    @property
    def completion_tokens(self) -> int:
        """``output_tokens`` or a count derived from the text."""
        if self.output_tokens is not None:
            return self.output_tokens
        return max(1, (len(self.text) + 3) // 4)

    def pieces(self) -> list[str]:
        """``text`` split into ``chunks`` near-equal, non-empty pieces (fewer if the text is short)."""
        text = self.text
        if not text:
            return []
        n = min(self.chunks, len(text))
        size, extra = divmod(len(text), n)
        out, pos = [], 0
        for i in range(n):
            end = pos + size + (1 if i < extra else 0)
            out.append(text[pos:end])
            pos = end
        return out

    def merged(self, overrides: Mapping[str, Any]) -> Knobs:
        """A copy with ``overrides`` applied (validated; unknown names raise ``ValueError``)."""
        if not overrides:
            return self
        check_names(overrides)
        return dataclasses.replace(self, **overrides)


KNOB_NAMES = frozenset(f.name for f in dataclasses.fields(Knobs))


def check_names(overrides: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming any key that is not a knob."""
    unknown = set(overrides) - KNOB_NAMES
    if unknown:
        raise ValueError(f"unknown fake provider knob(s) {sorted(unknown)}; known: {sorted(KNOB_NAMES)}")


def parse_header(value: str) -> dict[str, Any]:
    """Parse the ``x-fake-provider`` header; raise ``ValueError`` with a readable reason."""
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise ValueError(f"{HEADER} header is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{HEADER} header must be a JSON object, got {type(data).__name__}")
    check_names(data)
    return data


def fake_headers(**knobs: Any) -> dict[str, str]:
    """Headers that apply ``knobs`` to one request only, e.g. ``extra_headers=fake_headers(status=429)``.

    ``ToolCall`` values are converted to plain mappings so the header is valid JSON.
    """
    check_names(knobs)
    Knobs().merged(knobs)  # validate now, in the test, rather than as a 400 from the server
    calls = knobs.get("tool_calls")
    if calls:
        knobs["tool_calls"] = [_call_as_dict(ToolCall.coerce(c)) for c in calls]
    return {HEADER: json.dumps(knobs, separators=(",", ":"))}


def _call_as_dict(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {"name": call.name, "arguments": dict(call.arguments)}
    if call.id is not None:
        out["id"] = call.id
    return out


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
