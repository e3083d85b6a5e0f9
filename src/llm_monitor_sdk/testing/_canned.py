"""Routing: which provider endpoint a request is for, and the canned reply the knobs call for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import _anthropic, _gemini, _openai
from ._knobs import Knobs
from ._reply import Reply, json_reply

_Builder = Callable[[dict[str, Any], Knobs, str], Reply]

# path suffix -> (provider, operation, builder); longest suffixes first so /chat/completions wins
_SUFFIXES: tuple[tuple[str, str, str, _Builder], ...] = (
    ("/v1/messages/count_tokens", "anthropic", "messages.count_tokens", _anthropic.count_tokens),
    ("/v1/messages", "anthropic", "messages", _anthropic.messages),
    ("/chat/completions", "openai", "chat.completions", _openai.chat),
    ("/responses", "openai", "responses", _openai.responses),
    ("/completions", "openai", "completions", _openai.completions),
    ("/embeddings", "openai", "embeddings", _openai.embeddings),
)

_ERROR_BUILDERS = {"openai": _openai.error, "anthropic": _anthropic.error, "gemini": _gemini.error}

_MESSAGES = {
    400: "Invalid request (fake provider).",
    401: "Invalid API key (fake provider).",
    403: "Permission denied (fake provider).",
    404: "Not found (fake provider).",
    408: "Request timed out (fake provider).",
    409: "Conflict (fake provider).",
    413: "Request too large (fake provider).",
    422: "Unprocessable request (fake provider).",
    429: "Rate limit reached (fake provider).",
    529: "Overloaded (fake provider).",
}


@dataclass(frozen=True, slots=True)
class Route:
    """A recognised endpoint: provider, operation name, Gemini model (from the path), streaming flag."""

    provider: str
    operation: str
    model: str | None = None
    stream: bool = False
    sse: bool = True


def identify(method: str, path: str, query: str, body: dict[str, Any]) -> Route | None:
    """The endpoint for ``path`` (no query string), or ``None`` when nothing fakes it."""
    if method != "POST":
        return None
    for suffix, provider, operation, _ in _SUFFIXES:
        if path.endswith(suffix):
            return Route(provider, operation, stream=bool(body.get("stream")))
    match = _gemini.PATH.match(path)
    if match is None:
        return None
    gm = match["method"]
    return Route(
        "gemini", gm, model=match["model"], stream=gm == "streamGenerateContent", sse="alt=sse" in query
    )


def error(provider: str, knobs: Knobs, request_id: str, message: str | None = None) -> Reply:
    """The provider's real error body for ``knobs.status`` (plus ``retry-after`` when asked)."""
    text = message or knobs.error_message or _MESSAGES.get(knobs.status, "Internal error (fake provider).")
    reply = _ERROR_BUILDERS[provider](knobs, request_id, text)
    if knobs.retry_after is not None:
        reply.headers["retry-after"] = f"{knobs.retry_after:g}"
    return reply


def not_found(method: str, path: str, request_id: str) -> Reply:
    """404 for paths no provider serves (OpenAI-shaped body, the most common client)."""
    body = {
        "error": {
            "message": f"fake provider has no route for {method} {path}",
            "type": "invalid_request_error",
            "param": None,
            "code": "unknown_url",
        }
    }
    return json_reply(body, {"x-request-id": request_id}, status=404)


def render(route: Route, body: dict[str, Any], knobs: Knobs, request_id: str) -> Reply:
    """The success reply for ``route`` (knob errors and cuts are decided by the caller)."""
    if route.provider != "gemini":
        builder = next(b for suffix, _, op, b in _SUFFIXES if op == route.operation)
        return builder(body, knobs, request_id)
    model = route.model or "gemini"
    if route.operation == "generateContent":
        return _gemini.generate(model, knobs, request_id)
    if route.operation == "streamGenerateContent":
        return _gemini.stream(model, knobs, request_id, sse=route.sse)
    if route.operation == "countTokens":
        return _gemini.count_tokens(knobs, request_id)
    reply = _gemini.embed(route.operation, body, knobs, request_id)
    if reply is None:
        return error(
            "gemini",
            knobs.merged({"status": 404}),
            request_id,
            f"fake provider does not implement :{route.operation}",
        )
    return reply
