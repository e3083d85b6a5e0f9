"""Helpers for the framework tests: compare a framework's results with and without ``instrument()``."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
from collections.abc import Callable
from typing import Any

import llm_monitor_sdk as lm

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-\d+)?", re.I)
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
#: Keys whose values change on every run whatever we do (wall-clock times, durations).
VOLATILE_KEYS = frozenset(
    {"created", "timestamp", "response_ms", "_response_ms", "duration", "start_time", "end_time"}
)


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-like copy of ``value`` with per-run noise (uuids, wall-clock times) masked."""
    if depth > 40:
        return "<deep>"
    if isinstance(value, str):
        return _ISO.sub("<time>", _UUID.sub("<uuid>", value))
    if isinstance(value, bool | int | float | type(None)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.timedelta):
        return "<time>"
    if isinstance(value, enum.Enum):
        return plain(value.value, depth + 1)
    if isinstance(value, dict):
        return {
            str(k): ("<volatile>" if k in VOLATILE_KEYS else plain(v, depth + 1)) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v, depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return plain(dump(), depth + 1)
        except Exception:
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth + 1)
    if hasattr(value, "__dict__"):
        return {"__type__": type(value).__name__, **plain(vars(value), depth + 1)}
    return _UUID.sub("<uuid>", repr(value))


def with_and_without(
    call: Callable[[], Any], **instrument_kwargs: Any
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """``call()`` uninstrumented, then instrumented; returns both results and the records of the second.

    ``call`` must build its own framework objects (clients cache bound methods).
    """
    lm.uninstrument()
    plain_result = call()
    memory = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[memory], redact=False, flush_interval=0.05, **instrument_kwargs)
    try:
        instrumented = call()
        assert lm.flush(10.0)
    finally:
        lm.uninstrument()
    return plain_result, instrumented, list(memory.records)


def calls(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "llm_call"]


def output_text(record: dict[str, Any]) -> str:
    return "".join(
        part.get("content") or ""
        for message in record.get("output_messages") or []
        for part in message.get("parts") or []
        if part.get("type") == "text"
    )


def tool_calls(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for message in record.get("output_messages") or []
        for part in message.get("parts") or []
        if part.get("type") == "tool_call"
    ]


def assert_complete(
    record: dict[str, Any], *, model: str, provider: str = "openai", text: str | None = None
) -> None:
    """One finished call with model, usage and (when given) the response text."""
    assert record["status"] == "ok", record.get("error")
    assert record["provider"] == provider
    assert record["request_model"] == model and record["response_model"] == model
    usage = record["usage"]
    assert usage["source"] == "provider" and usage["input_tokens"] == 12 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    if text is not None:
        assert output_text(record) == text
