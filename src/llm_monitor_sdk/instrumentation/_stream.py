"""Transparent stream proxies, written once for every provider.

The user gets a proxy around the provider's stream object. Everything not defined here is forwarded
by wrapt (attributes, helpers like ``.response``, ``get_final_completion()``, ``text_stream``); what
wrapt does *not* forward (``__next__``/``__anext__``) or forwards wrongly for us (``__enter__``
returns the wrapped object's result, which would hand the user the unwatched stream) is defined.

The call finishes exactly once, whichever comes first: the stream is exhausted, raises, is closed,
its ``with`` block exits, or the proxy is garbage collected (``partial=true`` unless exhausted).
Per chunk the proxy does one list append, or hands the chunk to the adapter's chunk sink, which
keeps a compact stand-in for common chunk shapes (plus the TTFT check until the first content chunk);
reading the chunks happens on the export worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import wrapt

from .. import _runtime
from .._guard import guard, report_internal_error
from ._call import _IN_CALL, _MANAGED, Adapter, Call, ManagedSlot


class _StreamProxyBase(wrapt.BaseObjectProxy):
    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        chunks: list[Any] = []
        call.chunks = chunks
        call.stream = wrapped
        self._self_hidden = hidden = call.request.hidden
        self._self_keep = _chunk_keeper(call.adapter, chunks, hidden is not None)
        # Built on the first chunk: a stream that is never iterated needs no stepper, and the wrapped
        # object's __next__/__anext__ may only exist once it is entered.
        self._self_next: Callable[[], Any] | None = None

    def _stepper(self) -> Callable[[], Any]:
        raise NotImplementedError

    def __copy__(self) -> Any:
        # A copy of a stream shares its connection: hand out the unwatched object rather than a
        # second proxy that would finish the same call again.
        return self.__wrapped__

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self.__wrapped__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"cannot pickle a live stream ({type(self.__wrapped__).__name__})")

    def __del__(self) -> None:
        call = self._self_call
        if not call.finished:
            call.finish(complete=False, from_gc=True)


class SyncStreamProxy(_StreamProxyBase):
    """Proxy for a sync stream or lazy generator of chunks."""

    def __iter__(self) -> Iterator[Any]:
        # A ``for`` loop gets a generator over the step: its ``__next__`` is C, where the proxy's own
        # is a Python method reached through wrapt's slot (about 0.12 µs per chunk more). The provider
        # SDKs' streams do the same (``Stream.__iter__`` is a generator), and ``next(proxy)`` keeps
        # working: both advance the one underlying iterator through the same step.
        step = self._self_next
        if step is None:
            step = self._self_next = self._stepper()
        return _drive(step)

    def __next__(self) -> Any:
        step = self._self_next
        if step is None:
            step = self._self_next = self._stepper()
        return step()

    def _stepper(self) -> Callable[[], Any]:
        """The per-chunk step, built once per stream as a closure over locals: attribute lookups on a
        wrapt proxy cost more than the rest of the step, so none happen per chunk. The closure must
        not reference the proxy: the proxy holds it, and a cycle would delay ``__del__`` (the finish
        of a stream the caller dropped) to the next garbage collection."""
        call = self._self_call
        wrapped_next = self.__wrapped__.__next__
        keep = self._self_keep
        hidden = self._self_hidden
        mark = call.mark_first_chunk

        def step() -> Any:
            nonlocal keep, hidden
            while True:
                try:
                    chunk = wrapped_next()
                except StopIteration:
                    call.finish(complete=True)
                    raise
                except BaseException as exc:
                    call.finish(error=exc, complete=False)
                    raise
                if call.t_first is None:
                    mark(chunk)  # sees the real chunk, before any compaction
                try:
                    whole = keep(chunk)
                except Exception as exc:
                    keep = _keep_failed(call, chunk, exc)
                    whole = True
                if whole is None or hidden is None:  # a compacted chunk is never one to withhold
                    return chunk
                try:
                    if not hidden(chunk):
                        return chunk
                except Exception as exc:  # hand it out rather than lose it
                    hidden = None
                    report_internal_error(f"{call.adapter.provider}.hidden_chunk", exc)
                    return chunk

        return step

    def __enter__(self) -> SyncStreamProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(*exc_info) if exit_ is not None else None
        finally:
            self._self_call.finish(complete=False)

    def close(self) -> Any:
        """Close the provider stream, then finish the call (``partial`` unless it was exhausted)."""
        try:
            close = getattr(self.__wrapped__, "close", None)
            return close() if close is not None else None
        finally:
            self._self_call.finish(complete=False)


def _drive(step: Callable[[], Any]) -> Iterator[Any]:
    """The chunks ``step`` returns until it raises ``StopIteration`` (it has finished the call then)."""
    while True:
        try:
            chunk = step()
        except StopIteration:
            return
        yield chunk


class AsyncStreamProxy(_StreamProxyBase):
    """Proxy for an async stream or async generator of chunks."""

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    def __anext__(self) -> Any:
        step = self._self_next
        if step is None:
            step = self._self_next = self._stepper()
        return step()

    def _stepper(self) -> Callable[[], Any]:
        """As for sync streams: the per-chunk step as a coroutine function over locals."""
        call = self._self_call
        wrapped_anext = self.__wrapped__.__anext__
        keep = self._self_keep
        hidden = self._self_hidden
        mark = call.mark_first_chunk

        async def step() -> Any:
            nonlocal keep, hidden
            while True:
                try:
                    chunk = await wrapped_anext()
                except StopAsyncIteration:
                    call.finish(complete=True)
                    raise
                except BaseException as exc:
                    call.finish(error=exc, complete=False)
                    raise
                if call.t_first is None:
                    mark(chunk)  # sees the real chunk, before any compaction
                try:
                    whole = keep(chunk)
                except Exception as exc:
                    keep = _keep_failed(call, chunk, exc)
                    whole = True
                if whole is None or hidden is None:  # a compacted chunk is never one to withhold
                    return chunk
                try:
                    if not hidden(chunk):
                        return chunk
                except Exception as exc:  # hand it out rather than lose it
                    hidden = None
                    report_internal_error(f"{call.adapter.provider}.hidden_chunk", exc)
                    return chunk

        return step

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            return (await exit_(*exc_info)) if exit_ is not None else None
        finally:
            self._self_call.finish(complete=False)

    async def aclose(self) -> Any:
        """Close the provider stream, then finish the call."""
        try:
            aclose = getattr(self.__wrapped__, "aclose", None) or getattr(self.__wrapped__, "close", None)
            return (await aclose()) if aclose is not None else None
        finally:
            self._self_call.finish(complete=False)

    async def close(self) -> Any:
        """``AsyncStream.close()`` is a coroutine too; same as :meth:`aclose`."""
        try:
            close = getattr(self.__wrapped__, "close", None) or getattr(self.__wrapped__, "aclose", None)
            return (await close()) if close is not None else None
        finally:
            self._self_call.finish(complete=False)


def _keep_failed(call: Call, chunk: Any, exc: Exception) -> Callable[[Any], Any]:
    """A chunk sink that failed keeps the chunk itself, then steps aside for the rest of the stream:
    returns a plain keeper to use from now on (one that keeps every chunk whole)."""
    report_internal_error(f"{call.adapter.provider}.chunk_sink", exc)
    chunks = call.chunks
    if chunks is None:  # not reachable: the proxy set the list
        chunks = call.chunks = []
    if not chunks or chunks[-1] is not chunk:
        chunks.append(chunk)
    return _whole_keeper(chunks)


def _whole_keeper(chunks: list[Any]) -> Callable[[Any], Any]:
    """Keeps every chunk object and says so (``True``: the proxy checks it against ``hidden``)."""
    append = chunks.append

    def keep(chunk: Any) -> bool:
        append(chunk)
        return True

    return keep


def _chunk_keeper(adapter: Adapter, chunks: list[Any], hides: bool) -> Callable[[Any], Any]:
    """The adapter's chunk sink for this stream, else a plain keeper.

    The keeper's return value tells the proxy whether the chunk was kept whole (anything but
    ``None``): only such a chunk can be one to withhold from the caller (``Request.hidden``), so a
    compacted text chunk costs no ``hidden`` check. Without a sink: ``chunks.append`` (no extra call
    per chunk) when nothing is hidden, else a keeper that reports every chunk as whole.
    """
    sink = None
    with guard(f"{adapter.provider}.chunk_sink"):
        sink = adapter.chunk_sink(chunks)
    if sink is not None:
        return sink
    return _whole_keeper(chunks) if hides else chunks.append


def wrap_stream(call: Call, stream: Any, is_async: bool) -> Any:
    """The proxy the user gets instead of ``stream``."""
    return AsyncStreamProxy(stream, call) if is_async else SyncStreamProxy(stream, call)


class _RawResponseProxyBase(wrapt.BaseObjectProxy):
    """Proxy for a raw response whose body is still to come (``with_streaming_response``, or
    ``with_raw_response`` on a stream): ``parse()`` hands out a watched stream or finishes the call
    with the parsed object; closing it first finishes the call with what is known (the request id
    header, and the JSON body if the caller read it without ``parse()``)."""

    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_parsed: Any = _UNSET

    def __copy__(self) -> Any:
        return self.__wrapped__

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self.__wrapped__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("cannot pickle a live response")

    def _watch(self, parsed: Any, is_async: bool) -> Any:
        call = self._self_call
        if call.finished:
            return parsed
        if call.request.stream:
            # Decide by the parsed object, not by parse(): the legacy raw response of an async client
            # has a sync parse() that returns an AsyncStream.
            watched = wrap_stream(call, parsed, call.adapter.is_async_result(parsed))
        else:
            call.finish(response=parsed)
            watched = parsed
        return watched

    def __del__(self) -> None:
        call = self._self_call
        if not call.finished and call.chunks is None:
            call.finish(response=self.__wrapped__, complete=False, from_gc=True)


class RawResponseProxy(_RawResponseProxyBase):
    """Sync raw response proxy."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """The SDK's ``parse()``; a stream comes back watched, the same proxy on every call."""
        if kwargs or args:
            return self.__wrapped__.parse(*args, **kwargs)
        if self._self_parsed is _UNSET:
            self._self_parsed = self._watch(self.__wrapped__.parse(), is_async=False)
        return self._self_parsed

    def close(self) -> Any:
        """Close the response; an unparsed call finishes now."""
        try:
            return self.__wrapped__.close()
        finally:
            if self._self_call.chunks is None:
                self._self_call.finish(response=self.__wrapped__, complete=False)

    def __enter__(self) -> RawResponseProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(*exc_info) if exit_ is not None else None
        finally:
            if self._self_call.chunks is None:
                self._self_call.finish(response=self.__wrapped__, complete=False)


class AsyncRawResponseProxy(_RawResponseProxyBase):
    """Async raw response proxy (``parse()`` and ``close()`` are coroutines)."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        """The SDK's ``parse()``; a stream comes back watched, the same proxy on every call."""
        if kwargs or args:
            return await self.__wrapped__.parse(*args, **kwargs)
        if self._self_parsed is _UNSET:
            self._self_parsed = self._watch(await self.__wrapped__.parse(), is_async=True)
        return self._self_parsed

    async def close(self) -> Any:
        """Close the response; an unparsed call finishes now."""
        try:
            return await self.__wrapped__.close()
        finally:
            if self._self_call.chunks is None:
                self._self_call.finish(response=self.__wrapped__, complete=False)

    async def __aenter__(self) -> AsyncRawResponseProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            return (await exit_(*exc_info)) if exit_ is not None else None
        finally:
            if self._self_call.chunks is None:
                self._self_call.finish(response=self.__wrapped__, complete=False)


_UNSET: Any = object()


def wrap_raw_response(call: Call, raw: Any) -> Any:
    """The proxy the user gets instead of a raw response whose body is not read yet."""
    import inspect

    is_async = inspect.iscoroutinefunction(getattr(type(raw), "parse", None))
    return AsyncRawResponseProxy(raw, call) if is_async else RawResponseProxy(raw, call)


class StreamManagerProxy(wrapt.BaseObjectProxy):
    """Proxy for a ``.stream()`` helper's manager (``with client....stream(...) as s``).

    While the manager enters, the call it makes through a patched method (``create``) reports to this
    proxy and takes the helper's api name, so the helper produces exactly one record. On exit, a stream
    the helper closed without draining finishes as partial right away (the helper closes the HTTP
    response directly, bypassing our stream proxy). ``on_enter`` lets a provider hook the helper
    object it returns (e.g. Anthropic, whose manager posts by itself rather than through ``create``).

    ``start`` is for such self-posting managers: it builds the manager's own :class:`Call` when it
    enters (latency counts from there), the budget is reserved before the manager posts (a blocked
    call raises ``BudgetExceededError`` from ``__enter__``), and an error
    while posting finishes the call with that error; ``on_enter`` then watches the helper's stream.
    """

    def __init__(
        self,
        wrapped: Any,
        api: str,
        on_enter: Any = None,
        start: Callable[[], Call | None] | None = None,
        slot: ManagedSlot | None = None,
    ) -> None:
        super().__init__(wrapped)
        self._self_slot = slot if slot is not None else ManagedSlot(api)
        self._self_on_enter = on_enter
        self._self_start = start

    def __copy__(self) -> Any:
        return self.__wrapped__

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self.__wrapped__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("cannot pickle a stream manager")

    def _entered(self, helper: Any) -> Any:
        if self._self_on_enter is not None:
            with guard("stream_manager.on_enter"):  # on failure the helper still works, only unwatched
                return self._self_on_enter(self._self_slot, helper)
        return helper

    def _own_call(self) -> Call | None:
        """The self-posting manager's call, started and budget-checked (None: let the inner call report)."""
        start = self._self_start
        if start is None:
            return None
        call = None
        with guard("stream_manager.start"):
            call = start()
        if call is not None:
            self._self_slot.call = call
            call.sink.reserve(call)  # raises BudgetExceededError before anything is posted
        return call

    def __enter__(self) -> Any:
        call = self._own_call()
        if call is None:
            token = _MANAGED.set(self._self_slot)
            try:
                helper = self.__wrapped__.__enter__()
            finally:
                _MANAGED.reset(token)
            return self._entered(helper)
        in_call = _IN_CALL.set(call.adapter.provider)
        try:
            helper = self.__wrapped__.__enter__()
        except BaseException as exc:
            call.finish(error=exc)
            raise
        finally:
            _IN_CALL.reset(in_call)
        return self._entered(helper)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            call = self._self_slot.call
            if call is not None:
                call.finish(complete=False)

    async def __aenter__(self) -> Any:
        call = self._own_call()
        if call is None:
            token = _MANAGED.set(self._self_slot)
            try:
                helper = await self.__wrapped__.__aenter__()
            finally:
                _MANAGED.reset(token)
            return self._entered(helper)
        in_call = _IN_CALL.set(call.adapter.provider)
        try:
            helper = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            call.finish(error=exc)
            raise
        finally:
            _IN_CALL.reset(in_call)
        return self._entered(helper)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            call = self._self_slot.call
            if call is not None:
                call.finish(complete=False)


def manager_wrapper(
    api: str, on_enter: Callable[[ManagedSlot, Any], Any] | None = None, *, self_posting: bool = False
) -> Callable[[Adapter, Callable[[], bool]], Callable[..., Any]]:
    """A wrapper factory for ``.stream()`` helper methods: their manager comes back proxied.

    ``self_posting=True`` is for managers that post by themselves rather than through a patched
    method: the proxy then starts the call with ``adapter`` and the ``.stream()`` kwargs when the
    manager enters, and ``on_enter(slot, helper)`` must hand ``slot.call`` the helper's stream.
    """

    def factory(adapter: Adapter, enabled: Callable[[], bool]) -> Callable[..., Any]:
        def wrapper(
            wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            if _runtime.active is None or not enabled():
                return wrapped(*args, **kwargs)
            # Some helpers call the patched method eagerly (OpenAI's async ``.stream()`` builds its
            # ``create`` coroutine right away): that call belongs to this manager too.
            slot = ManagedSlot(api)
            token = _MANAGED.set(slot)
            try:
                manager = wrapped(*args, **kwargs)
            finally:
                _MANAGED.reset(token)
            with guard(f"{adapter.provider}.stream_manager"):
                start = _starter(adapter, api, instance, args, kwargs, enabled) if self_posting else None
                return StreamManagerProxy(manager, api, on_enter, start, slot)
            return manager

        return wrapper

    return factory


def _starter(
    adapter: Adapter,
    api: str,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    enabled: Callable[[], bool],
) -> Callable[[], Call | None]:
    """Builds a self-posting manager's call when it enters (None when monitoring is off by then)."""

    def start() -> Call | None:
        sink = _runtime.active
        if sink is None or not enabled() or _IN_CALL.get() == adapter.provider:
            return None
        request = adapter.start(instance, args, kwargs, sink)
        return None if request is None else Call(adapter, sink, request, api)

    return start


__all__ = [
    "AsyncRawResponseProxy",
    "AsyncStreamProxy",
    "RawResponseProxy",
    "StreamManagerProxy",
    "SyncStreamProxy",
    "manager_wrapper",
    "wrap_raw_response",
    "wrap_stream",
]
