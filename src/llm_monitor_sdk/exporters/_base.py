"""The exporter seam: every sink is an object with ``export(batch)`` and ``shutdown()``.

Threading contract: ``export`` and ``shutdown`` are called only from the pipeline's export worker
thread (``shutdown`` may also run from an ``atexit`` hook), never from the user's thread, one call
at a time. ``export`` may block (it delays only later batches), must not keep references to the
dicts it mutates, and should raise on failure: the pipeline catches the exception, counts the batch
as failed for that exporter alone and goes on with the others.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from .._convert import RECORD_MAX_DEPTH, Converter, to_json_record
from ..record import RecordDict

logger = logging.getLogger("llm_monitor_sdk")


@runtime_checkable
class Exporter(Protocol):
    """What the pipeline needs from a sink."""

    def export(self, records: Sequence[RecordDict]) -> None:
        """Deliver one batch of already redacted records (JSON-ready dicts; see :class:`~llm_monitor_sdk.Record`)."""

    def shutdown(self) -> None:
        """Flush what is buffered and release files, sockets and threads. Called once."""


class DeliveryError(RuntimeError):
    """An exporter could not deliver a batch (an endpoint that refused or failed it).

    Raised from ``export()``: the pipeline counts the batch as failed and logs it once per exporter,
    without a traceback (it is the endpoint's condition, not a fault in the SDK).
    """


class _NeedsRepair(Exception):
    """Raised from the encoders' ``default`` hook when a value can only be written as a marker."""


def _json_default(value: Any) -> Any:
    # Records are JSON-ready by construction; a stray object (from a processor, a submitted record)
    # gets the same conversion record building uses, so it reads the same in every record. What
    # needs a marker sends the whole record to the repair path, where the marker is counted.
    converter = Converter(max_depth=RECORD_MAX_DEPTH, max_items=None, max_string=None)
    out = converter.convert(value)
    if converter.markers:
        raise _NeedsRepair
    return out


def _encode_stdlib(record: RecordDict) -> bytes:
    # allow_nan=False: NaN and infinities are not JSON; such a record takes the repair path (-> null).
    return json.dumps(
        record, ensure_ascii=False, separators=(",", ":"), default=_json_default, allow_nan=False
    ).encode()


def _make_encoder() -> Callable[[RecordDict], bytes]:
    try:
        import orjson
    except ImportError:
        return _encode_stdlib
    dumps = orjson.dumps
    # Same output as the stdlib path for JSON-ready records (compact, UTF-8, NaN as null); datetimes
    # and dataclasses go to ``_json_default`` as with json. What orjson refuses (non-str keys, integers
    # beyond 64 bits, nesting deeper than 254, cycles) raises, and the record takes the repair path:
    # orjson's option for non-str keys costs ~40% of its speed on every record.
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def encode(record: RecordDict) -> bytes:
        return dumps(record, default=_json_default, option=options)

    return encode


_encode = _make_encoder()


def encode_checked(record: RecordDict) -> tuple[bytes, bool]:
    """One record as compact UTF-8 JSON, and whether it had to be repaired with markers.

    Never raises. A record the fast encoder refuses is converted whole
    (:func:`~llm_monitor_sdk._convert.to_json_record`: every value that can be written is kept,
    cycles, nesting past the cap and values whose ``repr`` raises become ``"<...>"`` markers) and
    written again. ``True`` when markers (or keys that had to become text) were needed.
    """
    try:
        return _encode(record), False
    except Exception:  # TypeError, ValueError, RecursionError, _NeedsRepair, a broken __str__ ...
        pass
    try:
        fixed, markers = to_json_record(record)
        return _encode_stdlib(fixed), markers > 0
    except Exception as exc:  # pragma: no cover - to_json_record returns plain JSON data
        return _unencodable(record, exc), True


def encode_value(value: Any) -> str:
    """Any value as compact JSON text (never raises): the record encoder's rules for one value
    (the OpenTelemetry mapping writes objects such as ``request_params`` as JSON attributes with it)."""
    try:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), default=_json_default, allow_nan=False
        )
    except Exception:
        converter = Converter(max_depth=RECORD_MAX_DEPTH, max_items=None, max_string=None)
        return json.dumps(converter.convert(value), ensure_ascii=False, separators=(",", ":"))


def _unencodable(record: Any, exc: BaseException) -> bytes:
    # Last resort: the fields that encode on their own, a marker for each of the others.
    out: dict[str, Any] = {}
    items = record.items() if isinstance(record, dict) else ()
    for key, value in items:
        try:
            json.dumps(value, allow_nan=False)
            out[str(key)] = value
        except Exception:
            out[str(key)] = f"<unencodable {type(value).__name__}>"
    if not out:
        out["unencodable"] = f"<unencodable record: {type(exc).__name__}>"
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()


def encode_record(record: RecordDict) -> bytes:
    """One record as compact UTF-8 JSON (no trailing newline); never raises.

    Uses ``orjson`` when it is installed (``pip install -e '.[fast]'``; about 8x faster on a
    typical record), the standard library's ``json`` otherwise. Both give the same JSON for records.
    See :func:`encode_checked` for what happens to a record that cannot be written as it is.
    """
    return encode_checked(record)[0]


_counter_lock = threading.Lock()
_unencodable_total = 0
_last_warning: float | None = None
_WARN_EVERY = 60.0


def unencodable_count() -> int:
    """Records written with markers since the process started (``lm.stats()["queue"]["unencodable"]``
    reports those of the running monitor)."""
    return _unencodable_total


def _count_unencodable(n: int) -> None:
    global _unencodable_total
    with _counter_lock:
        _unencodable_total += n


def _encode_all(
    records: Sequence[RecordDict], counted: frozenset[int] | set[int] = frozenset()
) -> list[bytes]:
    lines: list[bytes] = []
    repaired = 0
    for record in records:
        line, fixed = encode_checked(record)
        lines.append(line)
        if fixed and id(record) not in counted:
            repaired += 1
    if repaired:
        _count_unencodable(repaired)
        global _last_warning
        now = time.monotonic()
        if _last_warning is not None and now - _last_warning < _WARN_EVERY:
            return lines
        _last_warning = now
        logger.warning(
            "llm_monitor_sdk: %d record(s) held values that cannot be written as JSON; "
            "written with '<...>' markers in their place (%d so far; logged at most once a minute)",
            repaired,
            _unencodable_total,
        )
    return lines


class RecordBatch(list[RecordDict]):
    """A list of records that serializes itself once, however many exporters ask.

    Exporters that write JSON (``JSONLExporter``, ``HTTPExporter``) call :meth:`encoded`; the first
    call encodes, later calls reuse the bytes. Plain lists work everywhere a batch is expected.
    """

    _encoded: list[bytes] | None = None
    #: ``id()`` of the records already counted as unencodable when they were built (markers written
    #: then): the encoder does not count them again.
    counted: set[int] | frozenset[int] = frozenset()

    def encoded(self) -> list[bytes]:
        """Each record as compact JSON bytes, in order (a record that cannot be written as it is
        is repaired with markers and counted; see :func:`encode_checked`)."""
        if self._encoded is None or len(self._encoded) != len(self):
            self._encoded = _encode_all(self, self.counted)
        return self._encoded


def encoded_records(records: Sequence[RecordDict]) -> list[bytes]:
    """JSON bytes for each record, reusing a :class:`RecordBatch`'s cache when there is one."""
    if isinstance(records, RecordBatch):
        return records.encoded()
    return _encode_all(records)
