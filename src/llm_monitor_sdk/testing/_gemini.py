"""Gemini wire format (Gemini API and Vertex AI paths): generate, stream, embed, count, errors."""

from __future__ import annotations

import re
from typing import Any

from ._knobs import Knobs
from ._reply import Reply, json_reply, sse_data, sse_reply

#: ``/{version}/[projects/*/locations/*/][publishers/google/]models/{model}:{method}``
PATH = re.compile(
    r"^/(?:v1|v1beta|v1alpha|v1beta1)/(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?"
    r"(?:models|tunedModels)/(?P<model>[^:/]+):(?P<method>[A-Za-z]+)$"
)

_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    529: "UNAVAILABLE",
}


def headers(request_id: str) -> dict[str, str]:
    """Response headers every Gemini reply carries."""
    return {"x-request-id": request_id, "server": "scaffolding on HTTPServer2"}


def error(k: Knobs, request_id: str, message: str) -> Reply:
    """``{"error": {"code", "message", "status"}}``."""
    status = k.error_type or _STATUSES.get(k.status, "UNKNOWN")
    return json_reply(
        {"error": {"code": k.status, "message": message, "status": status}},
        headers(request_id),
        status=k.status,
    )


def _usage(k: Knobs, candidates: int | None) -> dict[str, Any]:
    """``usageMetadata``; zero-valued optional counts are left out, as the real API does."""
    total = k.input_tokens + (candidates or 0) + k.reasoning_tokens
    usage: dict[str, Any] = {
        "promptTokenCount": k.input_tokens,
        "totalTokenCount": total,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": k.input_tokens}],
    }
    if candidates is not None:
        usage["candidatesTokenCount"] = candidates
    if k.cached_tokens:
        usage["cachedContentTokenCount"] = k.cached_tokens
    if k.reasoning_tokens:
        usage["thoughtsTokenCount"] = k.reasoning_tokens
    return usage


def _chunk(
    model: str, rid: str, parts: list[dict[str, Any]], usage: dict[str, Any] | None, finish: str | None = None
) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [cand], "modelVersion": model, "responseId": rid}
    if usage is not None:
        out["usageMetadata"] = usage
    return out


def _call_parts(k: Knobs) -> list[dict[str, Any]]:
    return [
        {"functionCall": {"name": c.name, "args": dict(c.arguments), **({"id": c.id} if c.id else {})}}
        for c in k.tool_calls
    ]


def generate(model: str, k: Knobs, rid: str) -> Reply:
    """``:generateContent``."""
    parts: list[dict[str, Any]] = [{"text": k.thinking, "thought": True}] if k.thinking else []
    if k.text or not k.tool_calls:
        parts.append({"text": k.text})
    parts += _call_parts(k)
    usage = _usage(k, k.completion_tokens) if k.usage else None
    return json_reply(_chunk(model, rid, parts, usage, k.finish_reason or "STOP"), headers(rid))


def stream(model: str, k: Knobs, rid: str, sse: bool) -> Reply:
    """``:streamGenerateContent``: a running usage on every chunk, the finish reason on the last.

    With ``alt=sse`` (what the SDK sends) chunks are SSE events; without it the API returns one
    JSON array, which this reproduces.
    """
    steps: list[list[dict[str, Any]]] = [[{"text": k.thinking, "thought": True}]] if k.thinking else []
    steps += [[{"text": p}] for p in k.pieces()]
    if k.tool_calls:
        steps.append(_call_parts(k))
    if not steps:
        steps.append([{"text": ""}])
    out_total = k.completion_tokens
    chunks = []
    for i, parts in enumerate(steps):
        last = i == len(steps) - 1
        running = max(1, out_total * (i + 1) // len(steps))
        usage = _usage(k, running) if k.usage else None
        chunks.append(_chunk(model, rid, parts, usage, (k.finish_reason or "STOP") if last else None))
    if sse:
        return sse_reply((sse_data(c, sep="\r\n\r\n") for c in chunks), headers(rid))
    return json_reply(chunks, headers(rid))


def _vector(body: dict[str, Any]) -> list[float]:
    dims = body.get("outputDimensionality")
    return [round(0.1 * (d + 1), 3) for d in range(dims if isinstance(dims, int) and dims > 0 else 3)]


def embed(method: str, body: dict[str, Any], k: Knobs, rid: str) -> Reply | None:
    """``:embedContent``, ``:batchEmbedContents`` and Vertex ``:predict``; ``None`` for other methods."""
    if method == "embedContent":
        return json_reply({"embedding": {"values": _vector(body)}}, headers(rid))
    if method == "batchEmbedContents":
        reqs = body.get("requests") or [{}]
        return json_reply({"embeddings": [{"values": _vector(r)} for r in reqs]}, headers(rid))
    if method == "predict":
        params = body.get("parameters") or {}
        stats = {"token_count": k.input_tokens, "truncated": False}
        preds = [
            {"embeddings": {"values": _vector(params), "statistics": stats}}
            for _ in body.get("instances") or [{}]
        ]
        return json_reply(
            {"predictions": preds, "metadata": {"billableCharacterCount": k.input_tokens}}, headers(rid)
        )
    return None


def count_tokens(k: Knobs, rid: str) -> Reply:
    """``:countTokens``."""
    return json_reply({"totalTokens": k.input_tokens}, headers(rid))
