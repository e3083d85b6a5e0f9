"""``FakeProvider``: knobs, one-shot behaviours, the request log, and the server's lifecycle."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any

from . import _canned, _clients
from ._knobs import HEADER, Knobs, parse_header
from ._reply import Reply
from ._server import FakeServer
from ._transport import transport_class


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake provider received."""

    method: str
    #: URL path without the query string, e.g. ``/v1/chat/completions``.
    path: str
    #: Raw query string without ``?`` (e.g. ``beta=true``, ``alt=sse``), or ``""``.
    query: str
    #: Header names lower-cased.
    headers: dict[str, str]
    #: Parsed JSON body (``None`` when empty or not JSON).
    body: Any
    #: ``"openai"``, ``"anthropic"``, ``"gemini"``, or ``None`` for an unknown path.
    provider: str | None
    #: Endpoint name, e.g. ``chat.completions``, ``responses``, ``messages``, ``generateContent``.
    operation: str | None
    #: The request id the reply carried.
    request_id: str


class FakeProvider:
    """A fake OpenAI / Anthropic / Gemini API on 127.0.0.1, or in-process through a mock transport.

    Every keyword is a default knob (see :class:`Knobs`): ``text``, ``chunks``, ``usage``,
    ``delay``, ``chunk_delay``, ``status``, ``retry_after``, ``cut_after``, ``finish_reason``,
    ``tool_calls``, ``thinking``, token counts... The server starts on first use of :attr:`url`
    (or ``start()`` / ``with``); ``close()`` stops it. Methods are thread-safe.

    >>> with FakeProvider(text="Hi there") as fake:
    ...     client = fake.openai_client()
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, record_requests: bool = True, **knobs: Any
    ) -> None:
        self._initial = Knobs().merged(knobs)
        self._defaults = self._initial
        self._host, self._port = host, port
        self._record = record_requests
        self._lock = threading.Lock()
        self._queue: deque[dict[str, Any]] = deque()
        self._requests: list[RecordedRequest] = []
        self._count = 0
        self._server: FakeServer | None = None
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:12]

    # ------------------------------------------------------------------ knobs
    @property
    def knobs(self) -> Knobs:
        """The current default knobs."""
        return self._defaults

    def configure(self, **knobs: Any) -> FakeProvider:
        """Change default knobs for every later request; returns ``self``."""
        with self._lock:
            self._defaults = self._defaults.merged(knobs)
        return self

    def once(self, *, times: int = 1, **knobs: Any) -> FakeProvider:
        """Apply ``knobs`` to the next ``times`` requests only (queued, first in first out)."""
        self._defaults.merged(knobs)  # validate now, in the caller's test
        with self._lock:
            self._queue.extend(dict(knobs) for _ in range(times))
        return self

    def fail_next(
        self,
        status: int = 500,
        *,
        message: str | None = None,
        retry_after: float | None = None,
        error_type: str | None = None,
        times: int = 1,
    ) -> FakeProvider:
        """Answer the next ``times`` requests with HTTP ``status`` and the provider's error body."""
        return self.once(
            times=times, status=status, error_message=message, retry_after=retry_after, error_type=error_type
        )

    def cut_next(self, after_chunks: int = 1, *, times: int = 1) -> FakeProvider:
        """Drop the connection of the next ``times`` requests after ``after_chunks`` stream events.

        A non-streaming request gets no reply at all (the SDK raises its connection error).
        """
        return self.once(times=times, cut_after=after_chunks)

    def reset(self) -> FakeProvider:
        """Restore the constructor's knobs, forget queued one-shots and clear the request log."""
        with self._lock:
            self._defaults = self._initial
            self._queue.clear()
        self.clear()
        return self

    # ------------------------------------------------------------------ request log
    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests arrived (counted even when ``record_requests=False``)."""
        return self._count

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request; ``LookupError`` if there was none."""
        with self._lock:
            if not self._requests:
                raise LookupError("the fake provider has received no requests")
            return self._requests[-1]

    def clear(self) -> None:
        """Forget recorded requests and reset :attr:`request_count`."""
        with self._lock:
            self._requests.clear()
            self._count = 0

    # ------------------------------------------------------------------ serving
    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Reply:
        """Route one request and build its reply; used by the server and the mock transport.

        ``target`` is the path plus query; ``headers`` is a case-insensitive mapping-like object.
        """
        path, _, query = target.partition("?")
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        request_body = data if isinstance(data, dict) else {}
        route = _canned.identify(method, path, query, request_body)
        header_value = headers.get(HEADER)
        with self._lock:
            # unknown paths (a stray health check, say) must not eat a queued one-shot
            knobs, one_shot = self._defaults, self._queue.popleft() if self._queue and route else None
            self._count += 1
            rid = knobs.request_id or f"req_{self._id_prefix}{next(self._ids):08d}"
        problem = None
        try:
            if one_shot:
                knobs = knobs.merged(one_shot)
            if header_value:
                knobs = knobs.merged(parse_header(header_value))
        except ValueError as exc:
            problem = str(exc)
        if knobs.request_id:
            rid = knobs.request_id
        if self._record:
            rec = RecordedRequest(
                method,
                path,
                query,
                {k.lower(): v for k, v in headers.items()},
                data,
                route.provider if route else None,
                route.operation if route else None,
                rid,
            )
            with self._lock:
                self._requests.append(rec)
        if route is None:
            return _canned.not_found(method, path, rid)
        if problem is not None:
            return _canned.error(route.provider, Knobs(status=400), rid, problem)
        if knobs.is_error:
            reply = _canned.error(route.provider, knobs, rid)
        elif knobs.cut_after is not None and not route.stream:
            reply = Reply(status=200, headers={}, drop=True)
        else:
            reply = _canned.render(route, request_body, knobs, rid)
            reply.cut_after = knobs.cut_after if reply.is_stream else None
            reply.chunk_delay = knobs.chunk_delay
        reply.delay = knobs.delay
        return reply

    def start(self) -> FakeProvider:
        """Start the HTTP server (idempotent); returns ``self``."""
        with self._lock:
            if self._server is None:
                self._server = FakeServer(self.handle, self._host, self._port)
        return self

    def close(self) -> None:
        """Stop the server and close its sockets (idempotent). In-process transports keep working."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; starts the server if needed."""
        server = self._server or self.start()._server
        assert server is not None
        return server.url

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for ``openai.OpenAI`` (``{url}/v1``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url`` for ``anthropic.Anthropic`` (the SDK appends ``/v1/messages``)."""
        return self.url

    @property
    def gemini_base_url(self) -> str:
        """``HttpOptions(base_url=...)`` for ``google.genai`` (the SDK appends ``/v1beta/...`` or ``/v1/...``)."""
        return self.url

    # ------------------------------------------------------------------ in-process transport and clients
    def mock_transport(self, httpx_module: ModuleType) -> Any:
        """An ``httpx_module.MockTransport`` serving this fake in-process (works for httpx and httpx2)."""
        return transport_class(httpx_module)(self.handle)

    def openai_client(self, async_: bool = False, *, in_process: bool = False, **kwargs: Any) -> Any:
        """``openai.OpenAI`` (or ``AsyncOpenAI``) aimed at this fake; dummy key, ``max_retries=0``."""
        return _clients.openai_client(self, async_, in_process, kwargs)

    def anthropic_client(self, async_: bool = False, *, in_process: bool = False, **kwargs: Any) -> Any:
        """``anthropic.Anthropic`` (or ``AsyncAnthropic``) aimed at this fake; dummy key, ``max_retries=0``."""
        return _clients.anthropic_client(self, async_, in_process, kwargs)

    def genai_client(self, *, in_process: bool = False, api_version: str | None = None, **kwargs: Any) -> Any:
        """``google.genai.Client`` aimed at this fake (sync, and async via ``.aio``); dummy key.

        Async calls use the SDK's httpx library even when aiohttp is installed, so behaviour is the
        same everywhere.
        """
        return _clients.genai_client(self, in_process, api_version, kwargs)


def mock_transport(httpx_module: ModuleType, **knobs: Any) -> Any:
    """A standalone in-process transport with its own :class:`FakeProvider` (as ``transport.fake``)."""
    fake = FakeProvider(**knobs)
    transport = fake.mock_transport(httpx_module)
    transport.fake = fake
    return transport
