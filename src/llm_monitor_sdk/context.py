"""Who and what a call belongs to: ``context()`` blocks and ``@observe`` spans, on ``contextvars``.

One ``ContextVar`` holds an immutable :class:`Scope`. Entering a block sets a merged copy (inner
values win, ``metadata`` merges key by key, ``tags`` accumulate) and leaving it restores the previous
one, so asyncio tasks and threads each see only their own scope. Snapshotting the scope on the hot
path is a single ``ContextVar.get()``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar, overload

from . import _runtime
from ._guard import guard, report_internal_error

logger = logging.getLogger("llm_monitor_sdk")

F = TypeVar("F", bound=Callable[..., Any])

_EMPTY_METADATA: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Scope:
    """The attributes in force at one point of the program (immutable; replaced, never changed).

    Values are kept as given (no conversion on the caller's thread); the export worker turns them
    into record fields with :func:`text_value` (a value whose ``str()`` raises is recorded as a
    placeholder, never raised).
    """

    user_id: Any = None
    session_id: Any = None
    tenant_id: Any = None
    feature: Any = None
    tags: tuple[Any, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY_METADATA)
    prompt_name: Any = None
    prompt_version: Any = None
    variant: Any = None
    retrieval_sources: Any = None
    reference: Any = None
    trace_id: str | None = None
    span_id: str | None = None

    def merged(self, **changes: Any) -> Scope:
        """A child scope: given values win, metadata merges, tags accumulate (without repeats).

        Never raises for odd values (see ``docs/context.md``): ``metadata`` that is not a mapping is
        kept under the key ``"metadata"`` and ``tags`` that are not a string or an iterable become
        one tag, each with one WARNING per process naming the problem.
        """
        values = {name: getattr(self, name) for name in _FIELDS}
        for name, value in changes.items():
            if value is None:
                continue
            if name == "metadata":
                if not isinstance(value, Mapping):
                    _warn_once(
                        "metadata",
                        f"context metadata must be a mapping, not {type(value).__name__}; "
                        "it is recorded under the key 'metadata'",
                    )
                    value = {"metadata": value}
                value = MappingProxyType({**self.metadata, **value})
            elif name == "tags":
                value = _merge_tags(self.tags, value)
            values[name] = value
        return Scope(**values)


def _merge_tags(current: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    if isinstance(value, str):
        added: tuple[Any, ...] = (value,)
    else:
        try:
            added = tuple(value)
        except TypeError:
            _warn_once(
                "tags",
                f"context tags must be a string or an iterable of strings, not "
                f"{type(value).__name__}; recorded as one tag",
            )
            added = (value,)
    try:
        return tuple(dict.fromkeys((*current, *added)))
    except TypeError:  # unhashable tags: keep them all, in order
        return (*current, *added)


_warned: set[str] = set()


def _warn_once(kind: str, message: str) -> None:
    if kind not in _warned:
        _warned.add(kind)
        logger.warning("llm_monitor_sdk: %s", message)


def text_value(value: Any) -> str | None:
    """A context value as record text (on the worker): strings as they are, other values through
    ``str()``; a value whose ``str()`` raises becomes ``"<unprintable TYPE>"``."""
    if value is None or type(value) is str:
        return value
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


_FIELDS = tuple(Scope.__dataclass_fields__)
ROOT = Scope()
_SCOPE: contextvars.ContextVar[Scope] = contextvars.ContextVar("llm_monitor_scope", default=ROOT)


def current_scope() -> Scope:
    """The scope in force here (cheap: one ``ContextVar.get``)."""
    return _SCOPE.get()


def current_trace_id() -> str | None:
    """Trace id of the innermost open ``@observe`` span, else of the application's current
    OpenTelemetry span; ``None`` outside both (``lm.current_trace_id()``)."""
    scope = _SCOPE.get()
    if scope.trace_id is not None:
        return scope.trace_id
    otel = _otel_parent()
    return otel[0] if otel is not None else None


def new_trace_id() -> str:
    """A random W3C trace id (32 hex digits)."""
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    """A random W3C span id (16 hex digits)."""
    return f"{random.getrandbits(64) or 1:016x}"


def _otel_parent() -> tuple[str, str] | None:
    """The application's active OpenTelemetry span as (trace_id, span_id), if there is one."""
    try:
        if not _otel_get_current():
            return None  # empty OTel context (the usual case): no span, and no span lookup to pay for
        span_context = _otel_get_current_span().get_span_context()
    except Exception as exc:  # pragma: no cover - a broken OTel setup must not break the call
        report_internal_error("context.otel_parent", exc)
        return None
    if not span_context.is_valid:
        return None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


try:  # opentelemetry-api is a core dependency, but a stripped install must still work
    from opentelemetry.context import get_current as _otel_get_current
    from opentelemetry.trace import get_current_span as _otel_get_current_span
except ImportError:  # pragma: no cover

    def _otel_parent() -> tuple[str, str] | None:
        return None


def parent_link(scope: Scope) -> tuple[str, str | None]:
    """(trace_id, parent_span_id) for a new span or call: the ``@observe`` span, else an active OTel span."""
    trace_id, parent_span_id = parent_of(scope)
    if trace_id is None:
        return new_trace_id(), None
    return trace_id, parent_span_id


def parent_of(scope: Scope) -> tuple[str, str] | tuple[None, None]:
    """The parent's (trace_id, span_id): the ``@observe`` span, else an active OTel span, else (None, None).

    Lets the hot path leave drawing a fresh trace id to the export worker.
    """
    if scope.span_id is not None and scope.trace_id is not None:
        return scope.trace_id, scope.span_id
    otel = _otel_parent()
    if otel is not None:
        return otel
    return None, None


_CONTEXT_ENTER = guard("context.enter")


class context:
    """Attach user, session, tenant, feature, tags, metadata and prompt identity to the calls in a block.

    ``variant`` names an A/B variant (on every record); ``retrieval_sources`` (documents given to
    the model: a list of ``{"id", "content"}`` dicts, strings, or objects with ``id``/``content`` or
    ``page_content``) and ``reference`` (the expected output) go to the ``llm_call`` records inside
    and are treated as content: redacted, and absent when content capture is off.

    Works with ``with`` and ``async with`` and as a decorator. Nested blocks merge (inner wins,
    ``metadata`` merges key by key, ``tags`` accumulate) and the outer scope is restored on exit.
    """

    __slots__ = ("_changes", "_tokens")

    def __init__(
        self,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant_id: str | None = None,
        feature: str | None = None,
        tags: Sequence[str] | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        prompt_name: str | None = None,
        prompt_version: str | None = None,
        variant: str | None = None,
        retrieval_sources: Sequence[Any] | None = None,
        reference: str | None = None,
    ) -> None:
        self._changes = {
            "user_id": user_id,
            "session_id": session_id,
            "tenant_id": tenant_id,
            "feature": feature,
            "tags": tags,
            "metadata": metadata,
            "prompt_name": prompt_name,
            "prompt_version": prompt_version,
            "variant": variant,
            "retrieval_sources": retrieval_sources,
            "reference": reference,
        }
        self._tokens: list[contextvars.Token[Scope]] = []

    def __enter__(self) -> Scope:
        scope = current = _SCOPE.get()
        with _CONTEXT_ENTER:
            scope = current.merged(**self._changes)
        self._tokens.append(_SCOPE.set(scope))
        return scope

    def __exit__(self, *exc_info: object) -> None:
        _restore(self._tokens.pop())

    async def __aenter__(self) -> Scope:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)

    def __call__(self, func: F) -> F:
        """Use the same attributes as a decorator (sync, async, generator and async generator functions)."""
        changes = self._changes
        return _decorate(func, lambda args, kwargs: _Entered(_SCOPE.get().merged(**changes), None))


def _restore(token: contextvars.Token[Scope]) -> None:
    try:
        _SCOPE.reset(token)
    except ValueError:
        # Exited in another context than it was entered in (e.g. a generator finished elsewhere):
        # restore the value we replaced rather than fail.
        old = token.old_value
        _SCOPE.set(ROOT if old is contextvars.Token.MISSING else old)


class _Entered:
    """What a decorated function's scope needs on entry and exit (plus the span, for ``@observe``)."""

    __slots__ = ("scope", "span")

    def __init__(self, scope: Scope, span: _Span | None) -> None:
        self.scope = scope
        self.span = span


class _Span:
    """An ``@observe`` span in flight: exported as a ``kind="span"`` record when it ends."""

    __slots__ = ("error", "inputs", "keep_output", "name", "output", "parent_span_id", "scope", "t0", "wall0")

    def __init__(
        self, name: str, scope: Scope, parent_span_id: str | None, inputs: Any, keep_output: bool
    ) -> None:
        self.name = name
        self.keep_output = keep_output
        self.scope = scope
        self.parent_span_id = parent_span_id
        self.inputs = inputs
        self.output: Any = None
        self.error: BaseException | None = None
        self.wall0 = time.time()
        self.t0 = time.perf_counter()

    def end(self) -> None:
        monitor = _runtime.active
        if monitor is None:
            return
        with guard("observe.end"):
            monitor.submit_span(self, time.perf_counter())


def _decorate(func: F, enter: Callable[[tuple[Any, ...], dict[str, Any]], _Entered]) -> F:
    """Wrap ``func`` so each invocation runs inside the scope ``enter(args, kwargs)`` builds.

    One wrapper per kind of function (plain, coroutine, generator, async generator). Our own steps
    (building the scope on entry, ending the span on exit) are guarded: if one fails, the function
    still runs, unmonitored, and its result or exception reaches the caller unchanged.
    """
    if inspect.isasyncgenfunction(func):
        return _wrap_async_generator(func, enter)  # type: ignore[return-value]
    if inspect.isgeneratorfunction(func):
        return _wrap_generator(func, enter)  # type: ignore[return-value]
    if inspect.iscoroutinefunction(func):
        return _wrap_coroutine(func, enter)  # type: ignore[return-value]
    return _wrap_function(func, enter)  # type: ignore[return-value]


_ENTER = guard("observe.enter")
_EXIT = guard("observe.exit")


def _start(
    enter: Callable[[tuple[Any, ...], dict[str, Any]], _Entered],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> _Entered | None:
    entered = None
    with _ENTER:
        entered = enter(args, kwargs)
    return entered


def _finish(entered: _Entered, error: BaseException | None = None, output: Any = None) -> None:
    span = entered.span
    if span is None:
        return
    with _EXIT:
        span.error = error
        if span.keep_output:
            span.output = output
        span.end()


def _wrap_function(func: Callable[..., Any], enter: Callable[..., _Entered]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        entered = _start(enter, args, kwargs)
        if entered is None:
            return func(*args, **kwargs)
        token = _SCOPE.set(entered.scope)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _finish(entered, exc)
            raise
        finally:
            _restore(token)
        _finish(entered, None, result)
        return result

    return wrapper


def _wrap_coroutine(func: Callable[..., Any], enter: Callable[..., _Entered]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        entered = _start(enter, args, kwargs)
        if entered is None:
            return await func(*args, **kwargs)
        token = _SCOPE.set(entered.scope)
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            _finish(entered, exc)
            raise
        finally:
            _restore(token)
        _finish(entered, None, result)
        return result

    return async_wrapper


def _wrap_generator(func: Callable[..., Any], enter: Callable[..., _Entered]) -> Callable[..., Any]:
    @functools.wraps(func)
    def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
        entered = _start(enter, args, kwargs)
        if entered is None:
            return (yield from func(*args, **kwargs))
        token = _SCOPE.set(entered.scope)
        try:
            gen = func(*args, **kwargs)
        finally:
            _restore(token)
        error: BaseException | None = None
        result: Any = None
        try:
            # Run each step of the generator inside the scope, and none of the caller's code.
            method, value = gen.send, None
            while True:
                token = _SCOPE.set(entered.scope)
                try:
                    item = method(value)
                except StopIteration as stop:
                    result = stop.value
                    break
                finally:
                    _restore(token)
                try:
                    value, method = (yield item), gen.send
                except GeneratorExit:
                    token = _SCOPE.set(entered.scope)  # its cleanup code runs inside the span too
                    try:
                        gen.close()
                    finally:
                        _restore(token)
                    raise
                except BaseException as thrown:
                    value, method = thrown, gen.throw
            return result
        except BaseException as exc:
            error = exc if not isinstance(exc, GeneratorExit) else None
            raise
        finally:
            _finish(entered, error, result)

    return gen_wrapper


def _wrap_async_generator(func: Callable[..., Any], enter: Callable[..., _Entered]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
        entered = _start(enter, args, kwargs)
        if entered is None:
            async for item in func(*args, **kwargs):
                yield item
            return
        token = _SCOPE.set(entered.scope)
        try:
            agen = func(*args, **kwargs)
        finally:
            _restore(token)
        error: BaseException | None = None
        try:
            # Run each step of the generator inside the scope, and none of the caller's code.
            method, value = agen.asend, None
            while True:
                token = _SCOPE.set(entered.scope)
                try:
                    item = await method(value)
                except StopAsyncIteration:
                    break
                finally:
                    _restore(token)
                try:
                    value, method = (yield item), agen.asend
                except GeneratorExit:
                    token = _SCOPE.set(entered.scope)  # its cleanup code runs inside the span too
                    try:
                        await agen.aclose()
                    finally:
                        _restore(token)
                    raise
                except BaseException as thrown:
                    value, method = thrown, agen.athrow
        except BaseException as exc:
            error = exc if not isinstance(exc, GeneratorExit) else None
            raise
        finally:
            _finish(entered, error)

    return async_gen_wrapper


def _bind_inputs(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # Arguments by parameter name; references only (converted to JSON on the export worker).
    if signature is None:
        return {"args": list(args), "kwargs": dict(kwargs)}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), "kwargs": dict(kwargs)}
    return {name: value for name, value in bound.arguments.items() if name not in ("self", "cls")}


@overload
def observe(func: F, /) -> F: ...
@overload
def observe(
    name: str | None = None,
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    tenant_id: str | None = None,
    feature: str | None = None,
    tags: Sequence[str] | str | None = None,
    metadata: Mapping[str, Any] | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    variant: str | None = None,
    retrieval_sources: Sequence[Any] | None = None,
    reference: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[[F], F]: ...


def observe(
    name: Any = None,
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    tenant_id: str | None = None,
    feature: str | None = None,
    tags: Sequence[str] | str | None = None,
    metadata: Mapping[str, Any] | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    variant: str | None = None,
    retrieval_sources: Sequence[Any] | None = None,
    reference: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Any:
    """Trace a function: open a span, give LLM calls inside it the span as parent, export it as a record.

    Works on sync and async functions, generators and async generators, bare (``@observe``) or with
    arguments (``@observe("name", user_id=...)``). The keyword attributes apply to everything inside,
    like :class:`context`. The span record (``kind="span"``) carries the function's arguments as
    ``input`` and its return value as ``output`` (``capture_input``/``capture_output`` turn them off;
    nothing is captured when content capture is off), redacted on the export worker like every field.
    """
    if callable(name) and not isinstance(name, str):
        return observe()(name)
    changes = {
        "user_id": user_id,
        "session_id": session_id,
        "tenant_id": tenant_id,
        "feature": feature,
        "tags": tags,
        "metadata": metadata,
        "prompt_name": prompt_name,
        "prompt_version": prompt_version,
        "variant": variant,
        "retrieval_sources": retrieval_sources,
        "reference": reference,
    }

    def decorator(func: F) -> F:
        # ``Class.method`` or ``function``; closures drop their ``outer.<locals>.`` prefix.
        qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
        span_name = name or qualname.rpartition("<locals>.")[2]
        try:
            signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None

        def enter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Entered:
            parent = _SCOPE.get()
            trace_id, parent_span_id = parent_link(parent)
            scope = parent.merged(**changes, trace_id=trace_id, span_id=new_span_id())
            inputs = _bind_inputs(signature, args, kwargs) if capture_input else None
            return _Entered(scope, _Span(span_name, scope, parent_span_id, inputs, capture_output))

        return _decorate(func, enter)

    return decorator


def bind_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``func`` bound to the current context, to run later on another thread.

    ``executor.submit(lm.bind_context(work), item)`` makes the calls inside ``work`` carry the
    submitting code's user, tenant, metadata and trace links. ``asyncio.to_thread`` already does this.
    """
    ctx = contextvars.copy_context()

    @functools.wraps(func)
    def run_in_context(*args: Any, **kwargs: Any) -> Any:
        return ctx.run(func, *args, **kwargs)

    return run_in_context


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context of the code that submitted them."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Schedule ``fn`` with a copy of the caller's context (``map`` goes through here too)."""
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


__all__ = [
    "ContextThreadPoolExecutor",
    "Scope",
    "bind_context",
    "context",
    "current_scope",
    "current_trace_id",
    "observe",
    "parent_link",
    "parent_of",
    "text_value",
]
