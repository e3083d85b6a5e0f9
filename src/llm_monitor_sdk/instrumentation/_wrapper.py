"""The wrapper every patched provider method shares, and how a result reaches the user.

``make_wrapper(adapter)`` gives the wrapt wrapper: on the user's thread it starts a :class:`Call`,
reserves budget through the active monitor's call sink, calls the provider, and hands the result
back through :func:`deliver`: a stream comes back inside a watching proxy (``_stream``), a raw
response whose body is still to come likewise, anything else unchanged after the call is finished.
A provider exception finishes the call as an error and propagates as the same object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _runtime
from .._guard import guard
from ._call import _IN_CALL, _MANAGED, Adapter, Call, CallSink
from ._helpers import body_is_read, is_raw_response
from ._stream import wrap_raw_response, wrap_stream


def _start(
    adapter: Adapter, sink: CallSink, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Call | None:
    request = adapter.start(instance, args, kwargs, sink)
    if request is None:
        return None
    if request.adapter is not None:  # a generic method routed to the surface it calls
        adapter = request.adapter
    slot = _MANAGED.get()
    api = adapter.api if slot is None else slot.api
    call = Call(adapter, sink, request, api)
    if slot is not None:
        slot.call = call
        _MANAGED.set(None)  # only the first call inside the manager belongs to it
    return call


def make_wrapper(
    adapter: Adapter, *, is_async: bool, enabled: Callable[[], bool] = lambda: True
) -> Callable[..., Any]:
    """The wrapt wrapper for one patched method. ``enabled`` lets ``uninstrument()`` turn it off in place."""
    provider = adapter.provider
    start_guard = guard(f"{provider}.start")

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        sink = _runtime.active
        if sink is None or _IN_CALL.get() == provider or not enabled():
            return wrapped(*args, **kwargs)
        call = None
        with start_guard:
            call = _start(adapter, sink, instance, args, kwargs)
        if call is None:
            if is_async:
                return wrapped(*args, **kwargs)
            # Unmonitored, and so are the provider's own nested methods (one attempt per user call).
            skip = _IN_CALL.set(provider)
            try:
                return wrapped(*args, **kwargs)
            finally:
                _IN_CALL.reset(skip)
        request = call.request
        call_kwargs = request.kwargs if request.call_kwargs is None else request.call_kwargs
        if is_async:
            return _run_async(call, wrapped, args, call_kwargs)
        sink.reserve(call)  # raises BudgetExceededError (the one error we exist to raise)
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
    call.sink.reserve(call)
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
    """Hand the provider's result to the user: a stream proxy for streams, else the result itself
    after finishing the call.

    Raw responses (``with_raw_response`` / ``with_streaming_response``) come back as the SDK's
    response wrapper: a fully read one is recorded from its JSON body on the worker; a streamed one
    is proxied so that what ``parse()`` returns is watched. If wrapping fails, the user gets the
    unwatched result and the call is finished with what is known.
    """
    delivered: Any = _UNDELIVERED
    with guard(f"{call.adapter.provider}.deliver"):
        delivered = _wrap(call, result)
    if delivered is _UNDELIVERED:
        call.finish(response=None)  # no-op when the call already finished
        return result
    return delivered


_UNDELIVERED: Any = object()


def _wrap(call: Call, result: Any) -> Any:
    if is_raw_response(result):
        if call.request.stream or not body_is_read(result):
            return wrap_raw_response(call, result)
        call.finish(response=result)
        return result
    if call.request.stream:
        return wrap_stream(call, result, call.adapter.is_async_result(result))
    call.finish(response=result)
    return result


__all__ = ["deliver", "make_wrapper"]
