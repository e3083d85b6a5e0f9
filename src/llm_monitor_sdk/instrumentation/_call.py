"""The one call lifecycle every provider shares.

A patched provider method runs :func:`make_wrapper`'s wrapper on the user's thread::

    start (clock, context snapshot, request snapshot) -> budget reserve -> provider call
        -> plain response: finish now       -> stream: wrap in a proxy that finishes when the stream ends
        -> provider exception: finish as error, re-raise the same object

Only cheap work happens there: two clock reads, one ``ContextVar.get``, a shallow copy of the
message list, and (when budgets are configured) the reservation. Everything else (reading the
response, messages, usage, token estimates, cost, redaction, JSON) happens on the export worker when
it turns the finished :class:`Call` into a record (:meth:`Call.build_record`).

Provider modules supply an :class:`Adapter` per API surface; they hold no lifecycle code.
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import _runtime
from .._guard import report_internal_error
from ..context import Scope, current_scope, new_span_id, new_trace_id, parent_of
from ..errors import BudgetExceededError

if TYPE_CHECKING:
    from .._monitor import Monitor

# The provider whose patched method is running in this context. A nested patched call of the same
# provider (``.stream()`` calling ``create``, ``with_raw_response`` re-entering) is not recorded twice.
_IN_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar("llm_monitor_in_call", default=None)
# Set by a stream-manager proxy while it enters: the inner call reports itself here and takes its api name.
_MANAGED: contextvars.ContextVar[ManagedSlot | None] = contextvars.ContextVar(
    "llm_monitor_managed", default=None
)


class ManagedSlot:
    """Links a stream manager (``.stream()`` helpers) to the call its ``__enter__`` makes."""

    __slots__ = ("api", "call")

    def __init__(self, api: str) -> None:
        self.api = api
        self.call: Call | None = None


class Request:
    """What the adapter snapshots from the request on the caller's thread (references, no conversion)."""

    __slots__ = ("args", "instance", "kwargs", "messages_cache", "model", "snapshot", "stream")

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


class Adapter:
    """How to read one API surface of one provider. Subclasses override what differs.

    Caller's thread (keep these cheap): :meth:`begin`, :meth:`is_content_chunk`, :meth:`chunk_sink`,
    :meth:`wrap_result`.
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
    #: kwargs whose list value is shallow-copied on the caller's thread, so that a caller appending
    #: to its ``messages`` list after the call does not change what is recorded.
    snapshot_keys: tuple[str, ...] = ()

    # -- caller's thread ---------------------------------------------------------------------------
    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], monitor: Monitor
    ) -> Request:
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
        (a chunk it kept until the next one showed what was superseded), nothing earlier.
        """
        return None

    def wrap_result(self, call: Call, result: Any) -> Any:
        """Return what the user gets: a stream proxy for streams, else the result after finishing the call.

        Raw responses (``with_raw_response`` / ``with_streaming_response``) come back as the SDK's
        response wrapper: a fully read one is recorded from its JSON body on the worker; a streamed
        one is proxied so that what ``parse()`` returns is watched.
        """
        # The imports sit on the branches that need them: a plain response pays for none.
        if is_raw_response(result):
            if call.request.stream or not _body_is_read(result):
                from ._stream import wrap_raw_response

                return wrap_raw_response(call, result)
            call.finish(response=result)
            return result
        if call.request.stream:
            from ._stream import wrap_stream

            return wrap_stream(call, result, self.is_async_result(result))
        call.finish(response=result)
        return result

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
        kwargs = request.kwargs
        record["request_params"] = {
            key: kwargs[key] for key in self.param_keys if key in kwargs and _is_given(kwargs[key])
        }

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        """Fill response fields from a complete (non-streamed) response."""

    def fill_chunks(self, record: dict[str, Any], request: Request, chunks: list[Any], stream: Any) -> None:
        """Fill response fields from the stream chunks received (all of them, or a partial stream's).

        ``stream`` is the provider's stream object (for headers such as the request id).
        """


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]``: adapters read SDK objects and raw JSON dicts alike."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


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


def _body_is_read(raw: Any) -> bool:
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


def header(obj: Any, name: str) -> str | None:
    """A response header from an SDK response, stream or raw response, if reachable."""
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


def _is_given(value: Any) -> bool:
    # The provider SDKs use sentinel objects (NOT_GIVEN / omit) for "not passed".
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit", "_NotGiven")


def qualified_name(exc_type: type) -> str:
    """The shortest public dotted name of an exception class: ``openai.RateLimitError`` rather than
    ``openai._exceptions.RateLimitError``, ``llm_monitor_sdk.BudgetExceededError``."""
    module = exc_type.__module__ or ""
    name = exc_type.__qualname__
    if not module or module == "builtins":
        return name
    parts = module.split(".")
    for depth in range(1, len(parts)):
        candidate = ".".join(parts[:depth])
        if getattr(sys.modules.get(candidate), name, None) is exc_type:
            return f"{candidate}.{name}"
    return f"{module}.{name}"


def error_info(exc: BaseException) -> dict[str, Any]:
    """The record's ``error`` object: qualified type, message, HTTP status code when there is one."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        code = getattr(exc, "code", None)
        status = code if isinstance(code, int) and 100 <= code <= 599 else None
    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        message = str(exc)
    return {"type": qualified_name(type(exc)), "message": message, "status_code": status}


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 UTC with microseconds and a ``Z``."""
    # Same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"). Runs twice per record, so the date and time of
    # day are formatted once per second and reused; microseconds round half-even as fromtimestamp's do.
    global _iso_cache
    if ts < 0:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    frac, whole = math.modf(ts)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        whole += 1.0
        micros -= 1_000_000
    second, prefix = _iso_cache  # one tuple: threads never see a second paired with another's text
    if whole != second:
        prefix = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _iso_cache = (whole, prefix)
    return f"{prefix}{micros:06d}Z"


_iso_cache: tuple[float, str] = (-1.0, "")


def record_id() -> str:
    """A random UUID4 as 32 hex digits: ``uuid.uuid4().hex`` without the ``UUID`` object's cost."""
    n = int.from_bytes(os.urandom(16), "big")
    return f"{(n & _UUID_CLEAR) | _UUID4_BITS:032x}"


_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # variant and version bits
_UUID4_BITS = (0x8000 << 48) | (0x4000 << 64)  # RFC 4122 variant, version 4


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
        "monitor",
        "parent_span_id",
        "record",
        "request",
        "reservation",
        "response",
        "scope",
        "span_id",
        "stream",
        "t0",
        "t_end",
        "t_first",
        "trace_id",
        "wall0",
    )

    def __init__(self, adapter: Adapter, monitor: Monitor, request: Request, api: str) -> None:
        self.wall0 = time.time()
        self.t0 = time.perf_counter()
        self.adapter = adapter
        self.monitor = monitor
        self.request = request
        self.api = api
        scope = current_scope()
        self.scope: Scope = scope
        # Random ids are drawn on the worker (build_record): here only a parent (an @observe span or an
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
        """Record the outcome once and queue the call for export; later calls are ignored."""
        if not self._claim():
            return
        self.t_end = time.perf_counter()
        self.response = response
        self.error = error
        self.complete = complete
        if self.reservation is not None and not from_gc:
            # A budgeted call settles now, so the caller's next call already sees the real spend
            # rather than this call's worst case (a GC-finished stream settles on the worker).
            self.monitor.settle_now(self)
        self.monitor.submit_call(self, notify=not from_gc)

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

    def build_record(self) -> dict[str, Any]:
        """The record dict, before token estimation, pricing and redaction (the monitor adds those)."""
        scope = self.scope
        adapter = self.adapter
        request = self.request
        t_end = self.t_end if self.t_end is not None else self.t0
        latency_ms = (t_end - self.t0) * 1000.0
        error = self.blocked if self.blocked is not None else self.error
        if self.trace_id is None:
            self.trace_id = new_trace_id()
        if self.span_id is None:
            self.span_id = new_span_id()
        record: dict[str, Any] = {
            "schema_version": 1,
            "kind": "llm_call",
            "record_id": record_id(),
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "started_at": iso(self.wall0),
            "ended_at": iso(self.wall0 + latency_ms / 1000.0),
            "provider": adapter.provider,
            "operation": adapter.operation,
            "api": self.api,
            "request_model": request.model if isinstance(request.model, str) else None,
            "response_model": None,
            "request_params": {},
            "stream": bool(request.stream),
            "status": self.status(),
            "error": error_info(error) if error is not None else None,
            "latency_ms": round(latency_ms, 3),
            "ttft_ms": round((self.t_first - self.t0) * 1000.0, 3) if self.t_first is not None else None,
            "usage": None,
            "cost_usd": None,
            "finish_reasons": [],
            "response_id": None,
            "request_id": None,
            "system_instructions": None,
            "input_messages": None,
            "output_messages": None,
            "user_id": scope.user_id,
            "session_id": scope.session_id,
            "tenant_id": scope.tenant_id,
            "feature": scope.feature,
            "tags": list(scope.tags),
            "metadata": dict(scope.metadata),
            "prompt_name": scope.prompt_name,
            "prompt_version": scope.prompt_version,
            "partial": bool(request.stream) and not self.complete,
            "redactions": {},
            "budget_alerts": [],
        }
        # Each step is guarded on its own: a surprise in one part of a response never costs the record.
        try:
            record["provider"] = adapter.provider_name(request)
        except Exception as exc:
            report_internal_error(f"{adapter.provider}.provider_name", exc)
        try:
            adapter.fill_request(record, request)
        except Exception as exc:
            report_internal_error(f"{adapter.provider}.fill_request", exc)
        try:
            system, messages = self.input_messages()
            record["system_instructions"] = system
            record["input_messages"] = messages
        except Exception as exc:
            report_internal_error(f"{adapter.provider}.messages", exc)
        try:
            if self.chunks is not None:
                adapter.fill_chunks(record, request, self.chunks, self.stream)
            elif self.response is not None:
                response = self.response
                if is_raw_response(response):
                    record["request_id"] = header(response, self.adapter.request_id_header)
                    response = raw_json(response)
                if response is not None:
                    adapter.fill_response(record, request, response)
        except Exception as exc:
            report_internal_error(f"{adapter.provider}.fill_response", exc)
        if record["request_id"] is None and error is not None:
            # HTTP errors carry the provider's response (``exc.response``), request id header included.
            record["request_id"] = header(error, adapter.request_id_header)
        return record

    def input_messages(self) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """The request's messages in the OTel shape, converted once (budget and record share it)."""
        request = self.request
        if request.messages_cache is None:
            request.messages_cache = self.adapter.messages(request)
        return request.messages_cache


def _start(
    adapter: Adapter, monitor: Monitor, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Call:
    slot = _MANAGED.get()
    api = adapter.api
    if slot is not None:
        api = slot.api
    request = adapter.begin(instance, args, kwargs, monitor)
    call = Call(adapter, monitor, request, api)
    if slot is not None:
        slot.call = call
        _MANAGED.set(None)  # only the first call inside the manager belongs to it
    return call


def make_wrapper(
    adapter: Adapter, *, is_async: bool, enabled: Callable[[], bool] = lambda: True
) -> Callable[..., Any]:
    """The wrapt wrapper for one patched method. ``enabled`` lets ``uninstrument()`` turn it off in place."""
    provider = adapter.provider

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        monitor = _runtime.active
        if monitor is None or _IN_CALL.get() == provider or not enabled():
            return wrapped(*args, **kwargs)
        try:
            call = _start(adapter, monitor, instance, args, kwargs)
        except Exception as exc:
            report_internal_error(f"{provider}.start", exc)
            return wrapped(*args, **kwargs)
        call_kwargs = call.request.kwargs
        if is_async:
            return _run_async(call, wrapped, args, call_kwargs)
        monitor.reserve_budget(call)  # raises BudgetExceededError (the one error we exist to raise)
        token = _IN_CALL.set(provider)
        try:
            result = wrapped(*args, **call_kwargs)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        finally:
            _IN_CALL.reset(token)
        return deliver(call, result)

    return wrapper


async def _run_async(
    call: Call, wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    # Reserve inside the coroutine so a blocked call raises where the user awaits it.
    call.monitor.reserve_budget(call)
    token = _IN_CALL.set(call.adapter.provider)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.finish(error=exc)
        raise
    finally:
        _IN_CALL.reset(token)
    return deliver(call, result)


def deliver(call: Call, result: Any) -> Any:
    """Hand the provider's result to the user: wrapped when it is a stream, else unchanged."""
    try:
        return call.adapter.wrap_result(call, result)
    except Exception as exc:
        report_internal_error(f"{call.adapter.provider}.wrap_result", exc)
        if not call.finished:
            call.finish(response=None)
        return result


__all__ = [
    "Adapter",
    "Call",
    "ManagedSlot",
    "Request",
    "deliver",
    "error_info",
    "field",
    "header",
    "is_raw_response",
    "iso",
    "make_wrapper",
    "qualified_name",
]
