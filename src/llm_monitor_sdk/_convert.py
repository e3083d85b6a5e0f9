"""Turning arbitrary Python values into JSON-ready data, on the export worker.

Used for ``@observe`` inputs and outputs, metadata and request parameters: pydantic models and
dataclasses become dicts, bytes are summarised (never dumped), anything else unknown becomes its
``repr``; depth, item counts and string lengths are capped so one huge argument cannot stall export.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import math
import uuid
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 12
MAX_ITEMS = 1000
MAX_STRING = 100_000


def _truncate(text: str) -> str:
    if len(text) <= MAX_STRING:
        return text
    return text[:MAX_STRING] + f"...<truncated {len(text) - MAX_STRING} chars>"


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` (never raises)."""
    try:
        return _convert(value, _depth)
    except Exception as exc:  # a broken __repr__ or model_dump must not cost the record
        try:
            reason = repr(exc)
        except Exception:  # an exception whose own repr is broken
            reason = type(exc).__name__
        return f"<unserializable {type(value).__name__}: {reason}>"


def _convert(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN and infinities are not JSON
    if isinstance(value, str):
        return _truncate(value)
    if depth >= MAX_DEPTH:
        return f"<{type(value).__name__} nested too deep>"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out["..."] = f"<{len(value) - MAX_ITEMS} more items>"
                break
            # Items convert one by one (to_jsonable contains failures), so one odd value costs only itself.
            out[key if isinstance(key, str) else _key(key)] = to_jsonable(item, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if isinstance(value, set | frozenset):
            try:
                items.sort()  # stable output for sets of comparable items
            except TypeError:
                pass
        converted = [to_jsonable(item, depth + 1) for item in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            converted.append(f"<{len(items) - MAX_ITEMS} more items>")
        return converted
    if isinstance(value, enum.Enum):
        return _convert(value.value, depth + 1)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            dumped = dump(mode="json", exclude_none=True)
        except Exception:
            # JSON mode fails on e.g. non-UTF-8 bytes fields; python mode + our own conversion does not.
            dumped = dump(exclude_none=True)
        return _convert(dumped, depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _convert({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth + 1)
    return _truncate(repr(value))


def _key(key: Any) -> str:
    try:
        return str(key)
    except Exception:
        return f"<unprintable {type(key).__name__} key>"


def blob_summary(data: bytes | str, mime_type: str | None = None) -> dict[str, Any]:
    """A message part for binary content: its type and size, never the bytes themselves."""
    size = len(data) if isinstance(data, bytes) else len(base64.b64decode(data, validate=False) or b"")
    return {"type": "blob", "mime_type": mime_type, "size_bytes": size}


__all__ = ["blob_summary", "to_jsonable"]
