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
#: Deepest nesting a whole record may have when the encoder has to repair it (a record's own
#: structure is about 6 levels; ``ContentCopy`` caps content at 24 below its field).
RECORD_MAX_DEPTH = 64

#: Marker for a container that holds itself (directly or further down).
CYCLE = "<cycle>"

# Markers written by any converter in this process. The export worker compares it before and after
# building a record to learn whether that record needed markers (see ``markers_written``).
_markers_total = 0


def markers_written() -> int:
    """How many marker strings converters have written in this process so far."""
    return _markers_total


def _truncate(text: str, limit: int | None = MAX_STRING) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit] + f"...<truncated {len(text) - limit} chars>"


class Converter:
    """Turns one value into JSON-ready data, counting the markers it had to write.

    The one conversion behind record building (:func:`to_jsonable`) and the encoder's repair of a
    record it could not write as it is (:func:`to_json_record`), so a datetime, UUID, enum or
    dataclass comes out the same in every kind of record: ISO 8601 text, the UUID's text, the enum's
    value, the dataclass's fields. NaN and infinities become ``None``. What cannot be converted (a
    ``__repr__`` or ``model_dump`` that raises, nesting past ``max_depth``, a container holding itself)
    becomes a ``"<...>"`` marker string and counts in :attr:`markers`; so does a dict key that is not
    a string, number, bool or None (written as its ``str``).
    """

    __slots__ = ("_active", "markers", "max_depth", "max_items", "max_string")

    def __init__(
        self,
        max_depth: int = MAX_DEPTH,
        max_items: int | None = MAX_ITEMS,
        max_string: int | None = MAX_STRING,
    ) -> None:
        self.max_depth = max_depth
        self.max_items = max_items
        self.max_string = max_string
        self.markers = 0
        self._active: set[int] = set()  # ids of the containers being converted (cycle detection)

    def convert(self, value: Any, depth: int = 0) -> Any:
        """A JSON-ready copy of ``value`` (never raises)."""
        try:
            return self._convert(value, depth)
        except Exception as exc:  # a broken __repr__ or model_dump must not cost the record
            try:
                reason = repr(exc)
            except Exception:  # an exception whose own repr is broken
                reason = type(exc).__name__
            return self.marker(f"<unserializable {type(value).__name__}: {_truncate(reason, 200)}>")

    def marker(self, text: str) -> str:
        """Count and return a marker string."""
        global _markers_total
        self.markers += 1
        _markers_total += 1
        return text

    def _convert(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None  # NaN and infinities are not JSON
        if isinstance(value, str):
            return _truncate(value, self.max_string)
        if depth >= self.max_depth:
            return self.marker(f"<{type(value).__name__} nested too deep>")
        if isinstance(value, bytes | bytearray | memoryview):
            return f"<{len(bytes(value))} bytes>"
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            ident = id(value)
            if ident in self._active:
                return self.marker(CYCLE)
            self._active.add(ident)
            try:
                if isinstance(value, Mapping):
                    return self._mapping(value, depth)
                return self._sequence(value, depth)
            finally:
                self._active.discard(ident)
        if isinstance(value, enum.Enum):
            return self._convert(value.value, depth + 1)
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
            return self._convert(dumped, depth + 1)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self._convert(fields, depth + 1)
        return _truncate(repr(value), self.max_string)

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        limit = self.max_items
        for index, (key, item) in enumerate(value.items()):
            if limit is not None and index >= limit:
                out["..."] = f"<{len(value) - limit} more items>"
                break
            # Items convert one by one (convert contains failures), so one odd value costs only itself.
            out[key if isinstance(key, str) else self._key(key)] = self.convert(item, depth + 1)
        return out

    def _sequence(self, value: Any, depth: int) -> list[Any]:
        items = list(value)
        if isinstance(value, set | frozenset):
            try:
                items.sort()  # stable output for sets of comparable items
            except TypeError:
                pass
        limit = self.max_items
        kept = items if limit is None else items[:limit]
        converted = [self.convert(item, depth + 1) for item in kept]
        if limit is not None and len(items) > limit:
            converted.append(f"<{len(items) - limit} more items>")
        return converted

    def _key(self, key: Any) -> str:
        if key is None or isinstance(key, bool | int | float):
            return str(key)  # a scalar key as text: what JSON itself does, not a marker
        try:
            return self.marker(str(key))
        except Exception:
            return self.marker(f"<unprintable {type(key).__name__} key>")


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` (never raises); depth, items and strings are capped."""
    return Converter().convert(value, _depth)


def to_json_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A JSON-ready copy of a whole record and the number of markers written into it.

    For records the encoder could not write as they are: the same conversion as :func:`to_jsonable`,
    without its item and string caps (content limits were applied when the record was built), with
    nesting capped at :data:`RECORD_MAX_DEPTH`.
    """
    converter = Converter(max_depth=RECORD_MAX_DEPTH, max_items=None, max_string=None)
    out = converter.convert(record)
    if not isinstance(out, dict):
        return {"unencodable": out}, converter.markers + 1
    return out, converter.markers


def blob_summary(data: bytes | str, mime_type: str | None = None) -> dict[str, Any]:
    """A message part for binary content: its type and size, never the bytes themselves."""
    size = len(data) if isinstance(data, bytes) else len(base64.b64decode(data, validate=False) or b"")
    return {"type": "blob", "mime_type": mime_type, "size_bytes": size}


__all__ = [
    "CYCLE",
    "RECORD_MAX_DEPTH",
    "Converter",
    "blob_summary",
    "markers_written",
    "to_json_record",
    "to_jsonable",
]
