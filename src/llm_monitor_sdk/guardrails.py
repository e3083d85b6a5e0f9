"""``lm.guardrail()``: time one guardrail check and record whether it blocked.

::

    with lm.guardrail("pii_filter", stage="input") as g:
        if looks_like_pii(prompt):
            g.block("email address in prompt")

    @lm.guardrail("toxicity", stage="output")
    def check(text):
        if toxic(text):
            lm.guardrail.current().block("toxic")

On exit a ``kind="guardrail"`` record is queued for export (``guardrail: {name, stage, blocked,
reason, latency_ms}``), in the current trace (the innermost ``@observe`` span, else the active
OpenTelemetry span; outside both, a fresh trace whose id is ``g.trace_id``), with the span it ran
in as ``parent_span_id``. Exceptions raised inside pass through unchanged (the record is still
written). Report a false positive later with
``lm.feedback(trace_id=g.trace_id, record_id=g.record_id, name="guardrail_false_positive", thumbs=False)``.

Cost on the caller's thread: two clock reads, a small dict and a queue append.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import _clock, _runtime
from ._guard import guard as _internal_guard

F = TypeVar("F", bound=Callable[..., Any])

#: ``stage`` values.
STAGES = ("input", "output")

_CURRENT: contextvars.ContextVar[GuardrailCheck | None] = contextvars.ContextVar(
    "llm_monitor_guardrail", default=None
)


class GuardrailCheck:
    """One running check: what ``with lm.guardrail(...) as g`` gives you.

    ``g.block(reason)`` marks it as blocking; ``g.blocked``, ``g.reason``; ``g.trace_id``,
    ``g.span_id`` and ``g.record_id`` identify its record (for feedback on a false positive).
    """

    __slots__ = (
        "_started",
        "_t0",
        "_token",
        "blocked",
        "name",
        "parent_span_id",
        "reason",
        "record_id",
        "span_id",
        "stage",
        "trace_id",
    )

    def __init__(self, name: str, stage: str) -> None:
        from ._records import record_id
        from .context import current_scope, new_span_id, new_trace_id, parent_of

        self.name = name
        self.stage = stage
        self.blocked = False
        self.reason: str | None = None
        self.trace_id: str = ""
        self.parent_span_id: str | None = None
        self.span_id: str = ""
        self.record_id: str = ""
        with _internal_guard("guardrail.enter"):
            trace_id, parent = parent_of(current_scope())
            self.trace_id = trace_id or new_trace_id()
            self.parent_span_id = parent
            self.span_id = new_span_id()
            self.record_id = record_id()
        self._token: contextvars.Token[GuardrailCheck | None] | None = None
        self._started = _clock.now()
        self._t0 = time.perf_counter()

    def block(self, reason: str | None = None) -> None:
        """Mark this check as blocking (``reason``: a short text, e.g. the rule that matched)."""
        if reason is not None and not isinstance(reason, str):
            raise ValueError(f"guardrail block reason must be a str or None, not {type(reason).__name__}")
        self.blocked = True
        self.reason = reason

    def _finish(self) -> None:
        latency_ms = (time.perf_counter() - self._t0) * 1000.0
        monitor = _runtime.active
        if monitor is None:
            return
        with _internal_guard("guardrail.record"):
            from ._records import iso
            from .context import current_scope, text_value

            ended = self._started + latency_ms / 1000.0
            record: dict[str, Any] = {
                "schema_version": 1,
                "kind": "guardrail",
                "record_id": self.record_id,
                "trace_id": self.trace_id,
                "span_id": self.span_id,
                "parent_span_id": self.parent_span_id,
                "started_at": iso(self._started),
                "ended_at": iso(ended),
                "guardrail": {
                    "name": self.name,
                    "stage": self.stage,
                    "blocked": self.blocked,
                    "reason": self.reason,
                    "latency_ms": round(latency_ms, 4),
                },
            }
            scope = current_scope()
            for field in (
                "user_id",
                "session_id",
                "tenant_id",
                "feature",
                "prompt_name",
                "prompt_version",
                "variant",
            ):
                value = getattr(scope, field)
                if value is not None:
                    record[field] = text_value(value)
            monitor.submit_record(record)

    def __repr__(self) -> str:
        return f"<guardrail check {self.name!r} stage={self.stage} blocked={self.blocked}>"


class guardrail:
    """Time a guardrail check and record whether it blocked; a context manager (sync and async) and a
    decorator (sync and async functions). See the module notes."""

    __slots__ = ("name", "stage")

    def __init__(self, name: str, *, stage: str = "input") -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"guardrail name must be a non-empty str, not {name!r}")
        if stage not in STAGES:
            raise ValueError(f"guardrail stage must be 'input' or 'output', not {stage!r}")
        self.name = name
        self.stage = stage

    @staticmethod
    def current() -> GuardrailCheck | None:
        """The innermost running check in this thread or task (``None`` outside any)."""
        return _CURRENT.get()

    def _enter(self) -> GuardrailCheck:
        check = GuardrailCheck(self.name, self.stage)
        with _internal_guard("guardrail.enter"):
            check._token = _CURRENT.set(check)
        return check

    def _exit(self) -> None:
        with _internal_guard("guardrail.exit"):
            self._finish_current()

    def _finish_current(self) -> None:
        check = _CURRENT.get()
        if check is None:
            return
        token, check._token = check._token, None
        if token is not None:
            try:
                _CURRENT.reset(token)
            except ValueError:  # exited in another context (a generator moved across tasks)
                _CURRENT.set(None)
        check._finish()

    def __enter__(self) -> GuardrailCheck:
        return self._enter()

    def __exit__(self, *exc_info: object) -> None:
        self._exit()

    async def __aenter__(self) -> GuardrailCheck:
        return self._enter()

    async def __aexit__(self, *exc_info: object) -> None:
        self._exit()

    def __call__(self, func: F) -> F:
        """Decorate a function (sync or async): each call is one check; inside it,
        ``lm.guardrail.current().block(reason)`` marks it as blocking."""
        if not callable(func):
            raise ValueError(f"@guardrail needs a function, not {func!r}")
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"guardrail({self.name!r}, stage={self.stage!r})"


__all__ = ["STAGES", "GuardrailCheck", "guardrail"]
