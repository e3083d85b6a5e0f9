"""Drivers for the Anthropic test matrix: one per surface, sync and async, returning what the user saw.

A driver makes one call and consumes it the way users do, then summarises everything user-visible
(types, bodies, events, helper results, request ids) as plain data, so that an instrumented call can
be compared with an uninstrumented one.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anthropic
import pydantic

MODEL = "claude-haiku-4-5"
SYSTEM = "You are terse."
PROMPT = "Say hello."
REQUEST_ID = "req_fixed_0001"
KWARGS: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "system": SYSTEM,
    "stop_sequences": ["END"],
    "messages": [{"role": "user", "content": PROMPT}],
}
#: Old releases have legacy Text Completions (``/v1/complete``); 1.0 removed them.
HAS_LEGACY_COMPLETIONS = hasattr(getattr(anthropic, "resources", None), "completions")


class Answer(pydantic.BaseModel):
    """Structured output for ``.parse()``."""

    answer: str


def dump(value: Any) -> Any:
    """A JSON-ready view of an SDK object (pydantic model) or plain value."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", warnings=False)  # 0.x types parsed_output loosely
    return value


async def maybe_await(value: Any) -> Any:
    """Await coroutines (async clients), pass other values through."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Any, is_async: bool) -> list[Any]:
    """Every event of a sync or async iterable, dumped."""
    if is_async:
        return [dump(event) async for event in stream]
    return [dump(event) for event in stream]


def _resource(client: Any, beta: bool) -> Any:
    return client.beta.messages if beta else client.messages


async def create(client: Any, is_async: bool, stream: bool, beta: bool = False) -> dict[str, Any]:
    """``messages.create`` (plain or ``stream=True``)."""
    kwargs = dict(KWARGS, stream=True) if stream else KWARGS
    result = await maybe_await(_resource(client, beta).create(**kwargs))
    if not stream:
        return {"class": result.__class__.__name__, "body": dump(result), "request_id": result._request_id}
    events = await collect(result, is_async)
    return {
        "class": result.__class__.__name__,
        "events": events,
        "request_id": result.response.headers.get("request-id"),
    }


async def parse(client: Any, is_async: bool, stream: bool, beta: bool = False) -> dict[str, Any]:
    """``messages.parse`` with a pydantic output format."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 0.x beta prefers output_config; both work
        result = await maybe_await(_resource(client, beta).parse(output_format=Answer, **KWARGS))
    return {
        "class": result.__class__.__name__,
        "body": dump(result),
        "parsed": dump(result.parsed_output),
        "request_id": result._request_id,
    }


async def helper_stream(
    client: Any, is_async: bool, stream: bool, beta: bool = False, consume: str = "text_stream"
) -> dict[str, Any]:
    """``messages.stream()``: the manager, then one of the helper's ways of reading."""
    manager = _resource(client, beta).stream(**KWARGS)
    out: dict[str, Any] = {"manager_class": manager.__class__.__name__}
    if is_async:
        async with manager as helper:
            out["helper_class"] = helper.__class__.__name__
            if consume == "text_stream":
                out["texts"] = [text async for text in helper.text_stream]
            elif consume == "events":
                out["events"] = await collect(helper, True)
            else:
                await helper.until_done()
            out["final"] = dump(await helper.get_final_message())
            out["final_text"] = await helper.get_final_text()
            out["request_id"] = helper.request_id
    else:
        with manager as helper:
            out["helper_class"] = helper.__class__.__name__
            if consume == "text_stream":
                out["texts"] = list(helper.text_stream)
            elif consume == "events":
                out["events"] = await collect(helper, False)
            else:
                helper.until_done()
            out["final"] = dump(helper.get_final_message())
            out["final_text"] = helper.get_final_text()
            out["request_id"] = helper.request_id
    return out


async def raw_response(client: Any, is_async: bool, stream: bool, beta: bool = False) -> dict[str, Any]:
    """``with_raw_response.create``: headers, then ``parse()`` (a stream is iterated)."""
    kwargs = dict(KWARGS, stream=True) if stream else KWARGS
    raw = await maybe_await(_resource(client, beta).with_raw_response.create(**kwargs))
    parsed = await maybe_await(raw.parse())
    body = await collect(parsed, is_async) if stream else dump(parsed)
    return {"class": raw.__class__.__name__, "request_id": raw.headers.get("request-id"), "body": body}


async def streaming_response(client: Any, is_async: bool, stream: bool, beta: bool = False) -> dict[str, Any]:
    """``with_streaming_response.create`` inside its ``with`` block."""
    kwargs = dict(KWARGS, stream=True) if stream else KWARGS
    manager = _resource(client, beta).with_streaming_response.create(**kwargs)
    if is_async:
        async with manager as response:
            parsed = await response.parse()
            body = await collect(parsed, True) if stream else dump(parsed)
            rid = response.headers.get("request-id")
    else:
        with manager as response:
            parsed = response.parse()
            body = await collect(parsed, False) if stream else dump(parsed)
            rid = response.headers.get("request-id")
    return {"request_id": rid, "body": body}


Driver = Callable[[Any, bool, bool], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Surface:
    """One row of the matrix: how to call it, the record's ``api``, and which stream modes it has."""

    name: str
    api: str
    drive: Driver
    modes: tuple[bool, ...] = (False, True)  # stream=False / stream=True
    text: str = "Hello there, friend!"


def _bind(driver: Callable[..., Awaitable[dict[str, Any]]], **extra: Any) -> Driver:
    async def run(client: Any, is_async: bool, stream: bool) -> dict[str, Any]:
        return await driver(client, is_async, stream, **extra)

    return run


_JSON_TEXT = json.dumps({"answer": "yes"})

SURFACES: tuple[Surface, ...] = (
    Surface("create", "messages.create", create),
    Surface("parse", "messages.parse", parse, modes=(False,), text=_JSON_TEXT),
    Surface("stream-text", "messages.stream", _bind(helper_stream, consume="text_stream"), modes=(True,)),
    Surface("stream-events", "messages.stream", _bind(helper_stream, consume="events"), modes=(True,)),
    Surface(
        "stream-until-done", "messages.stream", _bind(helper_stream, consume="until_done"), modes=(True,)
    ),
    Surface("raw", "messages.create", raw_response),
    Surface("streaming-response", "messages.create", streaming_response),
    Surface("beta-create", "beta.messages.create", _bind(create, beta=True)),
    Surface("beta-parse", "beta.messages.parse", _bind(parse, beta=True), modes=(False,), text=_JSON_TEXT),
    Surface("beta-stream", "beta.messages.stream", _bind(helper_stream, beta=True), modes=(True,)),
    Surface("beta-raw", "beta.messages.create", _bind(raw_response, beta=True)),
)


def cases() -> list[tuple[Surface, bool, bool]]:
    """(surface, is_async, stream) for every combination the surface supports."""
    return [(s, is_async, stream) for s in SURFACES for is_async in (False, True) for stream in s.modes]


def case_id(case: tuple[Surface, bool, bool]) -> str:
    """A readable pytest id such as ``create-async-stream``."""
    surface, is_async, stream = case
    return f"{surface.name}-{'async' if is_async else 'sync'}-{'stream' if stream else 'plain'}"


class StatusErrorSpy:
    """Records the exceptions the SDK itself builds for HTTP errors (to check the caller gets that object)."""

    def __init__(self, client: Any) -> None:
        self.made: list[BaseException] = []
        original = client._make_status_error

        def spy(*args: Any, **kwargs: Any) -> Any:
            exc = original(*args, **kwargs)
            self.made.append(exc)
            return exc

        client._make_status_error = spy
