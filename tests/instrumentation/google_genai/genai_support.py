"""Helpers for the google-genai instrumentation tests: one runner per surface, spies, custom replies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from google.genai import models, types

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import IN_PROCESS_URL, sdk_http_module

MODEL = "gemini-2.5-flash"
SURFACES = ("models", "chat")


def run(
    client: Any, surface: str, is_async: bool, stream: bool, *, contents: Any = "Hi", config: Any = None
) -> Any:
    """Make one call the way a user would; streams come back as the list of chunks received."""
    if is_async:
        return asyncio.run(_run_async(client, surface, stream, contents, config))
    if surface == "models":
        if stream:
            return list(client.models.generate_content_stream(model=MODEL, contents=contents, config=config))
        return client.models.generate_content(model=MODEL, contents=contents, config=config)
    chat = client.chats.create(model=MODEL, config=config)
    if stream:
        return list(chat.send_message_stream(contents))
    return chat.send_message(contents)


async def _run_async(client: Any, surface: str, stream: bool, contents: Any, config: Any) -> Any:
    if surface == "models":
        if stream:
            return [
                c
                async for c in await client.aio.models.generate_content_stream(
                    model=MODEL, contents=contents, config=config
                )
            ]
        return await client.aio.models.generate_content(model=MODEL, contents=contents, config=config)
    chat = client.aio.chats.create(model=MODEL, config=config)
    if stream:
        return [c async for c in await chat.send_message_stream(contents)]
    return await chat.send_message(contents)


def dump(result: Any) -> Any:
    """A comparable plain form of a response or a list of chunks."""
    if isinstance(result, list):
        return [chunk.model_dump() for chunk in result]
    return result.model_dump()


def spy_errors(monkeypatch: Any) -> list[BaseException]:
    """Record every exception the SDK raises below our patches (for ``is`` checks against the caller's)."""
    seen: list[BaseException] = []
    sync_call, sync_stream = models.Models._generate_content, models.Models._generate_content_stream
    async_call = models.AsyncModels._generate_content
    async_stream = models.AsyncModels._generate_content_stream

    def call(self: Any, **kwargs: Any) -> Any:
        try:
            return sync_call(self, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

    def stream(self: Any, **kwargs: Any) -> Any:
        try:
            yield from sync_stream(self, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

    async def acall(self: Any, **kwargs: Any) -> Any:
        try:
            return await async_call(self, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

    async def astream(self: Any, **kwargs: Any) -> Any:
        try:
            inner = await async_stream(self, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

        async def chunks() -> Any:
            try:
                async for chunk in inner:
                    yield chunk
            except Exception as exc:
                seen.append(exc)
                raise

        return chunks()

    monkeypatch.setattr(models.Models, "_generate_content", call)
    monkeypatch.setattr(models.Models, "_generate_content_stream", stream)
    monkeypatch.setattr(models.AsyncModels, "_generate_content", acall)
    monkeypatch.setattr(models.AsyncModels, "_generate_content_stream", astream)
    return seen


class Canned:
    """A client whose every reply is ``self.reply(stream)``: one JSON body, or one SSE event when streaming.

    For response shapes the fake provider does not make (blocked prompts, ``models/`` model versions).
    """

    def __init__(self) -> None:
        from google import genai

        self.reply: Callable[[bool], dict[str, Any]] = lambda stream: {}
        hx = sdk_http_module("google.genai")

        def handler(request: Any) -> Any:
            stream = ":streamGenerateContent" in str(request.url)
            body = self.reply(stream)
            headers = {"x-request-id": "req-canned"}
            if stream:
                return hx.Response(
                    200,
                    content=f"data: {json.dumps(body)}\r\n\r\n".encode(),
                    headers={**headers, "content-type": "text/event-stream"},
                )
            return hx.Response(200, json=body, headers=headers)

        transport = hx.MockTransport(handler)
        options = types.HttpOptions(
            base_url=IN_PROCESS_URL,
            client_args={"transport": transport},
            async_client_args={"transport": transport},
        )
        self.client = genai.Client(api_key="fake-key", vertexai=False, http_options=options)

    def serving(self, reply: Callable[[bool], dict[str, Any]]) -> Any:
        """The client, now answering with ``reply``."""
        self.reply = reply
        return self.client


def calls(exporter: Any) -> list[dict[str, Any]]:
    """The exported ``llm_call`` records, after flushing."""
    assert lm.flush(timeout=5.0)
    return list(exporter.calls)
