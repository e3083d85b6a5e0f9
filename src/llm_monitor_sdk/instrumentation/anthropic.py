"""Anthropic: patch targets and adapters (Messages, beta Messages, legacy Text Completions).

Same targets in anthropic 0.x (httpx) and 1.x/2.x (httpx2). ``messages.create`` and ``.parse`` post
by themselves and are patched like any call. ``messages.stream()`` returns a manager that posts in
its own ``__enter__`` (not through ``create``): the shared manager proxy starts the call there
(``self_posting``) and :func:`_watch_helper` swaps the helper's raw event stream for a watched one
before anything reads it, so ``text_stream``, ``get_final_message()`` and ``until_done()`` all feed
the record. Adapters read SDK objects and raw JSON dicts alike (:func:`field`). The SDK's own
OpenTelemetry tracing (1.0+) is left as the user configured it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .._convert import to_jsonable
from ..record import UsageDict
from ..record import usage as make_usage
from ._call import Adapter, CallSink, ManagedSlot, Request
from ._helpers import field, header, is_given, params
from ._registry import Target
from ._stream import manager_wrapper, wrap_stream

_MESSAGES_MODULE = "anthropic.resources.messages.messages"
_BETA_MESSAGES_MODULE = "anthropic.resources.beta.messages.messages"
_COMPLETIONS_MODULE = "anthropic.resources.completions"  # 0.x only

_REQUEST_ID_HEADER = "request-id"

_MESSAGES_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
    "service_tier",
    "output_format",
    "output_config",
    "container",
    "mcp_servers",
    "context_management",
    "betas",
    "inference_geo",
    "speed",
)
# Content blocks whose model-side results come back in the same response (web search, code execution...).
_SERVER_TOOL_USES = ("server_tool_use", "mcp_tool_use")
# Stream deltas that carry output content (the TTFT clock stops at the first).
_CONTENT_DELTAS = ("text_delta", "thinking_delta", "input_json_delta")
# Content deltas kept compact by the chunk sink: delta type -> (its text field, the block state key).
_COMPACT_DELTAS = {
    "text_delta": ("text", "text"),
    "thinking_delta": ("thinking", "thinking"),
    "input_json_delta": ("partial_json", "json"),
}


# -- shared readers -------------------------------------------------------------------------------
def provider_for(instance: Any) -> str:
    """``aws.bedrock`` / ``gcp.vertex_ai`` for the Bedrock and Vertex AI clients, else ``anthropic``."""
    name = type(getattr(instance, "_client", None)).__name__
    if "Bedrock" in name:
        return "aws.bedrock"
    if "Vertex" in name:
        return "gcp.vertex_ai"
    return "anthropic"


def _text(content: Any) -> Any:
    """A tool result's or document's content as text: a string as is, text blocks joined."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return "".join(field(block, "text") or "" for block in content if field(block, "type") == "text")
    return to_jsonable(content)


def _source_part(source: Any, modality: str) -> dict[str, Any]:
    # Never carry base64 payloads into a record: inline data becomes its type and size.
    kind = field(source, "type")
    if kind == "base64":
        data = field(source, "data")
        size = len(data) * 3 // 4 if isinstance(data, str | bytes) else None
        return {
            "type": "blob",
            "modality": modality,
            "mime_type": field(source, "media_type"),
            "size_bytes": size,
        }
    if kind == "url":
        return {"type": "uri", "modality": modality, "uri": field(source, "url")}
    if kind == "file":
        return {"type": "file", "modality": modality, "file_id": field(source, "file_id")}
    if kind == "text":  # a plain-text document is text the model reads
        return {"type": "text", "content": field(source, "data") or ""}
    if kind == "content":
        return {"type": "text", "content": _text(field(source, "content")) or ""}
    return {"type": "generic", "generic_type": f"{modality}:{kind}"}


def _block_part(block: Any) -> dict[str, Any]:
    """One content block (request or response side) in the OTel part shape."""
    if isinstance(block, str):
        return {"type": "text", "content": block}
    kind = field(block, "type")
    if kind == "text":
        return {"type": "text", "content": field(block, "text") or ""}
    if kind == "thinking":
        return {"type": "reasoning", "content": field(block, "thinking") or ""}
    if kind == "redacted_thinking":  # encrypted by the provider: there is no text to record
        return {"type": "reasoning", "content": None}
    if kind == "tool_use":
        return {
            "type": "tool_call",
            "id": field(block, "id"),
            "name": field(block, "name"),
            "arguments": to_jsonable(field(block, "input")),
        }
    if kind in _SERVER_TOOL_USES:
        return {
            "type": "server_tool_call",
            "id": field(block, "id"),
            "name": field(block, "name"),
            "arguments": to_jsonable(field(block, "input")),
        }
    if kind == "tool_result":
        return {
            "type": "tool_call_response",
            "id": field(block, "tool_use_id"),
            "response": _text(field(block, "content")),
        }
    if isinstance(kind, str) and kind.endswith("_tool_result"):  # web_search_tool_result, mcp_tool_result...
        return {"type": "server_tool_call_response", "id": field(block, "tool_use_id"), "name": kind}
    if kind == "image":
        return _source_part(field(block, "source"), "image")
    if kind == "document":
        return _source_part(field(block, "source"), "document")
    return {"type": "generic", "generic_type": str(kind)}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    return [_block_part(block) for block in content]


def _system(system: Any) -> list[dict[str, Any]] | None:
    if system is None or not is_given(system):
        return None
    parts = [part for part in _parts(system) if part["type"] == "text"]
    return parts or None


def _usage(usage: Any) -> UsageDict | None:
    """Anthropic usage in the record's shape: ``input_tokens`` counts cache reads and writes too."""
    if usage is None:
        return None
    base = field(usage, "input_tokens")
    output = field(usage, "output_tokens")
    if base is None and output is None:
        return None
    cache_read = field(usage, "cache_read_input_tokens") or 0
    cache_write = field(usage, "cache_creation_input_tokens") or 0
    inputs = (base or 0) + cache_read + cache_write
    # Anthropic counts thinking inside output_tokens without a split: no reasoning count.
    return make_usage(inputs, output or 0, cache_read=cache_read, cache_write=cache_write)


def _request_id(record: dict[str, Any], response: Any, stream: Any = None) -> None:
    # A raw response's dict has no ``_request_id``: the lifecycle already took it from the header.
    request_id = (
        field(response, "_request_id") if response is not None and not isinstance(response, dict) else None
    )
    if not request_id and stream is not None:
        request_id = header(stream, _REQUEST_ID_HEADER)
    if request_id:
        record["request_id"] = request_id


def _decode_json(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text  # a stream cut inside the arguments: keep what arrived


class _AnthropicAdapter(Adapter):
    provider = "anthropic"
    request_id_header = _REQUEST_ID_HEADER

    def provider_name(self, request: Request) -> str:
        return provider_for(request.instance)

    def fill_request(self, record: dict[str, Any], request: Request) -> None:
        record["request_params"] = params(request.kwargs, self.param_keys)


# -- messages ---------------------------------------------------------------------------------------
class MessagesAdapter(_AnthropicAdapter):
    """``messages.create`` / ``.parse`` / ``.stream`` (and their ``beta`` equivalents).

    ``always_stream`` marks the ``.stream()`` helper, whose kwargs carry no ``stream=True``.
    """

    operation = "chat"
    param_keys = _MESSAGES_PARAMS
    snapshot_keys = ("messages",)

    def __init__(self, api: str = "messages.create", *, always_stream: bool = False) -> None:
        self.api = api
        self.always_stream = always_stream

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink) -> Request:
        request = super().begin(instance, args, kwargs, sink)
        if self.always_stream:
            request.stream = True
        return request

    def is_content_chunk(self, chunk: Any) -> bool:
        kind = field(chunk, "type")
        if kind == "content_block_delta":
            return field(field(chunk, "delta"), "type") in _CONTENT_DELTAS
        if kind == "content_block_start":
            return field(field(chunk, "content_block"), "type") in ("tool_use", *_SERVER_TOOL_USES)
        return False

    def chunk_sink(self, chunks: list[Any]) -> Callable[[Any], None]:
        """Content deltas are kept compact: a text delta of block 0 as its text (a ``str``), other text,
        thinking and tool-input deltas as ``(index, state key, text)``; every other event whole."""
        append = chunks.append
        compact = _COMPACT_DELTAS

        def keep(event: Any) -> None:
            try:
                values = event.__dict__
                if values["type"] == "content_block_delta":
                    delta = values["delta"].__dict__
                    kind = delta["type"]
                    if kind == "text_delta":  # the common case first: no table lookup
                        text = delta["text"]
                        if type(text) is str:
                            index = values["index"]
                            append((index, "text", text) if index else text)
                            return
                    elif kind in compact:
                        name, key = compact[kind]
                        text = delta[name]
                        if type(text) is str:
                            append((values["index"], key, text))
                            return
            except (AttributeError, KeyError, TypeError):
                pass
            append(event)

        return keep

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        converted = [
            {"role": field(message, "role") or "user", "parts": _parts(field(message, "content"))}
            for message in (request.snapshot or {}).get("messages") or ()
        ]
        return _system(request.kwargs.get("system")), converted

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = field(response, "model")
        record["response_id"] = field(response, "id")
        _request_id(record, response)
        reason = field(response, "stop_reason")
        reason = reason if isinstance(reason, str) else None
        record["finish_reasons"] = [reason] if reason else []
        record["output_messages"] = [
            {
                "role": field(response, "role") or "assistant",
                "parts": _parts(field(response, "content")),
                "finish_reason": reason,
            }
        ]
        record["usage"] = _usage(field(response, "usage"))

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        _request_id(record, None, stream)
        blocks: dict[int, dict[str, Any]] = {}
        usage: dict[str, Any] = {}
        reason = None
        final_usage = False
        for event in chunks:
            shape = type(event)
            if shape is str:  # a compact text delta of block 0 (chunk_sink)
                blocks.setdefault(0, {"type": "text", "text": ""})["text"] += event
                continue
            if shape is tuple:  # a compact content delta: (index, state key, text)
                index, key, text = event
                blocks.setdefault(index or 0, {"type": "text", "text": ""})[key] += text
                continue
            kind = field(event, "type")
            if kind == "content_block_delta":
                _apply_delta(
                    blocks.setdefault(field(event, "index") or 0, {"type": "text", "text": ""}),
                    field(event, "delta"),
                )
            elif kind == "content_block_start":
                blocks[field(event, "index") or 0] = _start_block(field(event, "content_block"))
            elif kind == "message_start":
                message = field(event, "message")
                record["response_model"] = field(message, "model")
                record["response_id"] = field(message, "id")
                _merge_usage(usage, field(message, "usage"))
            elif kind == "message_delta":
                reason = field(field(event, "delta"), "stop_reason") or reason
                # output_tokens is a running total; newer API versions also restate input and cache counts.
                _merge_usage(usage, field(event, "usage"))
                final_usage = True
        parts = [_block_part(_finish_block(blocks[index])) for index in sorted(blocks)]
        reason = reason if isinstance(reason, str) else None
        record["finish_reasons"] = [reason] if reason else []
        record["output_messages"] = [{"role": "assistant", "parts": parts, "finish_reason": reason}]
        # Before message_delta, output_tokens is message_start's placeholder (about 1): a stream cut
        # earlier leaves usage to the monitor's estimate (marked ``estimated``) rather than report that.
        record["usage"] = _usage(usage) if final_usage else None


def _start_block(block: Any) -> dict[str, Any]:
    # A plain dict copy: the SDK's stream helper keeps its own snapshot, ours must not touch it.
    state = {
        "type": field(block, "type"),
        "id": field(block, "id"),
        "name": field(block, "name"),
        "text": field(block, "text") or "",
        "thinking": field(block, "thinking") or "",
        "json": "",
    }
    for key in ("input", "tool_use_id", "source"):
        state[key] = field(block, key)
    return state


def _apply_delta(state: dict[str, Any], delta: Any) -> None:
    kind = field(delta, "type")
    if kind == "text_delta":
        state["text"] += field(delta, "text") or ""
    elif kind == "thinking_delta":
        state["thinking"] += field(delta, "thinking") or ""
    elif kind == "input_json_delta":
        state["json"] += field(delta, "partial_json") or ""


def _finish_block(state: dict[str, Any]) -> dict[str, Any]:
    if state["type"] in ("tool_use", *_SERVER_TOOL_USES) and state["json"]:
        state["input"] = _decode_json(state["json"])
    return state


def _merge_usage(usage: dict[str, Any], update: Any) -> None:
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = field(update, key)
        if isinstance(value, int):
            usage[key] = value


def _watch_helper(slot: ManagedSlot, helper: Any) -> Any:
    """Swap the ``MessageStream`` helper's raw event stream for a watched one (before it is read)."""
    call = slot.call
    raw = getattr(helper, "_raw_stream", None)
    if call is None or call.finished or raw is None:
        return helper
    helper._raw_stream = wrap_stream(call, raw, call.adapter.is_async_result(raw))
    return helper


# -- legacy text completions (0.x) --------------------------------------------------------------------
class CompletionsAdapter(_AnthropicAdapter):
    """Legacy ``completions.create`` (``/v1/complete``); it reports no usage, so tokens are estimated."""

    operation = "text_completion"
    api = "completions.create"
    param_keys = (
        "max_tokens_to_sample",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "betas",
    )
    snapshot_keys = ("prompt",)

    def is_content_chunk(self, chunk: Any) -> bool:
        return bool(field(chunk, "completion"))

    def max_output_tokens(self, request: Request) -> int | None:
        value = request.kwargs.get("max_tokens_to_sample")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        prompt = (request.snapshot or {}).get("prompt")
        return None, [{"role": "user", "parts": [{"type": "text", "content": prompt}]}] if isinstance(
            prompt, str
        ) else []

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = field(response, "model")
        record["response_id"] = field(response, "id")
        _request_id(record, response)
        self._fill_output(record, field(response, "completion") or "", field(response, "stop_reason"))

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        _request_id(record, None, stream)
        text: list[str] = []
        reason = None
        for chunk in chunks:
            record["response_model"] = field(chunk, "model") or record["response_model"]
            record["response_id"] = field(chunk, "id") or record["response_id"]
            text.append(field(chunk, "completion") or "")
            reason = field(chunk, "stop_reason") or reason
        self._fill_output(record, "".join(text), reason)

    @staticmethod
    def _fill_output(record: dict[str, Any], text: str, reason: Any) -> None:
        reason = reason if isinstance(reason, str) else None
        record["finish_reasons"] = [reason] if reason else []
        record["output_messages"] = [
            {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": reason}
        ]


def targets() -> list[Target]:
    """Every Anthropic method we patch (missing ones in a given version are skipped)."""
    result: list[Target] = []
    for module, prefix in ((_MESSAGES_MODULE, "messages"), (_BETA_MESSAGES_MODULE, "beta.messages")):
        create = MessagesAdapter(f"{prefix}.create")
        parse = MessagesAdapter(f"{prefix}.parse")
        stream = MessagesAdapter(f"{prefix}.stream", always_stream=True)
        for cls, is_async in (("Messages", False), ("AsyncMessages", True)):
            result.append(Target(module, f"{cls}.create", create, is_async=is_async))
            result.append(Target(module, f"{cls}.parse", parse, is_async=is_async))
            # ``stream`` itself is sync in both classes: it only builds the manager.
            result.append(
                Target(
                    module,
                    f"{cls}.stream",
                    stream,
                    wrapper_factory=manager_wrapper(stream.api, _watch_helper, self_posting=True),
                )
            )
    completions = CompletionsAdapter()
    result.append(Target(_COMPLETIONS_MODULE, "Completions.create", completions, is_async=False))
    result.append(Target(_COMPLETIONS_MODULE, "AsyncCompletions.create", completions, is_async=True))
    return result


__all__ = ["CompletionsAdapter", "MessagesAdapter", "provider_for", "targets"]
