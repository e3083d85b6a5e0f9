"""Small readers every provider adapter shares (a leaf module: it imports nothing of the SDK's but
the SDK's ``_convert``).

Adapters read SDK response objects and raw JSON dicts alike (:func:`field`), find headers wherever
the SDK keeps them (:func:`header`), recognise the SDKs' "not given" sentinels (:func:`is_given`) and
turn request parameters into JSON-ready values (:func:`param`).
"""

from __future__ import annotations

import json
from typing import Any

from .._convert import to_jsonable

#: A sentinel for "nothing seen yet" (distinct from ``None``, which is a value).
UNSET: Any = object()

# The provider SDKs' sentinel classes for "not passed" (NOT_GIVEN / omit).
_NOT_GIVEN_TYPES = frozenset({"NotGiven", "Omit", "_NotGiven"})


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]``: adapters read SDK objects and raw JSON dicts alike."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def header(obj: Any, name: str) -> str | None:
    """A response header from an SDK response, stream, raw response or HTTP error, if reachable."""
    for holder in (
        obj,
        getattr(obj, "response", None),
        getattr(obj, "http_response", None),
        getattr(obj, "sdk_http_response", None),
    ):
        headers = getattr(holder, "headers", None)
        if headers is not None:
            try:
                value = headers.get(name)
            except Exception:
                value = None
            if value:
                return str(value)
    return None


def is_given(value: Any) -> bool:
    """False for ``None`` and the SDKs' ``NOT_GIVEN``/``omit`` sentinels."""
    return value is not None and type(value).__name__ not in _NOT_GIVEN_TYPES


def param(value: Any) -> Any:
    """A request parameter as JSON-ready data; a class (``parse(response_format=Model)``) by name."""
    if isinstance(value, type):
        return {"type": "json_schema", "name": value.__name__}
    return to_jsonable(value)


def params(kwargs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``request_params``: the given ``keys`` of ``kwargs`` that were really passed, JSON-ready."""
    return {key: param(kwargs[key]) for key in keys if key in kwargs and is_given(kwargs[key])}


def is_raw_response(result: Any) -> bool:
    """The Stainless SDKs' raw response wrappers (``LegacyAPIResponse``, ``APIResponse``, ...).

    The answer is cached per type: probing a pydantic response for a missing attribute raises and
    catches an ``AttributeError`` inside pydantic's ``__getattr__`` (several µs on every call).
    """
    kind = type(result)
    known = _RAW_TYPES.get(kind)
    if known is None:
        known = hasattr(result, "http_response") and callable(getattr(result, "parse", None))
        if len(_RAW_TYPES) >= 512:  # classes made per instance (mocks) must not grow it forever
            _RAW_TYPES.clear()
        _RAW_TYPES[kind] = known
    return known


# type -> whether its instances are raw response wrappers (see is_raw_response).
_RAW_TYPES: dict[type, bool] = {}


def body_is_read(raw: Any) -> bool:
    """Whether a raw response's body has been read (a streamed one has not)."""
    try:
        raw.http_response.content  # noqa: B018 - raises when the body was not read (streamed)
    except Exception:
        return False
    return True


def raw_json(raw: Any) -> Any:
    """The JSON body of a fully read raw response (on the worker), or None."""
    try:
        return json.loads(raw.http_response.content)
    except Exception:
        return None


__all__ = [
    "UNSET",
    "body_is_read",
    "field",
    "header",
    "is_given",
    "is_raw_response",
    "param",
    "params",
    "raw_json",
]
