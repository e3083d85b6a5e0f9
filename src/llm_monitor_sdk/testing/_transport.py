"""In-process alternative to the server: an ``httpx``/``httpx2`` ``MockTransport`` playing the same replies.

No sockets, so it suits benchmarks and unit tests. Delays are real sleeps (``time.sleep`` for
sync clients, ``asyncio.sleep`` for async ones); a cut stream raises the library's own
``RemoteProtocolError``, exactly what a dropped socket produces.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from ._reply import Reply
from ._server import Handle

_INCOMPLETE = "peer closed connection without sending complete message body (incomplete chunked read)"
_DISCONNECTED = "Server disconnected without sending a response."

_classes: dict[str, type] = {}


def transport_class(hx: ModuleType) -> type:
    """A ``hx.MockTransport`` subclass for the httpx-compatible module ``hx`` (cached per module)."""
    cls = _classes.get(hx.__name__)
    if cls is None:
        cls = _classes[hx.__name__] = _build_class(hx)
    return cls


def _build_class(hx: ModuleType) -> type:
    def _target(request: Any) -> str:
        return request.url.raw_path.decode("ascii")

    def _response(reply: Reply, content: Any) -> Any:
        return hx.Response(reply.status, headers=reply.headers, content=content)

    class FakeTransport(hx.MockTransport):  # type: ignore[name-defined]
        """Routes every request through a fake provider's canned replies."""

        def __init__(self, handle: Handle) -> None:
            super().__init__(self._sync_handler)
            self._handle = handle

        def _reply(self, request: Any) -> Reply:
            return self._handle(request.method, _target(request), request.headers, request.content)

        def _sync_handler(self, request: Any) -> Any:
            request.read()
            reply = self._reply(request)
            if reply.drop:
                raise hx.RemoteProtocolError(_DISCONNECTED, request=request)
            if not reply.is_stream:
                if reply.delay:
                    time.sleep(reply.delay)
                return _response(reply, reply.body)
            return _response(reply, _sync_parts(reply))

        def handle_request(self, request: Any) -> Any:
            return self._sync_handler(request)

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            reply = self._reply(request)
            if reply.drop:
                raise hx.RemoteProtocolError(_DISCONNECTED, request=request)
            if not reply.is_stream:
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                return _response(reply, reply.body)
            return _response(reply, _async_parts(reply))

    def _sync_parts(reply: Reply) -> Iterator[bytes]:
        if reply.delay:
            time.sleep(reply.delay)
        for i, part in enumerate(reply.stream_parts()):
            if i and reply.chunk_delay:
                time.sleep(reply.chunk_delay)
            yield part
        if reply.cut_after is not None:
            raise hx.RemoteProtocolError(_INCOMPLETE)

    async def _async_parts(reply: Reply) -> AsyncIterator[bytes]:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        for i, part in enumerate(reply.stream_parts()):
            if i and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield part
        if reply.cut_after is not None:
            raise hx.RemoteProtocolError(_INCOMPLETE)

    FakeTransport.__qualname__ = FakeTransport.__name__ = f"FakeTransport[{hx.__name__}]"
    return FakeTransport
