"""OpenAI: patch targets and adapters (chat completions, Responses, legacy completions, embeddings).

Same targets in openai 1.x, 2.x (httpx) and 3.x (httpx2). ``.stream()`` helpers call ``create``
internally (the async ones eagerly, inside ``.stream()``), so they are patched only to name the record
(``chat.completions.stream``) and to finish it when their ``with`` block exits; ``.parse()`` posts by
itself and is patched like ``create``. ``with_raw_response`` keeps the ``create`` it finds on first
use, so a resource used raw before ``instrument()`` stays unwatched (documented limit).
Adapters read SDK objects and raw JSON dicts alike (:func:`field`), so raw responses need no
special code here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..record import UsageDict
from ..record import usage as make_usage
from ._call import Adapter, CallSink, Request
from ._helpers import UNSET, field, header, params
from ._registry import Target
from ._stream import manager_wrapper

_CHAT_MODULE = "openai.resources.chat.completions.completions"
_RESPONSES_MODULE = "openai.resources.responses.responses"
_COMPLETIONS_MODULE = "openai.resources.completions"
_EMBEDDINGS_MODULE = "openai.resources.embeddings"

_SYSTEM_ROLES = ("system", "developer")


# -- shared readers -------------------------------------------------------------------------------
def provider_for(instance: Any) -> str:
    """``azure.ai.openai`` for Azure clients, else ``openai``."""
    client = getattr(instance, "_client", None)
    return "azure.ai.openai" if "Azure" in type(client).__name__ else "openai"


def _text_parts(content: Any) -> list[dict[str, Any]]:
    """OpenAI message content (a string or a list of typed parts) in the OTel part shape."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for item in content if isinstance(content, list | tuple) else [content]:
        kind = field(item, "type")
        if isinstance(item, str):
            parts.append({"type": "text", "content": item})
        elif kind in ("text", "input_text", "output_text"):
            parts.append({"type": "text", "content": field(item, "text") or ""})
        elif kind == "refusal":
            parts.append({"type": "refusal", "content": field(item, "refusal") or ""})
        elif kind in ("image_url", "input_image"):
            url = field(item, "image_url")
            url = field(url, "url") if not isinstance(url, str) else url
            parts.append(_uri_or_blob(url, "image", field(item, "file_id")))
        elif kind in ("input_audio",):
            audio = field(item, "input_audio")
            parts.append(
                {"type": "blob", "modality": "audio", "mime_type": f"audio/{field(audio, 'format')}"}
            )
        elif kind in ("file", "input_file"):
            file = field(item, "file") or item
            parts.append(
                {
                    "type": "file",
                    "modality": "file",
                    "file_id": field(file, "file_id"),
                    "filename": field(file, "filename"),
                }
            )
        else:
            parts.append({"type": "generic", "generic_type": str(kind)})
    return parts


def _uri_or_blob(url: Any, modality: str, file_id: Any = None) -> dict[str, Any]:
    # Never carry base64 payloads into a record: a data URL becomes its type and size.
    if isinstance(url, str) and url.startswith("data:"):
        mime = url[5:].split(";", 1)[0]
        return {"type": "blob", "modality": modality, "mime_type": mime, "size_bytes": len(url) * 3 // 4}
    if url is None and file_id is not None:
        return {"type": "file", "modality": modality, "file_id": file_id}
    return {"type": "uri", "modality": modality, "uri": url}


def _tool_call_part(call: Any) -> dict[str, Any]:
    function = field(call, "function")
    return {
        "type": "tool_call",
        "id": field(call, "id"),
        "name": field(function, "name"),
        "arguments": field(function, "arguments"),
    }


def _function_call_part(function_call: Any) -> dict[str, Any]:
    """The deprecated ``function_call`` of a message, as a ``tool_call`` part without an id."""
    return {
        "type": "tool_call",
        "id": None,
        "name": field(function_call, "name"),
        "arguments": field(function_call, "arguments"),
    }


def _chat_message(message: Any) -> dict[str, Any]:
    role = field(message, "role") or "user"
    if role == "tool":
        return {
            "role": "tool",
            "parts": [
                {
                    "type": "tool_call_response",
                    "id": field(message, "tool_call_id"),
                    "response": _content_text(field(message, "content")),
                }
            ],
        }
    parts = _text_parts(field(message, "content"))
    for call in field(message, "tool_calls") or ():
        parts.append(_tool_call_part(call))
    function_call = field(message, "function_call")
    if function_call is not None:
        parts.append(_function_call_part(function_call))
    result = {"role": role, "parts": parts}
    name = field(message, "name")
    if isinstance(name, str):
        result["name"] = name
    return result


def _content_text(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content
    return "".join(part.get("content", "") for part in _text_parts(content) if part.get("type") == "text")


def _split_system(messages: Any) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for message in messages or ():
        if field(message, "role") in _SYSTEM_ROLES:
            system.extend(part for part in _text_parts(field(message, "content")) if part["type"] == "text")
        else:
            converted.append(_chat_message(message))
    return (system or None), converted


def _usage(
    usage: Any, input_key: str, output_key: str, input_details: str, output_details: str
) -> UsageDict | None:
    if usage is None:
        return None
    input_tokens = field(usage, input_key)
    output_tokens = field(usage, output_key)
    total = field(usage, "total_tokens")
    if total is None and isinstance(input_tokens, int):
        total = input_tokens + (output_tokens or 0)
    return make_usage(
        input_tokens,
        output_tokens if output_tokens is not None else (0 if input_tokens is not None else None),
        total_tokens=total,
        cache_read=field(field(usage, input_details), "cached_tokens"),
        reasoning=field(field(usage, output_details), "reasoning_tokens"),
    )


def _chat_usage(usage: Any) -> UsageDict | None:
    return _usage(
        usage, "prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"
    )


def _request_id(record: dict[str, Any], response: Any, stream: Any = None) -> None:
    request_id = field(response, "_request_id") if not isinstance(response, dict) else None
    if not request_id and stream is not None:
        request_id = header(stream, "x-request-id")
    if request_id:
        record["request_id"] = request_id


def _ask_for_stream_usage(request: Request, sink: CallSink) -> Request:
    """Add ``stream_options.include_usage`` to a stream request that did not say, so token counts are real.

    The extra usage-only chunk (``choices=[]``) this adds is read for the record and withheld from
    the caller (the stream proxy skips it), so the caller sees exactly the chunks it would see without
    the SDK: code reading ``chunk.choices[0]`` keeps working. A caller's explicit ``include_usage``
    (true or false) wins, and then every chunk passes through; ``stream_usage=False`` turns this off
    for servers that reject the option.
    """
    if not request.stream or not sink.stream_usage:
        return request
    kwargs = request.kwargs
    options = kwargs.get("stream_options")
    if isinstance(options, dict) and "include_usage" in options:
        return request
    merged = dict(options) if isinstance(options, dict) else {}
    merged["include_usage"] = True
    request.kwargs = {**kwargs, "stream_options": merged}
    request.hidden = _is_usage_only_chunk
    return request


def _is_usage_only_chunk(chunk: Any) -> bool:
    """The final chunk ``include_usage`` adds: no choices, only usage."""
    values = getattr(chunk, "__dict__", None)
    if values is None:
        return False
    return not values.get("choices") and values.get("usage") is not None


def _choice_sink(chunks: list[Any], text_of: Callable[[Any], str | None]) -> Callable[[Any], bool | None]:
    """Per stream (caller's thread): keeps a single-choice text chunk as its text (a ``str``).

    Only when nothing else in it can change the record: no usage, and the same ``model`` and ``id``
    as the chunk before (the record keeps the last non-empty ones, so a repeat changes nothing);
    ``text_of`` checks the choice (index 0, no finish reason, only text). Anything else, or a shape
    it cannot read, is kept whole; after an unreadable chunk the next one is kept whole too.
    """
    append = chunks.append
    last_model: Any = UNSET
    last_id: Any = UNSET

    def keep(chunk: Any) -> bool | None:
        nonlocal last_model, last_id
        try:
            values = chunk.__dict__  # pydantic keeps every field here: one lookup each, no getattr chain
            model = values["model"]
            ident = values["id"]
            text = None
            if model == last_model and ident == last_id and not values["usage"]:
                choices = values["choices"]
                if len(choices) == 1:
                    text = text_of(choices[0])
        except (AttributeError, KeyError, TypeError):
            last_model = UNSET
            append(chunk)
            return True
        last_model = model
        last_id = ident
        if text is None:
            append(chunk)
            return True  # kept whole: the proxy checks whether it is the usage-only chunk it withholds
        append(text)
        return None

    return keep


def _chat_text(choice: Any) -> str | None:
    values = choice.__dict__
    if values["finish_reason"] or values["index"]:
        return None
    delta = values["delta"].__dict__
    text = delta["content"]
    if type(text) is str and not delta["tool_calls"] and not delta["refusal"]:
        return text
    return None


def _completion_text(choice: Any) -> str | None:
    values = choice.__dict__
    text = values["text"]
    if type(text) is str and not values["finish_reason"] and not values["index"]:
        return text
    return None


def _new_choice() -> dict[str, Any]:
    return {"text": [], "refusal": [], "tools": {}, "function": None, "reason": None}


class _OpenAIAdapter(Adapter):
    provider = "openai"
    request_id_header = "x-request-id"

    def provider_name(self, request: Request) -> str:
        return provider_for(request.instance)

    def fill_request(self, record: dict[str, Any], request: Request) -> None:
        record["request_params"] = params(request.kwargs, self.param_keys)


_CHAT_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "response_format",
    "tools",
    "functions",
    "function_call",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "service_tier",
    "user",
    "stream_options",
    "modalities",
    "verbosity",
    "store",
    "metadata",
    "prediction",
    "audio",
    "web_search_options",
    "safety_identifier",
    "prompt_cache_key",
)


# -- chat completions -----------------------------------------------------------------------------
class ChatCompletionsAdapter(_OpenAIAdapter):
    """``chat.completions.create`` / ``.parse`` (and ``.stream``, through ``create``)."""

    operation = "chat"
    param_keys = _CHAT_PARAMS
    snapshot_keys = ("messages",)

    def __init__(self, api: str = "chat.completions.create") -> None:
        self.api = api

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink) -> Request:
        return _ask_for_stream_usage(super().begin(instance, args, kwargs, sink), sink)

    def is_content_chunk(self, chunk: Any) -> bool:
        for choice in field(chunk, "choices") or ():
            delta = field(choice, "delta")
            if (
                field(delta, "content")
                or field(delta, "tool_calls")
                or field(delta, "refusal")
                or field(delta, "function_call")
                or field(delta, "audio")
            ):
                return True
        return False

    def chunk_sink(self, chunks: list[Any]) -> Callable[[Any], bool | None]:
        """Text deltas of choice 0 are kept as their text (see :func:`_choice_sink`)."""
        return _choice_sink(chunks, _chat_text)

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        return _split_system((request.snapshot or {}).get("messages"))

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = field(response, "model")
        record["response_id"] = field(response, "id")
        _request_id(record, response)
        outputs = []
        reasons = []
        for choice in field(response, "choices") or ():
            reason = field(choice, "finish_reason")
            reasons.append(reason if isinstance(reason, str) else "error")
            message = field(choice, "message")
            parts = _text_parts(field(message, "content"))
            refusal = field(message, "refusal")
            if refusal:
                parts.append({"type": "refusal", "content": refusal})
            for call in field(message, "tool_calls") or ():
                parts.append(_tool_call_part(call))
            function_call = field(message, "function_call")  # deprecated ``functions`` API
            if function_call is not None:
                parts.append(_function_call_part(function_call))
            outputs.append(
                {"role": field(message, "role") or "assistant", "parts": parts, "finish_reason": reasons[-1]}
            )
        record["finish_reasons"] = reasons
        record["output_messages"] = outputs
        record["usage"] = _chat_usage(field(response, "usage"))

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        _request_id(record, None, stream)
        choices: dict[int, dict[str, Any]] = {}
        usage = None
        for chunk in chunks:
            if type(chunk) is str:  # a compact text delta of choice 0 (chunk_sink)
                state = choices.get(0) or choices.setdefault(0, _new_choice())
                if chunk:
                    state["text"].append(chunk)
                continue
            record["response_model"] = field(chunk, "model") or record["response_model"]
            record["response_id"] = field(chunk, "id") or record["response_id"]
            usage = field(chunk, "usage") or usage
            for choice in field(chunk, "choices") or ():
                state = choices.setdefault(field(choice, "index") or 0, _new_choice())
                delta = field(choice, "delta")
                if field(delta, "content"):
                    state["text"].append(field(delta, "content"))
                if field(delta, "refusal"):
                    state["refusal"].append(field(delta, "refusal"))
                function_call = field(delta, "function_call")
                if function_call is not None:
                    legacy = state["function"]
                    if legacy is None:
                        legacy = state["function"] = {
                            "type": "tool_call",
                            "id": None,
                            "name": None,
                            "arguments": "",
                        }
                    legacy["name"] = field(function_call, "name") or legacy["name"]
                    legacy["arguments"] += field(function_call, "arguments") or ""
                for call in field(delta, "tool_calls") or ():
                    tool = state["tools"].setdefault(
                        field(call, "index") or 0,
                        {"type": "tool_call", "id": None, "name": None, "arguments": ""},
                    )
                    function = field(call, "function")
                    tool["id"] = field(call, "id") or tool["id"]
                    tool["name"] = field(function, "name") or tool["name"]
                    tool["arguments"] += field(function, "arguments") or ""
                state["reason"] = field(choice, "finish_reason") or state["reason"]
        outputs = []
        reasons = []
        for index in sorted(choices):
            state = choices[index]
            parts: list[dict[str, Any]] = []
            if state["text"]:
                parts.append({"type": "text", "content": "".join(state["text"])})
            if state["refusal"]:
                parts.append({"type": "refusal", "content": "".join(state["refusal"])})
            parts.extend(state["tools"][i] for i in sorted(state["tools"]))
            if state["function"] is not None:
                parts.append(state["function"])
            reason = state["reason"]
            if isinstance(reason, str):
                reasons.append(reason)
            outputs.append({"role": "assistant", "parts": parts, "finish_reason": reason})
        record["finish_reasons"] = reasons
        record["output_messages"] = outputs
        record["usage"] = _chat_usage(usage)


# -- Responses API -----------------------------------------------------------------------------------
_RESPONSES_PARAMS = (
    "temperature",
    "top_p",
    "max_output_tokens",
    "max_tool_calls",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "service_tier",
    "store",
    "text",
    "truncation",
    "user",
    "metadata",
    "previous_response_id",
    "include",
    "top_logprobs",
    "background",
    "prompt_cache_key",
    "safety_identifier",
    "conversation",
    "text_format",
)


def _response_input(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    messages: list[dict[str, Any]] = []
    for item in value:
        kind = field(item, "type")
        if kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": field(item, "call_id"),
                            "response": field(item, "output"),
                        }
                    ],
                }
            )
        elif kind == "function_call":
            messages.append(
                {
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "tool_call",
                            "id": field(item, "call_id"),
                            "name": field(item, "name"),
                            "arguments": field(item, "arguments"),
                        }
                    ],
                }
            )
        elif kind in (None, "message"):
            messages.append(
                {"role": field(item, "role") or "user", "parts": _text_parts(field(item, "content"))}
            )
        else:
            messages.append({"role": "user", "parts": [{"type": "generic", "generic_type": str(kind)}]})
    return messages


def _response_output(response: Any) -> tuple[list[dict[str, Any]], str | None]:
    parts: list[dict[str, Any]] = []
    for item in field(response, "output") or ():
        kind = field(item, "type")
        if kind == "message":
            parts.extend(_text_parts(field(item, "content")))
        elif kind == "function_call":
            parts.append(
                {
                    "type": "tool_call",
                    "id": field(item, "call_id"),
                    "name": field(item, "name"),
                    "arguments": field(item, "arguments"),
                }
            )
        elif kind == "reasoning":
            summary = "".join(field(s, "text") or "" for s in field(item, "summary") or ())
            parts.append({"type": "reasoning", "content": summary})
        else:
            parts.append({"type": "server_tool_call", "name": str(kind), "id": field(item, "id")})
    status = field(response, "status")
    reason = field(field(response, "incomplete_details"), "reason") if status == "incomplete" else status
    return parts, reason if isinstance(reason, str) else None


class ResponsesAdapter(_OpenAIAdapter):
    """``responses.create`` / ``.parse`` (and ``.stream``, through ``create``)."""

    operation = "chat"
    param_keys = _RESPONSES_PARAMS
    snapshot_keys = ("input",)

    def __init__(self, api: str = "responses.create") -> None:
        self.api = api

    def is_content_chunk(self, chunk: Any) -> bool:
        kind = field(chunk, "type")
        return isinstance(kind, str) and kind.endswith(".delta")

    def chunk_sink(self, chunks: list[Any]) -> Callable[[Any], None]:
        """Output text deltas are kept as their text; other deltas, which :meth:`fill_chunks` never
        reads (tool-call arguments, reasoning summaries, audio...), as None; other events whole."""
        append = chunks.append

        def keep(event: Any) -> None:
            try:
                values = event.__dict__
                kind = values["type"]
                if kind == "response.output_text.delta":
                    delta = values["delta"]
                    append(delta if type(delta) is str else event)
                    return
                if kind.endswith(".delta"):
                    append(None)
                    return
            except (AttributeError, KeyError, TypeError):
                pass
            append(event)

        return keep

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        instructions = request.kwargs.get("instructions")
        system = [{"type": "text", "content": instructions}] if isinstance(instructions, str) else None
        return system, _response_input((request.snapshot or {}).get("input"))

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = field(response, "model")
        record["response_id"] = field(response, "id")
        _request_id(record, response)
        parts, reason = _response_output(response)
        record["finish_reasons"] = [reason] if reason else []
        record["output_messages"] = [{"role": "assistant", "parts": parts, "finish_reason": reason}]
        record["usage"] = _usage(
            field(response, "usage"),
            "input_tokens",
            "output_tokens",
            "input_tokens_details",
            "output_tokens_details",
        )

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        final = None
        text: list[str] = []
        for event in chunks:
            if type(event) is str:  # a compact output text delta (chunk_sink)
                text.append(event)
                continue
            kind = field(event, "type")  # None for a dropped delta (chunk_sink): nothing to read
            if kind in ("response.completed", "response.incomplete", "response.failed"):
                final = field(event, "response")
            elif kind in ("response.created", "response.in_progress"):
                response = field(event, "response")
                record["response_model"] = field(response, "model") or record["response_model"]
                record["response_id"] = field(response, "id") or record["response_id"]
            elif kind == "response.output_text.delta":
                text.append(field(event, "delta") or "")
        if final is not None:
            self.fill_response(record, request, final)
        else:  # a partial stream: what was received
            record["output_messages"] = [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "".join(text)}] if text else [],
                    "finish_reason": None,
                }
            ]
        _request_id(record, None, stream)


# -- legacy completions -------------------------------------------------------------------------------
class CompletionsAdapter(_OpenAIAdapter):
    """Legacy ``completions.create``."""

    operation = "text_completion"
    api = "completions.create"
    param_keys = (
        "temperature",
        "top_p",
        "max_tokens",
        "n",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "logprobs",
        "best_of",
        "echo",
        "suffix",
        "user",
        "stream_options",
        "logit_bias",
    )
    snapshot_keys = ("prompt",)

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink) -> Request:
        return _ask_for_stream_usage(super().begin(instance, args, kwargs, sink), sink)

    def is_content_chunk(self, chunk: Any) -> bool:
        return any(field(choice, "text") for choice in field(chunk, "choices") or ())

    def chunk_sink(self, chunks: list[Any]) -> Callable[[Any], bool | None]:
        """Text of choice 0 is kept as a ``str`` (see :func:`_choice_sink`)."""
        return _choice_sink(chunks, _completion_text)

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        prompt = (request.snapshot or {}).get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else [p for p in prompt or () if isinstance(p, str)]
        return None, [{"role": "user", "parts": [{"type": "text", "content": p}]} for p in prompts]

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = field(response, "model")
        record["response_id"] = field(response, "id")
        _request_id(record, response)
        choices = list(field(response, "choices") or ())
        record["finish_reasons"] = [field(c, "finish_reason") or "error" for c in choices]
        record["output_messages"] = [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": field(c, "text") or ""}],
                "finish_reason": field(c, "finish_reason"),
            }
            for c in choices
        ]
        record["usage"] = _chat_usage(field(response, "usage"))

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        _request_id(record, None, stream)
        texts: dict[int, list[str]] = {}
        reasons: dict[int, str] = {}
        usage = None
        for chunk in chunks:
            if type(chunk) is str:  # compact text of choice 0 (chunk_sink)
                texts.setdefault(0, []).append(chunk)
                continue
            record["response_model"] = field(chunk, "model") or record["response_model"]
            record["response_id"] = field(chunk, "id") or record["response_id"]
            usage = field(chunk, "usage") or usage
            for choice in field(chunk, "choices") or ():
                index = field(choice, "index") or 0
                texts.setdefault(index, []).append(field(choice, "text") or "")
                if field(choice, "finish_reason"):
                    reasons[index] = field(choice, "finish_reason")
        record["finish_reasons"] = [reasons[i] for i in sorted(reasons)]
        record["output_messages"] = [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "".join(texts[i])}],
                "finish_reason": reasons.get(i),
            }
            for i in sorted(texts)
        ]
        record["usage"] = _chat_usage(usage)


# -- embeddings -----------------------------------------------------------------------------------------
class EmbeddingsAdapter(_OpenAIAdapter):
    """``embeddings.create``."""

    operation = "embeddings"
    api = "embeddings.create"
    param_keys = ("dimensions", "encoding_format", "user")
    snapshot_keys = ("input",)

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        value = (request.snapshot or {}).get("input")
        items = [value] if isinstance(value, str) else list(value or ())
        parts = [
            {"type": "text", "content": item}
            if isinstance(item, str)
            else {
                "type": "generic",
                "generic_type": "tokens",
                "count": len(item) if isinstance(item, list) else 1,
            }
            for item in items
        ]
        return None, [{"role": "user", "parts": parts}] if parts else []

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = field(response, "model")
        _request_id(record, response)
        data = list(field(response, "data") or ())
        if data:
            embedding = field(data[0], "embedding")
            if isinstance(embedding, list):
                record["request_params"]["embedding_dimensions"] = len(embedding)
        usage = field(response, "usage")
        if usage is not None:
            record["usage"] = make_usage(
                field(usage, "prompt_tokens"), 0, total_tokens=field(usage, "total_tokens")
            )


def _decode_json(value: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


class DirectPostAdapter(_OpenAIAdapter):
    """The client's generic ``post(path, body=...)`` called directly, bypassing the resource methods
    (LiteLLM's OpenAI path does this). A path of a surface we record is routed to that surface's
    adapter, with the body as the API parameters; any other path runs unmonitored. A ``post`` made
    by a patched resource method is not recorded again (the lifecycle's in-call guard)."""

    api = "post"

    def __init__(self) -> None:
        self.routes: dict[str, Adapter] = {
            "/chat/completions": ChatCompletionsAdapter(),
            "/responses": ResponsesAdapter(),
            "/completions": CompletionsAdapter(),
            "/embeddings": EmbeddingsAdapter(),
        }

    def start(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink
    ) -> Request | None:
        path = args[0] if args else kwargs.get("path")
        route = self.routes.get(path) if isinstance(path, str) else None
        body = kwargs.get("body")
        if route is None or not isinstance(body, Mapping):
            return None
        request = route.begin(_PostResource(instance), (), dict(body), sink)
        if kwargs.get("stream") and not request.stream:
            request.stream = True
        request.adapter = route
        request.call_kwargs = {**kwargs, "body": request.kwargs}
        return request


class _PostResource:
    """Stands in for a resource object whose ``_client`` is the posting client (adapters read it)."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client


def targets() -> list[Target]:
    """Every OpenAI method we patch (missing ones in older versions are skipped)."""
    chat = ChatCompletionsAdapter()
    chat_parse = ChatCompletionsAdapter("chat.completions.parse")
    responses = ResponsesAdapter()
    responses_parse = ResponsesAdapter("responses.parse")
    completions = CompletionsAdapter()
    embeddings = EmbeddingsAdapter()
    result: list[Target] = []
    for sync_class, async_class, module, create, extra in (
        ("Completions", "AsyncCompletions", _CHAT_MODULE, chat, (("parse", chat_parse),)),
        ("Responses", "AsyncResponses", _RESPONSES_MODULE, responses, (("parse", responses_parse),)),
        ("Completions", "AsyncCompletions", _COMPLETIONS_MODULE, completions, ()),
        ("Embeddings", "AsyncEmbeddings", _EMBEDDINGS_MODULE, embeddings, ()),
    ):
        for method, adapter in (("create", create), *extra):
            result.append(Target(module, f"{sync_class}.{method}", adapter, is_async=False))
            result.append(Target(module, f"{async_class}.{method}", adapter, is_async=True))
    for module, classes, api, adapter in (
        (_CHAT_MODULE, ("Completions", "AsyncCompletions"), "chat.completions.stream", chat),
        (_RESPONSES_MODULE, ("Responses", "AsyncResponses"), "responses.stream", responses),
    ):
        for cls in classes:
            result.append(Target(module, f"{cls}.stream", adapter, wrapper_factory=manager_wrapper(api)))
    post = DirectPostAdapter()
    result.append(Target("openai._base_client", "SyncAPIClient.post", post, is_async=False))
    result.append(Target("openai._base_client", "AsyncAPIClient.post", post, is_async=True))
    return result


__all__ = [
    "ChatCompletionsAdapter",
    "CompletionsAdapter",
    "DirectPostAdapter",
    "EmbeddingsAdapter",
    "ResponsesAdapter",
    "targets",
]
