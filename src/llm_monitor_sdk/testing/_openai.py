"""OpenAI wire format: chat completions, Responses, legacy completions, embeddings, errors."""

from __future__ import annotations

import base64
import struct
from typing import Any

from ._knobs import Knobs
from ._reply import Reply, dumps, json_reply, sse_data, sse_named, sse_reply

CREATED = 1700000000
_DONE = b"data: [DONE]\n\n"

# status -> (error.type, error.code) as the real API sends them
_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def headers(request_id: str) -> dict[str, str]:
    """Response headers every OpenAI reply carries."""
    return {"x-request-id": request_id, "openai-processing-ms": "1", "openai-version": "2020-10-01"}


def error(k: Knobs, request_id: str, message: str) -> Reply:
    """``{"error": {"message", "type", "param", "code"}}`` with the status's real type and code."""
    etype, code = _ERRORS.get(k.status, ("server_error", None))
    if k.error_type:
        etype = code = k.error_type
    body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
    return json_reply(body, headers(request_id), status=k.status)


def _n(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and n > 0 else 1


def _include_usage(body: dict[str, Any], k: Knobs) -> bool:
    return k.usage and bool((body.get("stream_options") or {}).get("include_usage"))


# ---------------------------------------------------------------- chat completions
def _chat_usage(k: Knobs, n: int) -> dict[str, Any]:
    out = k.completion_tokens * n
    return {
        "prompt_tokens": k.input_tokens,
        "completion_tokens": out,
        "total_tokens": k.input_tokens + out,
        "prompt_tokens_details": {"cached_tokens": k.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": k.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _call_id(k: Knobs, j: int) -> str:
    return k.tool_calls[j].id or f"call_fake{j}"


def _chat_finish(k: Knobs) -> str:
    return k.finish_reason or ("tool_calls" if k.tool_calls else "stop")


def chat(body: dict[str, Any], k: Knobs, request_id: str) -> Reply:
    """``POST /v1/chat/completions``: JSON, or SSE chunks honouring ``n`` and ``stream_options``."""
    model = body.get("model") or "gpt-4o-mini"
    n, finish = _n(body), _chat_finish(k)
    cid = f"chatcmpl-{request_id}"
    if not body.get("stream"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": k.text if k.text or not k.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if k.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(k, j),
                    "type": "function",
                    "function": {"name": c.name, "arguments": dumps(dict(c.arguments))},
                }
                for j, c in enumerate(k.tool_calls)
            ]
        obj: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(n)
            ],
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
        }
        if k.usage:
            obj["usage"] = _chat_usage(k, n)
        return json_reply(obj, headers(request_id))

    with_usage = _include_usage(body, k)
    base = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
    }

    def chunk(i: int, delta: dict[str, Any], reason: str | None = None) -> bytes:
        c = dict(base, choices=[{"index": i, "delta": delta, "logprobs": None, "finish_reason": reason}])
        if with_usage:
            c["usage"] = None  # the real API marks every non-final chunk like this
        return sse_data(c)

    events = [chunk(i, {"role": "assistant", "content": "", "refusal": None}) for i in range(n)]
    events += [chunk(i, {"content": piece}) for piece in k.pieces() for i in range(n)]
    for j, c in enumerate(k.tool_calls):
        args = dumps(dict(c.arguments))
        for i in range(n):
            events.append(
                chunk(
                    i,
                    {
                        "tool_calls": [
                            {
                                "index": j,
                                "id": _call_id(k, j),
                                "type": "function",
                                "function": {"name": c.name, "arguments": ""},
                            }
                        ]
                    },
                )
            )
            events.append(chunk(i, {"tool_calls": [{"index": j, "function": {"arguments": args}}]}))
    events += [chunk(i, {}, finish) for i in range(n)]
    if with_usage:
        events.append(sse_data(dict(base, choices=[], usage=_chat_usage(k, n))))
    return sse_reply(events, headers(request_id), terminator=_DONE)


# ---------------------------------------------------------------- legacy completions
def completions(body: dict[str, Any], k: Knobs, request_id: str) -> Reply:
    """``POST /v1/completions`` (legacy text completions)."""
    model = body.get("model") or "gpt-3.5-turbo-instruct"
    n, finish = _n(body), k.finish_reason or "stop"
    out = k.completion_tokens * n
    usage = {"prompt_tokens": k.input_tokens, "completion_tokens": out, "total_tokens": k.input_tokens + out}
    base = {
        "id": f"cmpl-{request_id}",
        "object": "text_completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_fake",
    }
    if not body.get("stream"):
        obj = dict(
            base,
            choices=[
                {"text": k.text, "index": i, "logprobs": None, "finish_reason": finish} for i in range(n)
            ],
        )
        if k.usage:
            obj["usage"] = usage
        return json_reply(obj, headers(request_id))
    pieces = k.pieces() or [""]
    events = [
        sse_data(
            dict(
                base,
                choices=[
                    {"text": p, "index": i, "logprobs": None, "finish_reason": finish if last else None}
                ],
            )
        )
        for pos, p in enumerate(pieces)
        for last in [pos == len(pieces) - 1]
        for i in range(n)
    ]
    if _include_usage(body, k):
        events.append(sse_data(dict(base, choices=[], usage=usage)))
    return sse_reply(events, headers(request_id), terminator=_DONE)


# ---------------------------------------------------------------- embeddings
def embeddings(body: dict[str, Any], k: Knobs, request_id: str) -> Reply:
    """``POST /v1/embeddings``; honours ``dimensions`` and ``encoding_format="base64"`` (the SDK's default)."""
    raw = body.get("input")
    count = len(raw) if isinstance(raw, list) and raw and isinstance(raw[0], str | list) else 1
    requested = body.get("dimensions")
    dims = requested if isinstance(requested, int) and requested > 0 else 3
    vector = [round(0.1 * (d + 1), 3) for d in range(dims)]
    value: Any = vector
    if body.get("encoding_format") == "base64":
        value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
    obj: dict[str, Any] = {
        "object": "list",
        "model": body.get("model") or "text-embedding-3-small",
        "data": [{"object": "embedding", "index": i, "embedding": value} for i in range(count)],
    }
    if k.usage:
        obj["usage"] = {"prompt_tokens": k.input_tokens, "total_tokens": k.input_tokens}
    return json_reply(obj, headers(request_id))


# ---------------------------------------------------------------- Responses API
_INCOMPLETE = {
    "length": "max_output_tokens",
    "max_output_tokens": "max_output_tokens",
    "content_filter": "content_filter",
}


def _responses_usage(k: Knobs) -> dict[str, Any]:
    out = k.completion_tokens
    return {
        "input_tokens": k.input_tokens,
        "input_tokens_details": {"cached_tokens": k.cached_tokens},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": k.reasoning_tokens},
        "total_tokens": k.input_tokens + out,
    }


def _response(
    body: dict[str, Any],
    k: Knobs,
    rid: str,
    status: str,
    output: list[Any],
    usage: dict[str, Any] | None,
    incomplete: str | None = None,
) -> dict[str, Any]:
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": body.get("model") or "gpt-4.1-mini",
        "output": output,
        "usage": usage,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "reasoning": None,
        "previous_response_id": body.get("previous_response_id"),
        "service_tier": "default",
        "store": True,
        "truncation": "disabled",
        "user": None,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _output_items(k: Knobs, status: str) -> list[dict[str, Any]]:
    """Final output items: reasoning (if ``thinking``), the message (if text), then function calls."""
    items: list[dict[str, Any]] = []
    if k.thinking:
        items.append(
            {"type": "reasoning", "id": "rs_fake0", "summary": [{"type": "summary_text", "text": k.thinking}]}
        )
    if k.text:
        items.append(
            {
                "type": "message",
                "id": "msg_fake0",
                "status": status,
                "role": "assistant",
                "content": [_text_part(k.text)],
            }
        )
    for j, c in enumerate(k.tool_calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_fake{j}",
                "call_id": _call_id(k, j),
                "name": c.name,
                "arguments": dumps(dict(c.arguments)),
                "status": "completed",
            }
        )
    return items


def responses(body: dict[str, Any], k: Knobs, request_id: str) -> Reply:
    """``POST /v1/responses``: JSON, or the full event sequence ending in ``response.completed``.

    A ``finish_reason`` of ``length``/``max_output_tokens``/``content_filter`` makes the response
    ``incomplete`` (and the stream end in ``response.incomplete``), as the real API does.
    """
    incomplete = _INCOMPLETE.get(k.finish_reason or "")
    final_status = "incomplete" if incomplete else "completed"
    usage = _responses_usage(k) if k.usage else None
    items = _output_items(k, final_status)
    if not body.get("stream"):
        return json_reply(
            _response(body, k, request_id, final_status, items, usage, incomplete), headers(request_id)
        )

    pending = _response(body, k, request_id, "in_progress", [], None)
    evs: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for idx, item in enumerate(items):
        evs.extend(_item_events(k, item, idx))
    end_type = "response.incomplete" if incomplete else "response.completed"
    evs.append(
        {"type": end_type, "response": _response(body, k, request_id, final_status, items, usage, incomplete)}
    )
    for seq, ev in enumerate(evs):
        ev["sequence_number"] = seq
    return sse_reply((sse_named(ev) for ev in evs), headers(request_id))


def _item_events(k: Knobs, item: dict[str, Any], idx: int) -> list[dict[str, Any]]:
    """``output_item.added`` ... ``output_item.done`` for one output item."""
    kind = item["type"]
    if kind == "message":
        started = dict(item, status="in_progress", content=[])
        at = {"item_id": item["id"], "output_index": idx, "content_index": 0}
        evs: list[dict[str, Any]] = [
            {"type": "response.output_item.added", "output_index": idx, "item": started},
            dict(at, type="response.content_part.added", part=_text_part("")),
        ]
        evs += [dict(at, type="response.output_text.delta", delta=p, logprobs=[]) for p in k.pieces()]
        evs += [
            dict(at, type="response.output_text.done", text=k.text, logprobs=[]),
            dict(at, type="response.content_part.done", part=_text_part(k.text)),
        ]
    elif kind == "function_call":
        at = {"item_id": item["id"], "output_index": idx}
        evs = [
            {
                "type": "response.output_item.added",
                "output_index": idx,
                "item": dict(item, arguments="", status="in_progress"),
            },
            dict(at, type="response.function_call_arguments.delta", delta=item["arguments"]),
            dict(
                at,
                type="response.function_call_arguments.done",
                arguments=item["arguments"],
                name=item["name"],
            ),
        ]
    else:  # reasoning: announced and finished whole
        evs = [{"type": "response.output_item.added", "output_index": idx, "item": dict(item, summary=[])}]
    evs.append({"type": "response.output_item.done", "output_index": idx, "item": item})
    return evs
