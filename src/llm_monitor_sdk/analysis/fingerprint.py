"""``prompt_fingerprint``: 16 hex characters that identify a call's system instructions.

Computed on the export worker after redaction, over the text parts of ``system_instructions`` with
every run of digits collapsed to one ``0``: per-request dates, ids, counters and numbered redaction
placeholders (``<EMAIL_ADDRESS_1>``) do not change it, while any edit to the words does. ``None`` for
a call without system instructions.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_DIGITS = re.compile(r"\d+")


def prompt_fingerprint(system_instructions: Any) -> str | None:
    """The fingerprint of a record's ``system_instructions`` (a list of parts), or ``None``."""
    if not system_instructions or not isinstance(system_instructions, list):
        return None
    texts: list[str] = []
    for part in system_instructions:
        if isinstance(part, dict):
            content = part.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif content is not None:
                texts.append(repr(content))
        elif isinstance(part, str):
            texts.append(part)
    if not texts:
        return None
    text = _DIGITS.sub("0", "\x1f".join(texts))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


__all__ = ["prompt_fingerprint"]
