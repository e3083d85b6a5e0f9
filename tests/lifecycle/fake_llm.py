"""A provider-free streaming LLM client, patched with the SDK's real call wrapper.

It streams like the provider SDKs do (a content-free opening event, the text in pieces, a closing
event with the finish reason and usage), and its transport can fail mid-stream with an exception
object the test holds, so the suite can check that the caller gets that very object. It needs no
provider SDK: the lifecycle (``make_wrapper`` and the stream proxies) is exercised on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import wrapt

from llm_monitor_sdk.instrumentation._call import Adapter, Request
from llm_monitor_sdk.instrumentation._wrapper import make_wrapper
from llm_monitor_sdk.record import usage

PROVIDER = "fake.llm"
MODEL = "fake-model-1"
API = "fake.create"
#: Prices for a ``prices_file`` (USD per million tokens), so a fake call costs something.
PRICES = {"provider": PROVIDER, "model": MODEL, "input_per_mtok": 3.0, "output_per_mtok": 15.0}


class FakeTransportError(ConnectionError):
    """What the fake transport raises when its connection drops."""


class Script:
    """What the next fake stream sends: ``pieces`` of text, then the end event; ``cut_after`` events
    into the stream the transport raises ``error`` instead (the opening event counts)."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.cut_after: int | None = None
        self.error: BaseException | None = None
        self.input_tokens = 12
        self.output_tokens = 8

    def events(self) -> list[dict[str, Any]]:
        """Every event of a full stream."""
        return [
            {"type": "start", "model": MODEL},
            *({"type": "delta", "text": piece} for piece in self.pieces),
            {
                "type": "end",
                "finish_reason": "stop",
                "usage": {"input": self.input_tokens, "output": self.output_tokens},
            },
        ]


#: The script every fake client reads (tests set it up, one test at a time).
SCRIPT = Script()


class FakeStream:
    """A sync stream of events: iterator, ``close()`` and context manager, like ``openai.Stream``."""

    def __init__(self, script: Script) -> None:
        self._events = iter(script.events())
        self._sent = 0
        self._cut_after = script.cut_after
        self._error = script.error
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        if self.closed:
            raise StopIteration
        if self._cut_after is not None and self._sent >= self._cut_after:
            self.closed = True
            assert self._error is not None
            raise self._error
        self._sent += 1
        return next(self._events)

    def close(self) -> None:
        """Drop the connection."""
        self.closed = True

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class AsyncFakeStream:
    """The async twin: ``async for``, ``await close()`` / ``aclose()``, ``async with``."""

    def __init__(self, script: Script) -> None:
        self._sync = FakeStream(script)

    @property
    def closed(self) -> bool:
        """Whether the connection was dropped."""
        return self._sync.closed

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return self._sync.__next__()
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        """Drop the connection."""
        self._sync.close()

    async def aclose(self) -> None:
        """Drop the connection."""
        self._sync.close()

    async def __aenter__(self) -> AsyncFakeStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._sync.close()


class FakeLLM:
    """The sync client: ``create(model=..., messages=..., stream=True)`` returns a :class:`FakeStream`."""

    def create(
        self, *, model: str, messages: list[dict[str, str]], stream: bool = True, **params: Any
    ) -> Any:
        """Start a stream following :data:`SCRIPT`."""
        return FakeStream(SCRIPT)


class AsyncFakeLLM:
    """The async client: ``await create(...)`` returns an :class:`AsyncFakeStream`."""

    async def create(
        self, *, model: str, messages: list[dict[str, str]], stream: bool = True, **params: Any
    ) -> Any:
        """Start a stream following :data:`SCRIPT`."""
        return AsyncFakeStream(SCRIPT)


class FakeStreamAdapter(Adapter):
    """How the lifecycle reads the fake client's requests and events."""

    provider = PROVIDER
    operation = "chat"
    api = API
    param_keys = ("max_tokens",)
    snapshot_keys = ("messages",)

    def is_content_chunk(self, chunk: Any) -> bool:
        """Only text deltas carry content (the opening and closing events do not)."""
        return bool(chunk.get("text"))

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """Plain ``{"role", "content"}`` messages in the OTel shape."""
        items = (request.snapshot or {}).get("messages") or []
        return None, [
            {"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in items
        ]

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        """The text received; finish reason and usage only when the end event arrived."""
        end = chunks[-1] if chunks and chunks[-1]["type"] == "end" else None
        text = "".join(chunk.get("text") or "" for chunk in chunks)
        finish = end["finish_reason"] if end is not None else None
        record["response_model"] = MODEL if chunks else None
        record["finish_reasons"] = [finish] if finish else []
        record["output_messages"] = (
            [{"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": finish}]
            if chunks
            else []
        )
        if end is not None:
            record["usage"] = usage(end["usage"]["input"], end["usage"]["output"])


wrapt.wrap_function_wrapper(FakeLLM, "create", make_wrapper(FakeStreamAdapter(), is_async=False))
wrapt.wrap_function_wrapper(AsyncFakeLLM, "create", make_wrapper(FakeStreamAdapter(), is_async=True))
