"""The OpenAI surface matrix the tests run through: one function per surface, sync and async.

Each runner makes one call and *materializes* what the user got (class plus ``model_dump()`` of every
object, every chunk of a stream, every event and the final object of a ``.stream()`` helper), so an
instrumented call can be compared with an uninstrumented one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic

#: The fake's reply text: JSON, so that ``.parse(response_format=...)`` has something to parse.
TEXT = '{"greeting": "Hello there, friend"}'
#: Output tokens the fake reports for TEXT (about four characters per token).
OUTPUT_TOKENS = (len(TEXT) + 3) // 4
INPUT_TOKENS = 12
SYSTEM = "Be brief."
PROMPT = "Say hello"


class Greeting(pydantic.BaseModel):
    """Structured output for the ``parse`` surfaces."""

    greeting: str


def chat_kwargs() -> dict[str, Any]:
    """A fresh chat request (a fresh messages list each time)."""
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
    }


def responses_kwargs() -> dict[str, Any]:
    """A Responses API request."""
    return {"model": "gpt-4.1-mini", "input": PROMPT, "instructions": SYSTEM}


def legacy_kwargs() -> dict[str, Any]:
    """A legacy completions request."""
    return {"model": "gpt-3.5-turbo-instruct", "prompt": PROMPT}


def embeddings_kwargs() -> dict[str, Any]:
    """An embeddings request."""
    return {"model": "text-embedding-3-small", "input": PROMPT}


@dataclass(frozen=True)
class Surface:
    """One public OpenAI method as the user calls it, and what its record should say."""

    name: str
    api: str
    operation: str
    model: str
    stream: bool
    #: The record's finish reasons.
    finish: tuple[str, ...]
    #: Whether the record has output text (embeddings have none).
    has_output: bool = True

    @property
    def id(self) -> str:
        return f"{self.name}{'-stream' if self.stream else ''}"


SURFACES: tuple[Surface, ...] = (
    Surface("chat.create", "chat.completions.create", "chat", "gpt-4o-mini", False, ("stop",)),
    Surface("chat.create", "chat.completions.create", "chat", "gpt-4o-mini", True, ("stop",)),
    Surface("chat.parse", "chat.completions.parse", "chat", "gpt-4o-mini", False, ("stop",)),
    Surface("chat.stream", "chat.completions.stream", "chat", "gpt-4o-mini", True, ("stop",)),
    Surface("responses.create", "responses.create", "chat", "gpt-4.1-mini", False, ("completed",)),
    Surface("responses.create", "responses.create", "chat", "gpt-4.1-mini", True, ("completed",)),
    Surface("responses.parse", "responses.parse", "chat", "gpt-4.1-mini", False, ("completed",)),
    Surface("responses.stream", "responses.stream", "chat", "gpt-4.1-mini", True, ("completed",)),
    Surface(
        "completions.create",
        "completions.create",
        "text_completion",
        "gpt-3.5-turbo-instruct",
        False,
        ("stop",),
    ),
    Surface(
        "completions.create",
        "completions.create",
        "text_completion",
        "gpt-3.5-turbo-instruct",
        True,
        ("stop",),
    ),
    Surface(
        "embeddings.create",
        "embeddings.create",
        "embeddings",
        "text-embedding-3-small",
        False,
        (),
        has_output=False,
    ),
)


def dump(value: Any) -> Any:
    """The user-visible content of an SDK object: its class and ``model_dump()``."""
    if isinstance(value, pydantic.BaseModel):
        return (value.__class__, value.model_dump(warnings=False))
    return (value.__class__, value)


def _stream_options(surface: Surface, usage_option: bool) -> dict[str, Any]:
    if usage_option and surface.name in ("chat.create", "chat.stream", "completions.create"):
        return {"stream_options": {"include_usage": True}}
    return {}


def run_sync(client: Any, surface: Surface, *, usage_option: bool = False) -> Any:
    """Call ``surface`` on a sync client; return what the user saw, materialized.

    ``usage_option`` asks for stream usage explicitly (then the instrumented request equals the plain one).
    """
    extra = _stream_options(surface, usage_option) if surface.stream else {}
    name = surface.name
    if name == "chat.create":
        result = client.chat.completions.create(**chat_kwargs(), stream=surface.stream, **extra)
    elif name == "chat.parse":
        result = client.chat.completions.parse(**chat_kwargs(), response_format=Greeting)
    elif name == "responses.create":
        result = client.responses.create(**responses_kwargs(), stream=surface.stream)
    elif name == "responses.parse":
        result = client.responses.parse(**responses_kwargs(), text_format=Greeting)
    elif name == "completions.create":
        result = client.completions.create(**legacy_kwargs(), stream=surface.stream, **extra)
    elif name == "embeddings.create":
        result = client.embeddings.create(**embeddings_kwargs())
    elif name == "chat.stream":
        with client.chat.completions.stream(
            **chat_kwargs(), response_format=Greeting, **_stream_options(surface, usage_option)
        ) as helper:
            events = [dump(event) for event in helper]
            final = helper.get_final_completion()
        return ("helper", helper.__class__, events, dump(final))
    elif name == "responses.stream":
        with client.responses.stream(**responses_kwargs(), text_format=Greeting) as helper:
            events = [dump(event) for event in helper]
            final = helper.get_final_response()
        return ("helper", helper.__class__, events, dump(final))
    else:  # pragma: no cover - a typo in SURFACES
        raise AssertionError(name)
    if surface.stream:
        return ("stream", result.__class__, [dump(chunk) for chunk in result])
    return dump(result)


async def run_async(client: Any, surface: Surface, *, usage_option: bool = False) -> Any:
    """:func:`run_sync` for an async client."""
    extra = _stream_options(surface, usage_option) if surface.stream else {}
    name = surface.name
    if name == "chat.create":
        result = await client.chat.completions.create(**chat_kwargs(), stream=surface.stream, **extra)
    elif name == "chat.parse":
        result = await client.chat.completions.parse(**chat_kwargs(), response_format=Greeting)
    elif name == "responses.create":
        result = await client.responses.create(**responses_kwargs(), stream=surface.stream)
    elif name == "responses.parse":
        result = await client.responses.parse(**responses_kwargs(), text_format=Greeting)
    elif name == "completions.create":
        result = await client.completions.create(**legacy_kwargs(), stream=surface.stream, **extra)
    elif name == "embeddings.create":
        result = await client.embeddings.create(**embeddings_kwargs())
    elif name == "chat.stream":
        async with client.chat.completions.stream(
            **chat_kwargs(), response_format=Greeting, **_stream_options(surface, usage_option)
        ) as helper:
            events = [dump(event) async for event in helper]
            final = await helper.get_final_completion()
        return ("helper", helper.__class__, events, dump(final))
    elif name == "responses.stream":
        async with client.responses.stream(**responses_kwargs(), text_format=Greeting) as helper:
            events = [dump(event) async for event in helper]
            final = await helper.get_final_response()
        return ("helper", helper.__class__, events, dump(final))
    else:  # pragma: no cover
        raise AssertionError(name)
    if surface.stream:
        return ("stream", result.__class__, [dump(chunk) async for chunk in result])
    return dump(result)


#: Surfaces reachable through ``with_raw_response`` / ``with_streaming_response`` (resource, method).
RAW_SURFACES: tuple[tuple[str, bool], ...] = (
    ("chat.create", False),
    ("chat.create", True),
    ("responses.create", False),
    ("responses.create", True),
    ("completions.create", False),
    ("completions.create", True),
    ("embeddings.create", False),
)


def surface(name: str, stream: bool) -> Surface:
    """The :data:`SURFACES` entry for ``name`` / ``stream``."""
    return next(s for s in SURFACES if s.name == name and s.stream == stream)


def raw_call_args(
    client: Any, name: str, stream: bool, usage_option: bool
) -> tuple[Any, str, dict[str, Any]]:
    """(resource, method name, kwargs) for a raw call of ``name``."""
    extra: dict[str, Any] = {"stream": True} if stream else {}
    if stream and usage_option and name in ("chat.create", "completions.create"):
        extra["stream_options"] = {"include_usage": True}
    if name == "chat.create":
        return client.chat.completions, "create", {**chat_kwargs(), **extra}
    if name == "responses.create":
        return client.responses, "create", {**responses_kwargs(), **extra}
    if name == "completions.create":
        return client.completions, "create", {**legacy_kwargs(), **extra}
    return client.embeddings, "create", embeddings_kwargs()


def run_raw_sync(client: Any, name: str, stream: bool, mode: str, *, usage_option: bool = False) -> Any:
    """A ``with_raw_response`` / ``with_streaming_response`` call, materialized."""
    resource, method, kwargs = raw_call_args(client, name, stream, usage_option)
    if mode == "raw":
        raw = getattr(resource.with_raw_response, method)(**kwargs)
        return (raw.__class__, raw.headers.get("x-request-id"), _materialize_parsed(raw.parse(), stream))
    with getattr(resource.with_streaming_response, method)(**kwargs) as raw:
        return (raw.__class__, raw.headers.get("x-request-id"), _materialize_parsed(raw.parse(), stream))


async def run_raw_async(
    client: Any, name: str, stream: bool, mode: str, *, usage_option: bool = False
) -> Any:
    """:func:`run_raw_sync` for an async client."""
    resource, method, kwargs = raw_call_args(client, name, stream, usage_option)
    if mode == "raw":
        raw = await getattr(resource.with_raw_response, method)(**kwargs)
        parsed = raw.parse()  # the legacy raw response parses synchronously, even for async clients
        if hasattr(parsed, "__await__"):
            parsed = await parsed
        return (raw.__class__, raw.headers.get("x-request-id"), await _amaterialize_parsed(parsed, stream))
    async with getattr(resource.with_streaming_response, method)(**kwargs) as raw:
        parsed = await raw.parse()
        return (raw.__class__, raw.headers.get("x-request-id"), await _amaterialize_parsed(parsed, stream))


def _materialize_parsed(parsed: Any, stream: bool) -> Any:
    if stream:
        return ("stream", parsed.__class__, [dump(chunk) for chunk in parsed])
    return dump(parsed)


async def _amaterialize_parsed(parsed: Any, stream: bool) -> Any:
    if stream:
        return ("stream", parsed.__class__, [dump(chunk) async for chunk in parsed])
    return dump(parsed)


def output_text(record: dict[str, Any]) -> str:
    """All text parts of a record's output messages, joined."""
    return "".join(
        part.get("content") or ""
        for message in record.get("output_messages") or ()
        for part in message["parts"]
        if part["type"] == "text"
    )
