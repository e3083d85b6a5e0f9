"""Anthropic wire format: Messages (JSON and SSE), token counting, errors."""

from __future__ import annotations

from typing import Any

from ._knobs import Knobs
from ._reply import Reply, dumps, json_reply, sse_named, sse_reply

_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_SIGNATURE = "ZmFrZS1zaWduYXR1cmU="


def headers(request_id: str) -> dict[str, str]:
    """Response headers every Anthropic reply carries."""
    return {"request-id": request_id, "anthropic-organization-id": "fake-org"}


def error(k: Knobs, request_id: str, message: str) -> Reply:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    etype = k.error_type or _ERRORS.get(k.status, "api_error")
    body = {"type": "error", "error": {"type": etype, "message": message}, "request_id": request_id}
    return json_reply(body, headers(request_id), status=k.status)


def _usage(k: Knobs, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": k.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": k.cache_write_tokens,
        "cache_read_input_tokens": k.cached_tokens,
        "service_tier": "standard",
    }


def _blocks(k: Knobs) -> list[dict[str, Any]]:
    """Final content blocks: thinking, text, tool uses (the order Claude emits them)."""
    blocks: list[dict[str, Any]] = []
    if k.thinking:
        blocks.append({"type": "thinking", "thinking": k.thinking, "signature": _SIGNATURE})
    if k.text or not k.tool_calls:
        blocks.append({"type": "text", "text": k.text})
    for j, c in enumerate(k.tool_calls):
        blocks.append(
            {"type": "tool_use", "id": c.id or f"toolu_fake{j}", "name": c.name, "input": dict(c.arguments)}
        )
    return blocks


def messages(body: dict[str, Any], k: Knobs, request_id: str) -> Reply:
    """``POST /v1/messages`` (also ``?beta=true``)."""
    msg: dict[str, Any] = {
        "id": f"msg_{request_id}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-sonnet-4-5",
        "content": _blocks(k),
        "stop_reason": k.finish_reason or ("tool_use" if k.tool_calls else "end_turn"),
        "stop_sequence": None,
    }
    if k.usage:
        msg["usage"] = _usage(k, k.completion_tokens)
    if not body.get("stream"):
        return json_reply(msg, headers(request_id))

    # Streams always carry usage: the API never omits it there and the SDK's stream helper
    # (``messages.stream``) crashes without it, so ``usage=False`` only affects JSON replies.
    start = dict(msg, content=[], stop_reason=None, usage=_usage(k, 1))  # real start reports ~1 output token
    evs: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for idx, block in enumerate(msg["content"]):
        evs.extend(_block_events(k, block, idx))
        if idx == 0:
            evs.append({"type": "ping"})
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": k.completion_tokens},
    }
    evs += [delta, {"type": "message_stop"}]
    return sse_reply((sse_named(e) for e in evs), headers(request_id))


def _block_events(k: Knobs, block: dict[str, Any], idx: int) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in k.pieces()]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": block["signature"]},
        ]
    else:
        start = dict(block, input={})
        raw = dumps(block["input"])
        half = len(raw) // 2
        deltas = [
            {"type": "input_json_delta", "partial_json": part} for part in (raw[:half], raw[half:]) if part
        ]
    return [
        {"type": "content_block_start", "index": idx, "content_block": start},
        *({"type": "content_block_delta", "index": idx, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": idx},
    ]


def count_tokens(body: dict[str, Any], k: Knobs, request_id: str) -> Reply:
    """``POST /v1/messages/count_tokens``."""
    return json_reply({"input_tokens": k.input_tokens}, headers(request_id))
