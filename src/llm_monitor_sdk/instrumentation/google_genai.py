"""Google GenAI (``google-genai``): patch targets and adapters (generate, stream, embed).

Same targets in google-genai 1.x, 2.x (httpx) and 3.x (httpx2). ``client.models`` is ``Models`` and
``client.aio.models`` is ``AsyncModels``; chats (``chats.create(...).send_message[_stream]``) call
``self._modules.generate_content[_stream]`` and are therefore recorded by these patches, one record
per model call. Automatic function calling inside one ``models.generate_content`` call loops over a
private method: that is one record (the user's call), holding the final response.

The sync ``generate_content_stream`` returns a lazy generator (HTTP on the first ``next()``); the
async one is an ``async def`` returning an async generator. Both come back from the shared lifecycle
wrapped in its stream proxies. Adapters read SDK objects and plain dicts (``contents`` may be either,
with snake_case or camelCase keys) alike.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .._convert import to_jsonable
from ..record import UsageDict, safety, usage
from ._call import Adapter, CallSink, Request
from ._helpers import UNSET, field
from ._registry import Target

_MODELS_MODULE = "google.genai.models"

#: Response headers that may carry a request id (the Gemini API and Vertex AI do not document one).
_REQUEST_ID_HEADERS = ("x-request-id", "x-goog-request-id", "request-id")

_GENERATE_PARAMS = (
    "temperature",
    "top_p",
    "top_k",
    "max_output_tokens",
    "candidate_count",
    "stop_sequences",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_mime_type",
    "response_modalities",
    "thinking_config",
    "tool_config",
    "response_logprobs",
    "logprobs",
    "cached_content",
    "media_resolution",
)
#: Non-text parts that count as output for the time to first token.
_OUTPUT_KINDS = ("function_call", "inline_data", "executable_code")
_DECLARATIONS = ("function_declarations", "functionDeclarations")
_EMBED_PARAMS = ("task_type", "output_dimensionality", "mime_type", "auto_truncate")


# -- shared readers -------------------------------------------------------------------------------
def provider_for(instance: Any) -> str:
    """``gcp.vertex_ai`` when the client talks to Vertex AI, else ``gcp.gemini``."""
    client = getattr(instance, "_api_client", None)
    return "gcp.vertex_ai" if getattr(client, "vertexai", False) is True else "gcp.gemini"


@lru_cache(maxsize=128)
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _get(obj: Any, name: str) -> Any:
    """``field`` that also finds the camelCase key of a plain dict (the SDK accepts both spellings)."""
    value = field(obj, name)
    if value is None and isinstance(obj, dict) and "_" in name:
        value = obj.get(_camel(name))
    return value


def _enum_name(value: Any) -> str | None:
    """``FinishReason.STOP`` (or the raw ``"STOP"`` of a dict) as the provider spells it."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name
    return str(value)


def _model_name(model: Any) -> str | None:
    """``models/gemini-2.5-flash`` -> ``gemini-2.5-flash`` (the pricing lookup wants the bare name)."""
    if not isinstance(model, str) or not model:
        return None
    return model.removeprefix("models/")


def _modality(mime_type: Any) -> str:
    if isinstance(mime_type, str) and "/" in mime_type:
        kind = mime_type.split("/", 1)[0]
        if kind in ("image", "audio", "video"):
            return kind
    return "file"


def _size(data: Any) -> int | None:
    # Never carry the bytes into a record: only their size (base64 text is about 4/3 of it).
    if isinstance(data, bytes | bytearray | memoryview):
        return len(bytes(data))
    if isinstance(data, str):
        return len(data) * 3 // 4
    return None


def _part(part: Any) -> dict[str, Any]:
    """One Gemini ``Part`` (or ``str``, ``File``, PIL image, dict) in the OTel part shape."""
    if isinstance(part, str):
        return {"type": "text", "content": part}
    text = _get(part, "text")
    if isinstance(text, str):
        return {"type": "reasoning" if _get(part, "thought") else "text", "content": text}
    call = _get(part, "function_call")
    if call is not None:
        return {
            "type": "tool_call",
            "id": _get(call, "id"),
            "name": _get(call, "name"),
            "arguments": to_jsonable(_get(call, "args")),
        }
    response = _get(part, "function_response")
    if response is not None:
        return {
            "type": "tool_call_response",
            "id": _get(response, "id"),
            "name": _get(response, "name"),
            "response": to_jsonable(_get(response, "response")),
        }
    blob = _get(part, "inline_data")
    if blob is not None:
        mime = _get(blob, "mime_type")
        return {
            "type": "blob",
            "modality": _modality(mime),
            "mime_type": mime,
            "size_bytes": _size(_get(blob, "data")),
        }
    file_data = _get(part, "file_data")
    if file_data is not None:
        mime = _get(file_data, "mime_type")
        return {
            "type": "uri",
            "modality": _modality(mime),
            "mime_type": mime,
            "uri": _get(file_data, "file_uri"),
        }
    uri = _get(part, "uri")
    if isinstance(uri, str):  # an uploaded ``types.File`` passed as a part
        mime = _get(part, "mime_type")
        return {"type": "uri", "modality": _modality(mime), "mime_type": mime, "uri": uri}
    for kind in ("executable_code", "code_execution_result"):
        if _get(part, kind) is not None:
            return {"type": "generic", "generic_type": kind}
    if "image" in type(part).__name__.lower():  # a PIL image: the SDK encodes it, we only say what it was
        return {"type": "blob", "modality": "image", "mime_type": None}
    return {"type": "generic", "generic_type": type(part).__name__}


def _is_content(item: Any) -> bool:
    """A ``types.Content`` (or its dict): has ``parts``/``role``, unlike a ``Part``."""
    if isinstance(item, dict):
        return "parts" in item or "role" in item
    return hasattr(item, "parts") and hasattr(item, "role")


_ROLES = {"model": "assistant", "function": "tool", "tool": "tool", "system": "system"}


def _message(content: Any) -> dict[str, Any]:
    parts = [_part(p) for p in _get(content, "parts") or ()]
    role = _get(content, "role")
    if role is None or role == "user":
        # Function results are sent with role "user"; they are the tool's turn in the OTel shape.
        role = "tool" if parts and all(p["type"] == "tool_call_response" for p in parts) else "user"
    else:
        role = _ROLES.get(role, role)
    return {"role": role, "parts": parts}


def _contents(value: Any) -> list[dict[str, Any]]:
    """``contents`` (str, Part, Content, or a list mixing them) as OTel messages.

    Like the SDK, consecutive bare parts form one turn: a user turn, or a model turn for function calls.
    """
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        if _is_content(value):
            return [_message(value)]
        return [_message({"role": "user", "parts": [value]})]
    messages: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if pending:
            is_model = any(p["type"] == "tool_call" for p in pending)
            messages.append({"role": "assistant" if is_model else "user", "parts": list(pending)})
            pending.clear()

    for item in value:
        if _is_content(item):
            flush()
            messages.append(_message(item))
        elif isinstance(item, list | tuple):
            flush()
            messages.append({"role": "user", "parts": [_part(p) for p in item]})
        else:
            part = _part(item)
            if pending and (part["type"] == "tool_call") != (pending[-1]["type"] == "tool_call"):
                flush()
            pending.append(part)
    flush()
    return messages


def _system(value: Any) -> list[dict[str, Any]] | None:
    """``config.system_instruction`` (str, Part, Content or a list of them) as OTel parts."""
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else [value]
    parts: list[dict[str, Any]] = []
    for item in items:
        if _is_content(item):
            parts.extend(_part(p) for p in _get(item, "parts") or ())
        else:
            parts.append(_part(item))
    return parts or None


def _tool_names(tools: Any) -> list[str]:
    """Names of the declared tools: function names, Python callables, built-in tools by kind."""
    names: list[str] = []
    for tool in tools if isinstance(tools, list | tuple) else ():
        if callable(tool):
            names.append(getattr(tool, "__name__", type(tool).__name__))
            continue
        declarations = _get(tool, "function_declarations")
        for declaration in declarations or ():
            name = _get(declaration, "name")
            if isinstance(name, str):
                names.append(name)
        fields = getattr(type(tool), "model_fields", None)
        if isinstance(tool, dict):
            kinds = [key for key, value in tool.items() if value is not None]
        elif isinstance(fields, dict):
            kinds = [key for key in fields if getattr(tool, key, None) is not None]
        else:
            kinds = [] if declarations else [type(tool).__name__]  # e.g. an MCP session
        names.extend(kind for kind in kinds if kind not in _DECLARATIONS)
    return names


def _params(config: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if config is None:
        return params
    for key in keys:
        value = _get(config, key)
        if value is not None:
            params[key] = to_jsonable(value)
    return params


def _request_id(response: Any) -> str | None:
    """A request-id-like header of ``response.sdk_http_response`` (header names in any case)."""
    headers = _get(_get(response, "sdk_http_response"), "headers")
    if not isinstance(headers, Mapping):
        return None
    lowered = {str(key).lower(): value for key, value in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        value = lowered.get(name)
        if value:
            return str(value)
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    return None


def _usage(meta: Any) -> UsageDict | None:
    """``usage_metadata`` in the record shape; ``None`` when it carries no counts (the monitor estimates)."""
    if meta is None:
        return None
    prompt = _int(_get(meta, "prompt_token_count"))
    tool_prompt = _int(_get(meta, "tool_use_prompt_token_count"))
    candidates = _int(_get(meta, "candidates_token_count"))
    thoughts = _int(_get(meta, "thoughts_token_count"))
    total = _int(_get(meta, "total_token_count"))
    if prompt is None and candidates is None and thoughts is None and total is None:
        return None
    # Tool-use prompt tokens (e.g. search results fed back) are billed as input and are in the total.
    input_tokens = (prompt or 0) + (tool_prompt or 0)
    output_tokens = (candidates or 0) + (thoughts or 0)
    return usage(
        input_tokens,
        output_tokens,
        total_tokens=total,
        cache_read=_int(_get(meta, "cached_content_token_count")),
        reasoning=thoughts,
    )


def _block(response: Any) -> tuple[str, str | None] | None:
    """``(block_reason, message)`` when the prompt itself was blocked, else None."""
    feedback = _get(response, "prompt_feedback")
    reason = _enum_name(_get(feedback, "block_reason"))
    if not reason or reason == "BLOCKED_REASON_UNSPECIFIED":
        return None
    message = _get(feedback, "block_reason_message")
    return reason, message if isinstance(message, str) else None


def _blocked_output(block: tuple[str, str | None]) -> dict[str, Any]:
    reason, message = block
    return {
        "role": "assistant",
        "parts": [{"type": "refusal", "content": message or reason}],
        "finish_reason": reason,
    }


class _GenAIAdapter(Adapter):
    provider = "gcp.gemini"
    request_id_header = "x-request-id"
    snapshot_keys = ("contents",)

    def provider_name(self, request: Request) -> str:
        return provider_for(request.instance)

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        config = request.kwargs.get("config")
        contents = (request.snapshot or {}).get("contents")
        return _system(_get(config, "system_instruction")), _contents(contents)


# -- generate_content / generate_content_stream ----------------------------------------------------------
class GenerateContentAdapter(_GenAIAdapter):
    """``models.generate_content`` and ``models.generate_content_stream`` (sync and ``aio``)."""

    operation = "generate_content"

    def __init__(self, api: str = "models.generate_content", *, stream: bool = False) -> None:
        self.api = api
        self.streaming = stream
        self.lazy_stream = stream  # the SDK sends the request on the first next()

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink) -> Request:
        request = super().begin(instance, args, kwargs, sink)
        request.stream = self.streaming
        return request

    def is_content_chunk(self, chunk: Any) -> bool:
        for candidate in _get(chunk, "candidates") or ():
            for part in _get(_get(candidate, "content"), "parts") or ():
                if _get(part, "text") or any(_get(part, kind) is not None for kind in _OUTPUT_KINDS):
                    return True
        return False

    def chunk_sink(self, chunks: list[Any]) -> Callable[[Any], None]:
        """Text-only chunks of a single candidate are kept as their text (see :func:`_text_sink`)."""
        return _text_sink(chunks)

    def max_output_tokens(self, request: Request) -> int | None:
        value = _get(request.kwargs.get("config"), "max_output_tokens")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def fill_request(self, record: dict[str, Any], request: Request) -> None:
        config = request.kwargs.get("config")
        params = _params(config, _GENERATE_PARAMS)
        tools = _tool_names(_get(config, "tools"))
        if tools:
            params["tools"] = tools
        record["request_params"] = params

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["response_model"] = _model_name(_get(response, "model_version"))
        record["response_id"] = _get(response, "response_id")
        record["request_id"] = _request_id(response)
        outputs: list[dict[str, Any]] = []
        reasons: list[str] = []
        for candidate in _get(response, "candidates") or ():
            reason = _enum_name(_get(candidate, "finish_reason"))
            parts = [_part(p) for p in _get(_get(candidate, "content"), "parts") or ()]
            outputs.append({"role": "assistant", "parts": parts, "finish_reason": reason})
            if reason:
                reasons.append(reason)
        block = _block(response)
        if block is not None and not outputs:
            outputs = [_blocked_output(block)]
            reasons = [block[0]]
            record["safety"] = safety(content_filtered=True)  # the prompt was blocked: a filter, no refusal
        record["finish_reasons"] = reasons
        record["output_messages"] = outputs
        record["usage"] = _usage(_get(response, "usage_metadata"))

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        candidates: dict[int, dict[str, Any]] = {}
        usage = None
        block = None
        texts: list[str] = []  # consecutive compact texts of candidate 0 (chunk_sink), merged at once
        for chunk in chunks:
            if type(chunk) is str:
                texts.append(chunk)
                continue
            if texts:
                _merge_texts(candidates, texts)
            record["response_model"] = _model_name(_get(chunk, "model_version")) or record["response_model"]
            record["response_id"] = _get(chunk, "response_id") or record["response_id"]
            record["request_id"] = record["request_id"] or _request_id(chunk)
            usage = _get(chunk, "usage_metadata") or usage  # running totals: the last one wins
            block = _block(chunk) or block
            for position, candidate in enumerate(_get(chunk, "candidates") or ()):
                index = _get(candidate, "index")
                state = candidates.setdefault(
                    index if isinstance(index, int) else position, {"parts": [], "reason": None}
                )
                for part in _get(_get(candidate, "content"), "parts") or ():
                    _merge(state["parts"], _part(part))
                state["reason"] = _enum_name(_get(candidate, "finish_reason")) or state["reason"]
        if texts:
            _merge_texts(candidates, texts)
        outputs = [
            {"role": "assistant", "parts": state["parts"], "finish_reason": state["reason"]}
            for _, state in sorted(candidates.items())
        ]
        reasons = [output["finish_reason"] for output in outputs if output["finish_reason"]]
        if block is not None and not any(output["parts"] for output in outputs):
            outputs = [_blocked_output(block)]
            reasons = [block[0]]
            record["safety"] = safety(content_filtered=True)
        record["finish_reasons"] = reasons
        record["output_messages"] = outputs
        record["usage"] = _usage(usage)


def _merge_texts(candidates: dict[int, dict[str, Any]], texts: list[str]) -> None:
    """Merge a run of compact texts into candidate 0: the same parts as merging them one by one."""
    state = candidates.setdefault(0, {"parts": [], "reason": None})
    _merge(state["parts"], {"type": "text", "content": "".join(texts)})
    texts.clear()


def _text_sink(chunks: list[Any]) -> Callable[[Any], None]:
    """Per stream (caller's thread): keeps a chunk whose only content is one text part of one
    candidate as that text (a ``str``), when nothing else in it can change the record.

    That is: no finish reason, no prompt feedback, candidate index 0, the same ``model_version``,
    ``response_id`` and (until a chunk gave a request id) response headers as the chunk before (the
    record keeps the last non-empty model and id and the first request id, so a repeat changes
    nothing). ``usage_metadata`` is a running total, so a text chunk that carries one stays whole
    until the next chunk brings a newer one; then it becomes its text (``chunks[-1]``). Anything
    else, or a shape it cannot read, is kept whole; after an unreadable chunk the next one is too.
    """
    append = chunks.append
    last_model: Any = UNSET
    last_id: Any = UNSET
    last_headers: Any = UNSET
    request_id_known = False  # a chunk already gave the record its request id (the first one wins)
    pending: str | None = None  # the text of chunks[-1], kept whole only for its usage

    def keep(chunk: Any) -> None:
        nonlocal last_model, last_id, last_headers, request_id_known, pending
        try:
            values = chunk.__dict__  # pydantic keeps every field here: one lookup each
            usage = values["usage_metadata"]
            model = values["model_version"]
            ident = values["response_id"]
            headers = None
            if not request_id_known:
                http = values["sdk_http_response"]
                headers = http.__dict__["headers"] if http is not None else None
            text = None
            if model == last_model and ident == last_id and (request_id_known or headers == last_headers):
                # The only content is one plain text part of candidate 0 (inline: every chunk runs this).
                candidates = values["candidates"]
                if values["prompt_feedback"] is None and candidates and len(candidates) == 1:
                    candidate = candidates[0].__dict__
                    content = candidate["content"]
                    if candidate["finish_reason"] is None and not candidate["index"] and content is not None:
                        parts = content.parts
                        if parts and len(parts) == 1:
                            part = parts[0]
                            value = part.text
                            if type(value) is str and not part.thought:
                                text = value
        except (AttributeError, KeyError, TypeError, IndexError):
            last_model = UNSET
            pending = None
            append(chunk)
            return
        if pending is not None and usage:
            chunks[-1] = pending  # its usage is superseded by this chunk's
        last_model = model
        last_id = ident
        last_headers = headers
        if text is None:
            pending = None
            append(chunk)
            if not request_id_known:
                request_id_known = _request_id(chunk) is not None
        elif usage:
            pending = text
            append(chunk)
        else:
            pending = None
            append(text)

    return keep


def _merge(parts: list[dict[str, Any]], part: dict[str, Any]) -> None:
    """Append a streamed part, joining text to text and reasoning to reasoning."""
    if parts and part["type"] in ("text", "reasoning") and parts[-1]["type"] == part["type"]:
        parts[-1] = {**parts[-1], "content": parts[-1]["content"] + part["content"]}
    else:
        parts.append(part)


# -- embed_content ------------------------------------------------------------------------------------------
class EmbedContentAdapter(_GenAIAdapter):
    """``models.embed_content`` (sync and ``aio``): each item of ``contents`` is embedded on its own."""

    operation = "embeddings"
    api = "models.embed_content"

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        value = (request.snapshot or {}).get("contents")
        items = list(value) if isinstance(value, list | tuple) else ([] if value is None else [value])
        parts: list[dict[str, Any]] = []
        for item in items:
            if _is_content(item):
                parts.extend(_part(p) for p in _get(item, "parts") or ())
            else:
                parts.append(_part(item))
        return None, [{"role": "user", "parts": parts}] if parts else []

    def fill_request(self, record: dict[str, Any], request: Request) -> None:
        record["request_params"] = _params(request.kwargs.get("config"), _EMBED_PARAMS)

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        record["request_id"] = _request_id(response)
        embeddings = list(_get(response, "embeddings") or ())
        if embeddings:
            values = _get(embeddings[0], "values")
            if isinstance(values, list):
                record["request_params"]["embedding_dimensions"] = len(values)
        tokens = _int(_get(_get(response, "usage_metadata"), "prompt_token_count"))
        if tokens is None and embeddings:
            # Vertex AI reports a token count per embedded item.
            counts = [_int(_get(_get(e, "statistics"), "token_count")) for e in embeddings]
            if all(count is not None for count in counts):
                tokens = sum(count for count in counts if count is not None)
        if tokens is not None:
            record["usage"] = usage(tokens, 0)


def targets() -> list[Target]:
    """Every google-genai method we patch (missing ones in older versions are skipped)."""
    generate = GenerateContentAdapter()
    stream = GenerateContentAdapter("models.generate_content_stream", stream=True)
    embed = EmbedContentAdapter()
    result: list[Target] = []
    for method, adapter in (
        ("generate_content", generate),
        ("generate_content_stream", stream),
        ("embed_content", embed),
    ):
        result.append(Target(_MODELS_MODULE, f"Models.{method}", adapter, is_async=False))
        result.append(Target(_MODELS_MODULE, f"AsyncModels.{method}", adapter, is_async=True))
    return result


__all__ = ["EmbedContentAdapter", "GenerateContentAdapter", "provider_for", "targets"]
