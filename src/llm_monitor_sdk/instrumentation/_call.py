"""The one call lifecycle every provider shares.

A patched provider method runs the wrapper of ``_wrapper.make_wrapper`` on the user's thread::

    start (clock, context snapshot, request snapshot) -> budget reserve -> provider call
        -> plain response: finish now       -> stream: wrap in a proxy that finishes when the stream ends
        -> provider exception: finish as error, re-raise the same object

Only cheap work happens there: two clock reads, one ``ContextVar.get``, a shallow copy of the
message list, and (when budgets are configured) the reservation. Everything else (reading the
response, messages, usage, token estimates, cost, redaction, JSON) happens on the export worker when
it turns the finished :class:`Call` into a record (the worker-side ``_records`` module).

The lifecycle talks to the active monitor only through the small :class:`CallSink` protocol declared
here (``reserve``, ``settle``, ``submit`` and the one setting adapters read), so nothing in
``instrumentation/`` depends on the monitor. Provider modules supply an :class:`Adapter` per API
surface; they hold no lifecycle code. Every step of ours on the caller's thread runs under ``guard()``.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any, Protocol

from .._guard import guard, report_internal_error
from ..context import Scope, current_scope, parent_of
from ..errors import BudgetExceededError
from ._helpers import params


class CallSink(Protocol):
    """What the call lifecycle needs from the active monitor (the monitor implements it).

    ``reserve`` runs on the caller's thread before the provider is called and may raise
    :class:`BudgetExceededError` (after finishing the call as blocked); ``settle`` runs on the thread
    that finishes a call holding a reservation; ``submit`` queues a finished call for the worker and
    must never block or raise.
    """

    #: ``LLM_MONITOR_STREAM_USAGE``: adapters may ask streams for usage.
    stream_usage: bool

    def reserve(self, call: Call) -> None:
        """Reserve the call's worst-case cost (raises ``BudgetExceededError`` when a hard limit says no)."""

    def settle(self, call: Call) -> None:
        """Settle a finished call's reservation with its real cost."""

    def submit(self, call: Call, *, notify: bool = True) -> None:
        """Queue a finished call for the export worker."""


# The provider whose patched method is running in this context. A nested patched call of the same
# provider (``.stream()`` calling ``create``, ``with_raw_response`` re-entering) is not recorded twice.
_IN_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar("llmmonitor.in_call", default=None)
# Set by a stream-manager proxy while it enters: the inner call reports itself here and takes its api name.
_MANAGED: contextvars.ContextVar[ManagedSlot | None] = contextvars.ContextVar(
    "llmmonitor.managed", default=None
)


class ManagedSlot:
    """Links a stream manager (``.stream()`` helpers) to the call its ``__enter__`` makes."""

    __slots__ = ("api", "call")

    def __init__(self, api: str) -> None:
        self.api = api
        self.call: Call | None = None


class Request:
    """What the adapter snapshots from the request on the caller's thread (references, no conversion)."""

    __slots__ = (
        "adapter",
        "args",
        "call_kwargs",
        "hidden",
        "instance",
        "kwargs",
        "messages_cache",
        "model",
        "snapshot",
        "stream",
    )

    def __init__(
        self,
        kwargs: dict[str, Any],
        *,
        model: Any = None,
        stream: bool = False,
        snapshot: Any = None,
        instance: Any = None,
        args: tuple[Any, ...] = (),
    ) -> None:
        self.kwargs = kwargs
        self.model = model
        self.stream = stream
        self.snapshot = snapshot
        self.instance = instance
        self.args = args
        self.messages_cache: tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None] | None = None
        #: For stream chunks the SDK asked for and the caller did not (e.g. the usage-only chunk of
        #: an ``include_usage`` the SDK added): True for a chunk the proxy records but never hands out.
        self.hidden: Callable[[Any], bool] | None = None
        #: For a generic method routed to an API surface (``client.post("/chat/completions", body=...)``):
        #: the adapter of that surface (it reads the record), and the keyword arguments to call the
        #: patched method with (``kwargs`` then holds the API parameters, i.e. the body).
        self.adapter: Adapter | None = None
        self.call_kwargs: dict[str, Any] | None = None


class Adapter:
    """How to read one API surface of one provider. Subclasses override what differs.

    Caller's thread (keep these cheap): :meth:`begin`, :meth:`is_content_chunk`, :meth:`chunk_sink`,
    :meth:`is_async_result`, :meth:`max_output_tokens`.
    Export worker: :meth:`messages`, :meth:`fill_request`, :meth:`fill_response`, :meth:`fill_chunks`,
    :meth:`provider_name`.
    """

    provider = "unknown"
    operation = "chat"
    api = "unknown"
    #: response header carrying the provider's request id.
    request_id_header = "x-request-id"
    #: kwargs copied into ``request_params`` (when present) on the worker.
    param_keys: tuple[str, ...] = ()
    #: Whether a stream's request goes out only when it is first iterated (a lazy generator): such a
    #: stream closed or dropped before that never reached the provider.
    lazy_stream = False
    #: kwargs whose list value is shallow-copied on the caller's thread, so that a caller appending
    #: to its ``messages`` list after the call does not change what is recorded.
    snapshot_keys: tuple[str, ...] = ()

    # -- caller's thread ---------------------------------------------------------------------------
    def start(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink
    ) -> Request | None:
        """The request of a call to record, or ``None`` for one this adapter does not record (the
        method then runs unmonitored). The default records every call: :meth:`begin`."""
        return self.begin(instance, args, kwargs, sink)

    def begin(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sink: CallSink) -> Request:
        """Snapshot the request; may return changed ``kwargs`` in ``Request.kwargs`` (e.g. stream options)."""
        snapshot = None
        if self.snapshot_keys:
            snapshot = {}
            for key in self.snapshot_keys:
                value = kwargs.get(key)
                snapshot[key] = list(value) if isinstance(value, (list, tuple)) else value
        return Request(
            kwargs,
            model=kwargs.get("model"),
            stream=bool(kwargs.get("stream")),
            snapshot=snapshot,
            instance=instance,
            args=args,
        )

    def is_content_chunk(self, chunk: Any) -> bool:
        """True when ``chunk`` carries output content (text, tool call, ...): it stops the TTFT clock."""
        return True

    def chunk_sink(self, chunks: list[Any]) -> Callable[[Any], Any] | None:
        """Optional, once per stream: a function the stream proxy calls with each chunk instead of
        ``chunks.append`` (None, the default: keep every chunk object as it is).

        A sink keeps a compact, GC-untracked stand-in (a ``str``, a tuple of atomics) for the common
        chunk shapes and the chunk itself for the rest; :meth:`fill_chunks` must turn both into the
        same record. Holding every SDK chunk object until the stream ends promotes them to the oldest
        GC generation and triggers full collections on the caller's thread. The sink runs on the
        caller's thread for every chunk: a few dict lookups at most. It may replace ``chunks[-1]``
        (a chunk it kept until the next one showed what was superseded), nothing earlier. It returns
        ``None`` for a chunk it kept as a stand-in and anything else (``True``) for a chunk it kept
        whole: only those are checked against ``Request.hidden``.
        """
        return None

    def is_async_result(self, result: Any) -> bool:
        """Whether a stream result is iterated with ``async for``."""
        return hasattr(result, "__anext__") or hasattr(result, "__aiter__")

    def max_output_tokens(self, request: Request) -> int | None:
        """The request's output-token cap (for the budget's worst case)."""
        kwargs = request.kwargs
        for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
            value = kwargs.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    # -- export worker -----------------------------------------------------------------------------
    def provider_name(self, request: Request) -> str:
        """The record's ``provider`` (may depend on the client: Azure, Vertex AI)."""
        return self.provider

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """(system_instructions, input_messages) in the OTel GenAI shape."""
        return None, None

    def fill_request(self, record: dict[str, Any], request: Request) -> None:
        """Set ``request_params`` (and anything else read from the request)."""
        record["request_params"] = params(request.kwargs, self.param_keys)

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        """Fill response fields from a complete (non-streamed) response."""

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        """Fill response fields from the stream chunks received (all of them, or a partial stream's).

        ``stream`` is the provider's stream object (for headers such as the request id).
        """


class Call:
    """One provider call in flight, then finished; the worker turns it into a record."""

    __slots__ = (
        "_once",
        "adapter",
        "api",
        "blocked",
        "chunks",
        "complete",
        "error",
        "parent_span_id",
        "record",
        "request",
        "reservation",
        "response",
        "scope",
        "sink",
        "span_id",
        "stream",
        "t0",
        "t_end",
        "t_first",
        "trace_id",
        "wall0",
    )

    def __init__(self, adapter: Adapter, sink: CallSink, request: Request, api: str) -> None:
        self.wall0 = time.time()
        self.t0 = time.perf_counter()
        self.adapter = adapter
        self.sink = sink
        self.request = request
        self.api = api
        scope = current_scope()
        self.scope: Scope = scope
        # Random ids are drawn on the worker (``_records``): here only a parent (an @observe span or an
        # active OTel span, which live in this thread's context) is looked up; without one both are None.
        self.trace_id: str | None
        self.parent_span_id: str | None
        self.trace_id, self.parent_span_id = parent_of(scope)
        self.span_id: str | None = None
        self.t_first: float | None = None
        self.t_end: float | None = None
        self.response: Any = None
        self.chunks: list[Any] | None = None
        self.stream: Any = None
        self.error: BaseException | None = None
        self.blocked: BudgetExceededError | None = None
        self.complete = True
        self.reservation: Any = None
        self.record: dict[str, Any] | None = None
        self._once = [True]  # list.pop() is atomic: the first finish wins, from any thread

    # -- finishing (exactly once) -------------------------------------------------------------------
    def _claim(self) -> bool:
        try:
            self._once.pop()
        except IndexError:
            return False
        return True

    @property
    def finished(self) -> bool:
        """Whether the call has been finished (and queued for export)."""
        return not self._once

    def finish(
        self,
        *,
        response: Any = None,
        error: BaseException | None = None,
        complete: bool = True,
        from_gc: bool = False,
    ) -> None:
        """Record the outcome once and queue the call for export; later calls are ignored. Never raises."""
        if not self._claim():
            return
        self.t_end = time.perf_counter()
        self.response = response
        self.error = error
        self.complete = complete
        if self.reservation is not None and not from_gc:
            # A budgeted call settles now, so the caller's next call already sees the real spend
            # rather than this call's worst case (a GC-finished stream settles on the worker).
            with guard("call.settle"):
                self.sink.settle(self)
        with guard("call.submit"):
            self.sink.submit(self, notify=not from_gc)

    def mark_first_chunk(self, chunk: Any) -> None:
        """Stop the TTFT clock at the first chunk that carries content."""
        try:
            if self.adapter.is_content_chunk(chunk):
                self.t_first = time.perf_counter()
        except Exception as exc:
            self.t_first = time.perf_counter()
            report_internal_error("stream.first_chunk", exc)

    # -- export worker ------------------------------------------------------------------------------
    def status(self) -> str:
        """``blocked``, ``error`` or ``ok``."""
        if self.blocked is not None:
            return "blocked"
        return "error" if self.error is not None else "ok"

    def reached_provider(self) -> bool:
        """False for a lazy stream that ended before it was ever iterated (nothing was sent)."""
        return not (
            self.adapter.lazy_stream
            and self.chunks is not None
            and not self.chunks
            and not self.complete
            and self.error is None
        )

    def input_messages(self) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """The request's messages in the OTel shape, converted once (budget and record share it)."""
        request = self.request
        if request.messages_cache is None:
            request.messages_cache = self.adapter.messages(request)
        return request.messages_cache


__all__ = ["Adapter", "Call", "CallSink", "ManagedSlot", "Request"]
