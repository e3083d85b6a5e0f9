"""What an evaluator is: :class:`Evaluation`, the evaluator protocol, ``@evaluator`` and the helpers around them.

An evaluator is any object with a ``name`` and an ``evaluate(record) -> result`` method (optional
attributes: ``sample_rate``, ``raw``). ``result`` is an :class:`Evaluation`, a float (the score), a
bool (``passed``), ``None`` ("does not apply": no evaluation record), or a list of evaluations.
:func:`evaluate_record` runs one evaluator over one record dict and returns the normalised
``Evaluation`` list: the online pool uses it on its threads, and offline runs can use it anywhere.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload, runtime_checkable

#: ``feature`` of every LLM call an evaluator makes (judge calls): never evaluated, left out of alerts,
#: and budgeted with a ``feature=llm-monitor-judge:...`` rule.
JUDGE_FEATURE = "llm-monitor-judge"
#: ``metadata`` key holding the name of the evaluator that made a judge call.
JUDGE_METADATA_KEY = "llm_monitor.judge"
#: ``metadata`` key holding the ``record_id`` of the call a judge call evaluates.
JUDGE_TARGET_KEY = "llm_monitor.target_record_id"

#: ``evaluation.source`` values.
SOURCES = ("human", "heuristic", "llm_judge", "reference", "code")

F = TypeVar("F", bound=Callable[..., Any])


def _check_text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"Evaluation {what} must be a str or None, not {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What an evaluator returns: a named score and/or pass/fail verdict about one call.

    ``score`` is a finite number (for the built-in evaluators in [0, 1]: for detectors, higher means
    more likely present; for quality evaluators higher is better), ``passed`` the verdict,
    ``label`` a short category (``"refusal"``, ``"unparseable"``, ...), ``explanation`` free text.
    ``source`` says where it came from (``heuristic``, ``llm_judge``, ``reference``, ``code``,
    ``human``); ``None`` lets the evaluator's own source (``code`` for your functions) fill it in.
    """

    name: str
    score: float | None = None
    passed: bool | None = None
    label: str | None = None
    explanation: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Evaluation name must be a non-empty str, not {self.name!r}")
        score = self.score
        if score is not None:
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise ValueError(f"Evaluation score must be a number or None, not {type(score).__name__}")
            if not math.isfinite(score):
                raise ValueError(f"Evaluation score must be finite, not {score!r}")
            object.__setattr__(self, "score", float(score))
        if self.passed is not None and not isinstance(self.passed, bool):
            raise ValueError(f"Evaluation passed must be a bool or None, not {type(self.passed).__name__}")
        _check_text(self.label, "label")
        _check_text(self.explanation, "explanation")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"Evaluation source must be one of {', '.join(SOURCES)}, not {self.source!r}")

    def as_dict(self, default_source: str = "code") -> dict[str, Any]:
        """The record's ``evaluation`` object: ``{name, score, passed, label, explanation, source}``."""
        return {
            "name": self.name,
            "score": self.score,
            "passed": self.passed,
            "label": self.label,
            "explanation": self.explanation,
            "source": self.source or default_source,
        }


@runtime_checkable
class Evaluator(Protocol):
    """The evaluator protocol: a ``name`` and ``evaluate(record)``.

    Optional attributes read by the pool: ``sample_rate`` (0-1, default 1), ``raw`` (default
    ``False``: the record is the redacted one), ``include_errors`` (default ``False``: only calls with
    ``status="ok"`` are handed over), ``source`` (default ``"code"``) and ``stats()`` (a dict merged
    into this evaluator's entry of ``lm.stats()["evaluation_pool"]``).
    """

    name: str

    def evaluate(self, record: dict[str, Any]) -> Any:
        """Score one record: an :class:`Evaluation`, a float, a bool, ``None`` or a list of evaluations."""


class EvaluationSkipped(Exception):
    """Raised by an evaluator that could not run this time (budget blocked, rate limited, ...).

    The pool counts it under ``skipped[reason]``; it is neither an error nor logged as one.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class InvalidEvaluation(TypeError):
    """An evaluator returned something that is not an evaluation (NaN, a string, a dict, ...)."""


class FunctionEvaluator:
    """An evaluator made from a function by ``@evaluator``; calling it calls the function."""

    source = "code"

    def __init__(
        self, func: Callable[[dict[str, Any]], Any], name: str, sample_rate: float, raw: bool
    ) -> None:
        self.func = func
        self.name = name
        self.sample_rate = sample_rate
        self.raw = raw
        functools.update_wrapper(self, func)

    def evaluate(self, record: dict[str, Any]) -> Any:
        """Run the function on one record."""
        return self.func(record)

    def __call__(self, record: dict[str, Any]) -> Any:
        return self.func(record)

    def __repr__(self) -> str:
        return f"<evaluator {self.name!r} sample_rate={self.sample_rate} raw={self.raw}>"


def check_rate(value: Any, what: str) -> float:
    """A sample rate in [0, 1] (``ValueError`` naming ``what`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{what}: sample_rate must be a number from 0.0 to 1.0, not {value!r}")
    return float(value)


@overload
def evaluator(func: F, /) -> FunctionEvaluator: ...
@overload
def evaluator(
    name: str | None = None, *, sample_rate: float = 1.0, raw: bool = False
) -> Callable[[Callable[[dict[str, Any]], Any]], FunctionEvaluator]: ...


def evaluator(name: Any = None, *, sample_rate: float = 1.0, raw: bool = False) -> Any:
    """Make ``fn(record: dict) -> Evaluation | float | bool | None`` an evaluator.

    A float is the score, a bool is ``passed``, ``None`` means "does not apply" (no record).
    ``sample_rate`` is the share of traces it sees (deterministic per ``trace_id``); ``raw=True``
    gives it the record before PII redaction (in process only). Usable bare (``@lm.evaluator``).
    """
    if callable(name) and not isinstance(name, str):
        return evaluator()(name)
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"evaluator name must be a non-empty str, not {name!r}")
    rate = check_rate(sample_rate, "evaluator")
    if not isinstance(raw, bool):
        raise ValueError(f"evaluator raw must be True or False, not {raw!r}")

    def decorate(func: Callable[[dict[str, Any]], Any]) -> FunctionEvaluator:
        if not callable(func):
            raise ValueError(f"@evaluator needs a function, not {func!r}")
        return FunctionEvaluator(func, str(name or getattr(func, "__name__", "evaluator")), rate, raw)

    return decorate


def _resolve(result: Any) -> Any:
    if inspect.isawaitable(result):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise InvalidEvaluation("an async evaluator cannot be run from inside a running event loop")

        async def wait() -> Any:
            return await result

        return asyncio.run(wait())
    return result


def normalize(result: Any, name: str, source: str = "code") -> list[Evaluation]:
    """Turn what an evaluator returned into evaluations (``InvalidEvaluation`` for anything else)."""
    if result is None:
        return []
    if isinstance(result, Evaluation):
        items = [result]
    elif isinstance(result, bool):
        items = [Evaluation(name, passed=result)]
    elif isinstance(result, int | float):
        if not math.isfinite(result):
            raise InvalidEvaluation(f"evaluator {name!r} returned a non-finite score {result!r}")
        items = [Evaluation(name, score=float(result))]
    elif isinstance(result, list | tuple) and all(isinstance(item, Evaluation) for item in result):
        items = list(result)
    else:
        raise InvalidEvaluation(
            f"evaluator {name!r} returned {type(result).__name__}; expected Evaluation, float, bool or None"
        )
    return [item if item.source else _with_source(item, source) for item in items]


def _with_source(item: Evaluation, source: str) -> Evaluation:
    return Evaluation(item.name, item.score, item.passed, item.label, item.explanation, source)


def evaluate_record(evaluator: Any, record: dict[str, Any]) -> list[Evaluation]:
    """Run one evaluator on one record dict and return its evaluations (empty: does not apply).

    Works anywhere (the online pool, offline runs, tests). Raises what the evaluator raises,
    :class:`EvaluationSkipped` when it could not run, :class:`InvalidEvaluation` for a result that is
    not an evaluation. Async evaluators are awaited on a fresh event loop.
    """
    name = getattr(evaluator, "name", None) or "evaluator"
    result = _resolve(evaluator.evaluate(record))
    return normalize(result, name, getattr(evaluator, "source", None) or "code")


def is_judge_call(record: Mapping[str, Any]) -> bool:
    """True for a call an evaluator made (``feature="llm-monitor-judge"`` or the judge metadata key)."""
    if record.get("feature") == JUDGE_FEATURE:
        return True
    metadata = record.get("metadata")
    return isinstance(metadata, Mapping) and JUDGE_METADATA_KEY in metadata


def trace_fraction(trace_id: Any) -> float:
    """Where a trace falls in [0, 1): the same for every evaluator, so equal rates pick equal traces.

    A trace is sampled by an evaluator with rate ``r`` when ``trace_fraction(trace_id) < r``: traces
    picked at a lower rate are a subset of those picked at a higher one.
    """
    data = str(trace_id).encode()
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 18446744073709551616.0


def current_link() -> tuple[str | None, str | None]:
    """The innermost ``@observe`` span (or active OpenTelemetry span) as ``(trace_id, span_id)``."""
    from ..context import current_scope, parent_of

    return parent_of(current_scope())


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), much cheaper than ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [copy_json(item) for item in value]
    return value


__all__ = [
    "JUDGE_FEATURE",
    "JUDGE_METADATA_KEY",
    "JUDGE_TARGET_KEY",
    "SOURCES",
    "Evaluation",
    "EvaluationSkipped",
    "Evaluator",
    "FunctionEvaluator",
    "InvalidEvaluation",
    "check_rate",
    "copy_json",
    "current_link",
    "evaluate_record",
    "evaluator",
    "is_judge_call",
    "normalize",
    "trace_fraction",
]
