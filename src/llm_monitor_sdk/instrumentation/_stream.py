"""Transparent stream proxies, written once for every provider.

The user gets a proxy around the provider's stream object. Everything not defined here is forwarded
by wrapt (attributes, helpers like ``.response``, ``get_final_completion()``, ``text_stream``); what
wrapt does *not* forward (``__next__``/``__anext__``) or forwards wrongly for us (``__enter__``
returns the wrapped object's result, which would hand the user the unwatched stream) is defined.

The call finishes exactly once, whichever comes first: the stream is exhausted, raises, is closed,
its ``with`` block exits, or the proxy is garbage collected (``partial=true`` unless exhausted).
Per chunk the proxy does one list append (plus the TTFT check until the first content chunk);
reading the chunks happens on the export worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wrapt

from .. import _runtime
from .._guard import report_internal_error
from ._call import _MANAGED, Adapter, Call, ManagedSlot


class _StreamProxyBase(wrapt.BaseObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        call.chunks = []
        call.stream = wrapped

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

    def __iter__(self) -> SyncStreamProxy:
        return self

    def __next__(self) -> Any:
        call = self._self_call
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            call.finish(complete=True)
            raise
        except BaseException as exc:
            call.finish(error=exc, complete=False)
            raise
        if call.t_first is None:
            call.mark_first_chunk(chunk)
        call.chunks.append(chunk)  # type: ignore[union-attr]
        return chunk

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


class AsyncStreamProxy(_StreamProxyBase):
    """Proxy for an async stream or async generator of chunks."""

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        call = self._self_call
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            call.finish(complete=True)
            raise
        except BaseException as exc:
            call.finish(error=exc, complete=False)
            raise
        if call.t_first is None:
            call.mark_first_chunk(chunk)
        call.chunks.append(chunk)  # type: ignore[union-attr]
        return chunk

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


def wrap_stream(call: Call, stream: Any, is_async: bool) -> Any:
    """The proxy the user gets instead of ``stream``."""
    return AsyncStreamProxy(stream, call) if is_async else SyncStreamProxy(stream, call)


class _RawResponseProxyBase(wrapt.BaseObjectProxy):  # type: ignore[misc]
    """Proxy for a raw response whose body is still to come (``with_streaming_response``, or
    ``with_raw_response`` on a stream): ``parse()`` hands out a watched stream or finishes the call
    with the parsed object; closing it first finishes the call with what is known."""

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
            watched = wrap_stream(call, parsed, is_async)
        else:
            call.finish(response=parsed)
            watched = parsed
        return watched

    def __del__(self) -> None:
        call = self._self_call
        if not call.finished and call.chunks is None:
            call.finish(complete=False, from_gc=True)


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
                self._self_call.finish(complete=False)

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
                self._self_call.finish(complete=False)


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
                self._self_call.finish(complete=False)

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
                self._self_call.finish(complete=False)


_UNSET: Any = object()


def wrap_raw_response(call: Call, raw: Any) -> Any:
    """The proxy the user gets instead of a raw response whose body is not read yet."""
    import inspect

    is_async = inspect.iscoroutinefunction(getattr(type(raw), "parse", None))
    return AsyncRawResponseProxy(raw, call) if is_async else RawResponseProxy(raw, call)


class StreamManagerProxy(wrapt.BaseObjectProxy):  # type: ignore[misc]
    """Proxy for a ``.stream()`` helper's manager (``with client....stream(...) as s``).

    While the manager enters, the call it makes through a patched method (``create``) reports to this
    proxy and takes the helper's api name, so the helper produces exactly one record. On exit, a stream
    the helper closed without draining finishes as partial right away (the helper closes the HTTP
    response directly, bypassing our stream proxy). ``on_enter`` lets a provider hook the helper
    object it returns (e.g. Anthropic, whose manager posts by itself rather than through ``create``).
    """

    def __init__(self, wrapped: Any, api: str, on_enter: Any = None) -> None:
        super().__init__(wrapped)
        self._self_slot = ManagedSlot(api)
        self._self_on_enter = on_enter

    def __copy__(self) -> Any:
        return self.__wrapped__

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self.__wrapped__

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("cannot pickle a stream manager")

    def _entered(self, helper: Any) -> Any:
        if self._self_on_enter is not None:
            return self._self_on_enter(self._self_slot, helper)
        return helper

    def __enter__(self) -> Any:
        token = _MANAGED.set(self._self_slot)
        try:
            helper = self.__wrapped__.__enter__()
        finally:
            _MANAGED.reset(token)
        return self._entered(helper)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            call = self._self_slot.call
            if call is not None:
                call.finish(complete=False)

    async def __aenter__(self) -> Any:
        token = _MANAGED.set(self._self_slot)
        try:
            helper = await self.__wrapped__.__aenter__()
        finally:
            _MANAGED.reset(token)
        return self._entered(helper)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            call = self._self_slot.call
            if call is not None:
                call.finish(complete=False)


def manager_wrapper(api: str, on_enter: Callable[[ManagedSlot, Any], Any] | None = None
                    ) -> Callable[[Adapter, Callable[[], bool]], Callable[..., Any]]:
    """A wrapper factory for ``.stream()`` helper methods: their manager comes back proxied."""

    def factory(adapter: Adapter, enabled: Callable[[], bool]) -> Callable[..., Any]:
        def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
            manager = wrapped(*args, **kwargs)
            if _runtime.active is None or not enabled():
                return manager
            try:
                return StreamManagerProxy(manager, api, on_enter)
            except Exception as exc:
                report_internal_error(f"{adapter.provider}.stream_manager", exc)
                return manager

        return wrapper

    return factory


__all__ = [
    "manager_wrapper",
    "AsyncRawResponseProxy",
    "AsyncStreamProxy",
    "RawResponseProxy",
    "StreamManagerProxy",
    "SyncStreamProxy",
    "wrap_raw_response",
    "wrap_stream",
]
