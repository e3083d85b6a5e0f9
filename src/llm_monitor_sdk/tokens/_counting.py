"""Token estimates for text and OTel GenAI messages, per provider and model.

Used on the worker thread when a provider returns no usage (``usage.source = "estimated"``) and for budget
worst cases. Rules:

- OpenAI and Azure OpenAI: the model's own encoding from ``tiktoken.model.encoding_name_for_model`` (a pure
  table lookup); models it does not know, and encodings we do not bundle, use ``o200k_base``.
- Anthropic (any model whose id contains ``claude``, whatever the provider): ``o200k_base`` count x 1.22,
  or x 1.5 for Claude Opus 4.7 and later models (generation 5 and up), rounded up. Claude's tokenizer is
  not public; these ratios were measured against o200k.
- Gemini (``gcp.gemini``, ``gcp.vertex_ai``): the ``o200k_base`` count (Gemini's tokenizer cannot ship
  offline), an estimate.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import tiktoken
import tiktoken.model

from ._encodings import CL100K, O200K, get_encoding

__all__ = [
    "IMAGE_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "TOKENS_PER_MESSAGE",
    "count_messages",
    "count_output",
    "count_parts",
    "count_text",
    "encoding_name_for",
]

#: Structural tokens per message, as in OpenAI's chat format (``<|start|>``, ``<|message|>``, ``<|end|>``);
#: the role's own tokens come on top.
TOKENS_PER_MESSAGE = 3
#: Tokens that prime the assistant's reply, added once per non-empty conversation.
REPLY_PRIMING_TOKENS = 3
#: Flat estimate for each non-text payload (``blob``, ``uri``, ``file`` parts, ``data:`` URLs): OpenAI's
#: low-detail image price. Base64 payloads are never tokenized as text.
IMAGE_TOKENS = 85

_BUNDLED = frozenset({CL100K, O200K})
_NON_TEXT_PARTS = frozenset({"blob", "uri", "file", "image", "image_url", "audio", "input_audio", "video"})
# Exact ratios as (numerator, denominator) so rounding up never suffers float error (100 x 1.22).
_CLAUDE_RATIO = (122, 100)
_CLAUDE_NEW_TOKENIZER_RATIO = (3, 2)
_CLAUDE_VERSION = re.compile(r"(opus|sonnet|haiku)-(\d{1,2})(?!\d)(?:[-.](\d{1,2})(?!\d))?")


@functools.lru_cache(maxsize=1024)
def encoding_name_for(provider: str, model: str | None) -> str:
    """Name of the bundled encoding used to count for ``provider``/``model`` (cached per pair)."""
    if model and provider in ("openai", "azure.ai.openai") and "claude" not in model.lower():
        try:
            name = tiktoken.model.encoding_name_for_model(model)
        except KeyError:
            return O200K
        # Legacy p50k/r50k models and o200k_harmony (same ranks as o200k) fall back to o200k.
        return name if name in _BUNDLED else O200K
    return O200K


@functools.lru_cache(maxsize=1024)
def _ratio(provider: str, model: str | None) -> tuple[int, int] | None:
    """Scaling from o200k counts to the provider's tokens, or None when counts are used as they are."""
    lowered = (model or "").lower()
    if "claude" not in lowered and provider != "anthropic":
        return None
    match = _CLAUDE_VERSION.search(lowered)
    if match:
        family, major, minor = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        # Opus 4.7 introduced a tokenizer producing ~1.5x o200k; later generations are assumed to keep it.
        if major >= 5 or (family == "opus" and (major, minor) >= (4, 7)):
            return _CLAUDE_NEW_TOKENIZER_RATIO
    return _CLAUDE_RATIO


def _scale(count: int, provider: str, model: str | None) -> int:
    ratio = _ratio(provider, model)
    if ratio is None:
        return count
    num, den = ratio
    return -(-count * num // den)  # ceil division in integers


def _raw_count(text: str, encoding: tiktoken.Encoding) -> int:
    if not text:
        return 0
    # disallowed_special=() so user text containing "<|endoftext|>" is counted as text, never rejected.
    return len(encoding.encode(text, disallowed_special=()))


def count_text(text: str, *, provider: str, model: str | None = None) -> int:
    """Estimated number of tokens ``text`` costs on ``provider``'s ``model`` (see the module rules).

    Never downloads anything. Blocks until the needed encoding is loaded (see ``preload``).
    """
    encoding = get_encoding(encoding_name_for(provider, model))
    return _scale(_raw_count(text, encoding), provider, model)


def _is_data_url(text: str) -> bool:
    # Inline base64 payloads (data:image/png;base64,...) are priced as an image, not tokenized as text.
    return text.startswith("data:") and ";base64," in text[:200]


def _as_text(value: Any) -> str:
    """Text form of a tool-call argument or result: strings as they are, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _part_tokens(part: Mapping[str, Any], encoding: tiktoken.Encoding) -> int:
    """Raw (unscaled) tokens of one OTel GenAI message part."""
    kind = part.get("type")
    if kind in _NON_TEXT_PARTS:
        return IMAGE_TOKENS
    if kind == "tool_call":
        return _raw_count(_as_text(part.get("name")), encoding) + _raw_count(
            _as_text(part.get("arguments")), encoding
        )
    if kind == "tool_call_response":
        return _raw_count(_as_text(part.get("response", part.get("result"))), encoding)
    content = part.get("content")
    if isinstance(content, str):
        # text, reasoning and unknown part types that carry text
        return IMAGE_TOKENS if _is_data_url(content) else _raw_count(content, encoding)
    return 0


def _parts_tokens(parts: Iterable[Any], encoding: tiktoken.Encoding) -> int:
    return sum(_part_tokens(part, encoding) for part in parts if isinstance(part, Mapping))


def count_parts(parts: Iterable[Mapping[str, Any]], *, provider: str, model: str | None = None) -> int:
    """Estimated tokens of a bare list of parts (e.g. a record's ``system_instructions``), no overhead."""
    encoding = get_encoding(encoding_name_for(provider, model))
    return _scale(_parts_tokens(parts, encoding), provider, model)


def count_output(messages: Iterable[Mapping[str, Any]], *, provider: str, model: str | None = None) -> int:
    """Estimated completion tokens of a reply's ``messages`` (the OTel GenAI shape): their parts only.

    Unlike :func:`count_messages` there is no per-message or reply-priming overhead: providers count
    those on the prompt side, so a cut-off stream that received ``"Sure. I wil"`` costs exactly the
    tokens of that text. Parts count as in :func:`count_messages`; the total is scaled once (Anthropic).
    """
    encoding = get_encoding(encoding_name_for(provider, model))
    total = 0
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        parts = message.get("parts")
        if isinstance(parts, list | tuple):
            total += _parts_tokens(parts, encoding)
        elif "type" in message:
            total += _part_tokens(message, encoding)  # a bare part
        elif isinstance(message.get("content"), str):
            total += _part_tokens({"type": "text", "content": message["content"]}, encoding)
    return _scale(total, provider, model)


def count_messages(messages: Iterable[Mapping[str, Any]], *, provider: str, model: str | None = None) -> int:
    """Estimated prompt tokens of ``messages`` in the OTel GenAI shape (``role`` plus ``parts``).

    Each message costs ``TOKENS_PER_MESSAGE`` plus its role's tokens plus its parts; a non-empty list adds
    ``REPLY_PRIMING_TOKENS``. Parts: ``text``/``reasoning`` count their ``content``; ``tool_call`` its
    ``name`` and ``arguments`` (JSON when not a string); ``tool_call_response`` its ``response``;
    ``blob``/``uri``/``file`` and ``data:...;base64,`` text count ``IMAGE_TOKENS`` each, never their bytes.
    A message with a plain string ``content`` and no ``parts`` is accepted too. For Anthropic the whole
    total, overhead included, is scaled by the Claude ratio once and rounded up.
    """
    encoding = get_encoding(encoding_name_for(provider, model))
    total = 0
    seen = False
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        seen = True
        if "parts" not in message and "type" in message:
            total += _part_tokens(message, encoding)  # a bare part (system_instructions shape)
            continue
        total += TOKENS_PER_MESSAGE + _raw_count(_as_text(message.get("role")), encoding)
        parts = message.get("parts")
        if isinstance(parts, list | tuple):
            total += _parts_tokens(parts, encoding)
        elif isinstance(message.get("content"), str):
            total += _part_tokens({"type": "text", "content": message["content"]}, encoding)
    if seen:
        total += REPLY_PRIMING_TOKENS
    return _scale(total, provider, model)
