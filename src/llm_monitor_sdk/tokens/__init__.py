"""Offline token counting: bundled OpenAI BPE files, estimates for Anthropic and Gemini.

``count_text`` and ``count_messages`` never touch the network. Each encoding loads lazily (~0.4 s and
~105 MB for both) the first time it is needed; ``preload()`` loads them on a daemon thread instead
(``instrument()`` does so only when budgets are configured, as those count on the caller's thread).
See ``docs/tokens-and-pricing.md`` for the counting rules.
"""

from ._counting import (
    IMAGE_TOKENS,
    REPLY_PRIMING_TOKENS,
    TOKENS_PER_MESSAGE,
    count_messages,
    count_output,
    count_parts,
    count_text,
    encoding_name_for,
)
from ._encodings import ENCODING_NAMES, get_encoding, is_loaded, preload

__all__ = [
    "ENCODING_NAMES",
    "IMAGE_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "TOKENS_PER_MESSAGE",
    "count_messages",
    "count_output",
    "count_parts",
    "count_text",
    "encoding_name_for",
    "get_encoding",
    "is_loaded",
    "preload",
]
