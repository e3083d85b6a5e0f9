"""Drivers for the lifecycle suite: one per streaming surface, each able to open a stream (sync or
async), cut its transport after a number of events, and read the text out of its chunks.

The three provider drivers run the real SDKs against the in-process fake provider
(``llm_monitor_sdk.testing.FakeProvider``); the fourth drives :mod:`fake_llm`, which needs no SDK.
Every driver streams :data:`TEXT` in the four :data:`PIECES`.
"""

from __future__ import annotations

from typing import Any

import fake_llm

from llm_monitor_sdk.testing import FakeProvider

TEXT = "abcdefghijkl"
PIECES = ["abc", "def", "ghi", "jkl"]
PROMPT = [{"role": "user", "content": "Count"}]


class Driver:
    """One streaming surface. Subclasses set the class attributes and the methods."""

    #: pytest id.
    name = ""
    #: ``lm.instrument(providers)``.
    providers: tuple[str, ...] = ()
    #: The record's ``provider`` and ``api``.
    provider = ""
    api = ""
    #: Whether the SDK's stream object is a (async) context manager: only then is ``with`` an ending.
    supports_with = True
    #: Stream events after which the first two :data:`PIECES` (and nothing more) have arrived.
    cut_mid = 0
    #: Content-free events a stream opens with (they must not stop the TTFT clock).
    opening_events = 0
    #: ``usage.source`` of a stream that ended early having delivered content: ``estimated`` where the
    #: provider reports usage only at the end, ``provider`` where every chunk carries the running total.
    partial_usage_source = "estimated"
    #: The record's ``error.type`` when the transport drops (the SDK's wrapper or the HTTP library's).
    cut_error_types: tuple[str, ...] = ("httpx.RemoteProtocolError", "httpx2.RemoteProtocolError")
    #: Whether the SDK sends the request only when the stream is first iterated.
    lazy = False
    #: Whether the record's ``request_id`` is the fake's request id (when a request was sent).
    has_request_id = True
    #: Whether the request id rides on the chunks rather than on the stream's response headers (so a
    #: stream that failed before its first chunk has none).
    request_id_on_chunks = False

    def begin(self, fake: FakeProvider) -> None:
        """Prepare a test: the fake provider is reset to stream :data:`TEXT` in four pieces."""
        self.fake = fake

    def cut(self, after: int) -> None:
        """Make the next stream's transport fail after ``after`` events."""
        self.fake.cut_next(after_chunks=after)

    def open(self) -> Any:
        """Start a sync stream; return what the SDK returns."""
        raise NotImplementedError

    async def aopen(self) -> Any:
        """Start an async stream; return what the SDK returns."""
        raise NotImplementedError

    def text(self, chunk: Any) -> str:
        """The output text one chunk carries ("" for none)."""
        raise NotImplementedError

    def closed(self, stream: Any) -> bool:
        """Whether the provider's stream (behind our proxy) was closed."""
        return bool(stream.response.is_closed)


class OpenAIChat(Driver):
    """``chat.completions.create(stream=True)``."""

    name = "openai"
    providers = ("openai",)
    provider = "openai"
    api = "chat.completions.create"
    cut_mid = 3  # the role-only chunk, "abc", "def"
    opening_events = 1
    cut_error_types = ("openai.APIConnectionError", "httpx.RemoteProtocolError")  # 3.x, 2.x

    def begin(self, fake: FakeProvider) -> None:
        super().begin(fake)
        self.client = fake.openai_client(in_process=True)
        self.aclient = fake.openai_client(async_=True, in_process=True)

    def open(self) -> Any:
        return self.client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True)

    async def aopen(self) -> Any:
        return await self.aclient.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True)

    def text(self, chunk: Any) -> str:
        return "".join(choice.delta.content or "" for choice in chunk.choices)


class AnthropicMessages(Driver):
    """``messages.create(stream=True)``."""

    name = "anthropic"
    providers = ("anthropic",)
    provider = "anthropic"
    api = "messages.create"
    cut_mid = 4  # message_start, content_block_start, "abc", "def"
    opening_events = 2

    def begin(self, fake: FakeProvider) -> None:
        super().begin(fake)
        self.client = fake.anthropic_client(in_process=True)
        self.aclient = fake.anthropic_client(async_=True, in_process=True)

    def _kwargs(self) -> dict[str, Any]:
        return {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": PROMPT, "stream": True}

    def open(self) -> Any:
        return self.client.messages.create(**self._kwargs())

    async def aopen(self) -> Any:
        return await self.aclient.messages.create(**self._kwargs())

    def text(self, chunk: Any) -> str:
        if chunk.type == "content_block_delta" and chunk.delta.type == "text_delta":
            return str(chunk.delta.text)
        return ""


class GenAIGenerateContentStream(Driver):
    """``models.generate_content_stream`` (a lazy generator; ``aio``: an async generator)."""

    name = "google_genai"
    providers = ("google_genai",)
    provider = "gcp.gemini"
    api = "models.generate_content_stream"
    supports_with = False  # generators are not context managers
    cut_mid = 2  # every chunk carries text
    opening_events = 0  # (so its error_after_opening is error_first again)
    partial_usage_source = "provider"
    lazy = True  # sync: a generator; aio: the awaited call returns an async generator, unsent
    request_id_on_chunks = True  # chunk.sdk_http_response: a generator has no headers of its own

    _client: Any = None

    def begin(self, fake: FakeProvider) -> None:
        super().begin(fake)
        if GenAIGenerateContentStream._client is None:
            # Building a google.genai.Client loads TLS certificates: once per session.
            GenAIGenerateContentStream._client = fake.genai_client(in_process=True)
        self.client = GenAIGenerateContentStream._client

    def open(self) -> Any:
        return self.client.models.generate_content_stream(model="gemini-2.5-flash", contents="Count")

    async def aopen(self) -> Any:
        return await self.client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="Count"
        )

    def text(self, chunk: Any) -> str:
        return "".join(
            part.text or ""
            for candidate in chunk.candidates or ()
            for part in (candidate.content.parts if candidate.content else None) or ()
        )

    def closed(self, stream: Any) -> bool:
        frame = stream.ag_frame if hasattr(stream, "ag_frame") else stream.gi_frame
        return frame is None


class FakeAdapterStream(Driver):
    """:mod:`fake_llm`: the lifecycle with no provider SDK at all."""

    name = "fake_adapter"
    providers = ()
    provider = fake_llm.PROVIDER
    api = fake_llm.API
    cut_mid = 3  # the opening event, "abc", "def"
    opening_events = 1
    cut_error_types = (f"{fake_llm.__name__}.FakeTransportError",)
    has_request_id = False

    def begin(self, fake: FakeProvider) -> None:
        super().begin(fake)
        script = fake_llm.SCRIPT
        script.pieces = list(PIECES)
        script.cut_after = None
        script.error = None

    def cut(self, after: int) -> None:
        fake_llm.SCRIPT.cut_after = after
        fake_llm.SCRIPT.error = fake_llm.FakeTransportError("connection reset by the fake")

    @property
    def error(self) -> BaseException | None:
        """The exception object the cut transport raises."""
        return fake_llm.SCRIPT.error

    def open(self) -> Any:
        return fake_llm.FakeLLM().create(model=fake_llm.MODEL, messages=PROMPT, stream=True)

    async def aopen(self) -> Any:
        return await fake_llm.AsyncFakeLLM().create(model=fake_llm.MODEL, messages=PROMPT, stream=True)

    def text(self, chunk: Any) -> str:
        return str(chunk.get("text") or "")

    def closed(self, stream: Any) -> bool:
        return bool(stream.closed)


DRIVERS: tuple[Driver, ...] = (
    OpenAIChat(),
    AnthropicMessages(),
    GenAIGenerateContentStream(),
    FakeAdapterStream(),
)


def output_text(record: dict[str, Any]) -> str:
    """All text parts of a record's output messages, joined."""
    return "".join(
        part.get("content") or ""
        for message in record.get("output_messages") or ()
        for part in message["parts"]
        if part["type"] == "text"
    )
