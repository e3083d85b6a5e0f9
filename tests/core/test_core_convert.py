"""``to_jsonable`` on odd values: always JSON-ready, never raises, one bad item costs only itself."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from typing import Any

import pydantic
import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk._convert import MAX_DEPTH, MAX_ITEMS, MAX_STRING, to_jsonable


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


class BrokenKey:
    def __hash__(self) -> int:
        return 1

    def __str__(self) -> str:
        raise RuntimeError("str exploded")


class Color(enum.Enum):
    RED = "red"


class Attachment(pydantic.BaseModel):
    name: str
    size: int | None = None
    data: bytes = b""


@dataclasses.dataclass
class Point:
    x: float
    y: float
    label: bytes = b"pt"


def _roundtrip(value: Any) -> Any:
    converted = to_jsonable(value)
    # Strict JSON: no NaN/Infinity literals, no custom default.
    return json.loads(json.dumps(converted, allow_nan=False))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (42, 42),
        (1.5, 1.5),
        ("text", "text"),
        (b"\x00\xff binary", "<9 bytes>"),
        (bytearray(b"abc"), "<3 bytes>"),
        (memoryview(b"abcd"), "<4 bytes>"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ((1, "two"), [1, "two"]),
        (float("nan"), None),  # NaN and infinities are not JSON: null
        (float("inf"), None),
        ({"neg": float("-inf")}, {"neg": None}),
        (Color.RED, "red"),
        (datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC), "2026-01-02T03:04:05+00:00"),
        (datetime.date(2026, 1, 2), "2026-01-02"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        ({1: "int key", None: "none key"}, {"1": "int key", "None": "none key"}),
        (Attachment(name="a.txt"), {"name": "a.txt", "data": ""}),
        (Point(1.0, float("nan")), {"x": 1.0, "y": None, "label": "<2 bytes>"}),
    ],
)
def test_values(value: Any, expected: Any) -> None:
    assert _roundtrip(value) == expected


def test_pydantic_model_with_undecodable_bytes_keeps_its_other_fields() -> None:
    converted = _roundtrip({"question": "hi", "file": Attachment(name="x.bin", size=2, data=b"\xff\xfe")})
    assert converted == {"question": "hi", "file": {"name": "x.bin", "size": 2, "data": "<2 bytes>"}}


def test_broken_repr_costs_only_itself() -> None:
    assert _roundtrip(BrokenRepr()).startswith("<unserializable BrokenRepr")
    converted = _roundtrip({"ok": [1, BrokenRepr(), 3], "fine": "yes"})
    assert converted["fine"] == "yes"
    assert converted["ok"][0] == 1 and converted["ok"][2] == 3
    assert "repr exploded" in converted["ok"][1]


def test_broken_key_costs_only_itself() -> None:
    converted = _roundtrip({BrokenKey(): 1, "b": 2})
    assert converted["b"] == 2
    assert len(converted) == 2


def test_broken_model_dump() -> None:
    class BadDump:
        def model_dump(self, **kwargs: Any) -> Any:
            raise ValueError("dump failed")

    assert "dump failed" in _roundtrip([BadDump()])[0]


def test_exception_with_broken_repr_still_does_not_raise() -> None:
    class Nasty(Exception):
        def __repr__(self) -> str:
            raise RuntimeError("even worse")

    class Raiser:
        def __repr__(self) -> str:
            raise Nasty()

    assert _roundtrip({"x": Raiser()}) == {"x": "<unserializable Raiser: Nasty>"}


def test_depth_is_capped_including_cycles() -> None:
    deep: list[Any] = []
    cursor = deep
    for _ in range(MAX_DEPTH * 3):
        cursor.append([])
        cursor = cursor[0]
    converted = _roundtrip(deep)
    for _ in range(MAX_DEPTH):
        converted = converted[0]
    assert converted == "<list nested too deep>"
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    assert json.dumps(to_jsonable(cyclic))  # terminates


def test_sizes_are_capped() -> None:
    converted = _roundtrip(list(range(MAX_ITEMS + 5)))
    assert len(converted) == MAX_ITEMS + 1 and converted[-1] == "<5 more items>"
    mapping = _roundtrip({str(n): n for n in range(MAX_ITEMS + 2)})
    assert mapping["..."] == "<2 more items>"
    text = _roundtrip("x" * (MAX_STRING + 10))
    assert text.endswith("...<truncated 10 chars>") and len(text) < MAX_STRING + 40


def test_unknown_object_becomes_its_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing(42)"

    assert _roundtrip(Thing()) == "Thing(42)"


def test_observe_with_odd_arguments_exports_a_valid_record(recorder) -> None:
    @lm.observe("odd")
    def odd(blob: bytes, broken: object, tags: set[str], when: datetime.date) -> float:
        return float("nan")

    odd(b"12345", BrokenRepr(), {"b", "a"}, datetime.date(2026, 5, 1))
    assert lm.flush(10)
    (span,) = recorder.records
    record = lm.Record.model_validate(json.loads(json.dumps(span, allow_nan=False)))
    assert record.input["blob"] == "<5 bytes>"
    assert record.input["tags"] == ["a", "b"]
    assert record.input["when"] == "2026-05-01"
    assert "repr exploded" in record.input["broken"]
    assert record.output is None
