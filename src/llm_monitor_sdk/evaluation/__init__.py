"""Online evaluation: evaluators, the evaluation pool, feedback and the aggregates behind ``lm.stats()``.

- :class:`Evaluation`, :func:`evaluator`, the :class:`Evaluator` protocol and
  :func:`evaluate_record` (run one evaluator on one record dict anywhere: online, offline, in tests);
- the built-in heuristics (:mod:`.heuristics`), LLM-as-a-judge (:mod:`.judge`), reference metrics
  (:mod:`.reference`);
- :func:`build_processors` turns ``settings.evaluators`` (the ``LLM_MONITOR_EVALUATORS`` text, or
  names and evaluator objects from ``instrument(evaluators=...)``) into the processors the export
  worker runs: always the cheap :class:`EvaluationStats`, plus the :class:`EvaluationProcessor`
  when evaluators are configured;
- :func:`feedback` (``lm.feedback``).

See ``docs/evaluation.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._base import (
    JUDGE_FEATURE,
    JUDGE_METADATA_KEY,
    JUDGE_TARGET_KEY,
    Evaluation,
    EvaluationSkipped,
    Evaluator,
    FunctionEvaluator,
    InvalidEvaluation,
    evaluate_record,
    evaluator,
    is_judge_call,
    trace_fraction,
)
from ._stats import EvaluationStats
from .feedback import feedback
from .pool import EvaluationProcessor

ENV_NAME = "LLM_MONITOR_EVALUATORS"
KEYWORD_NAME = "evaluators (keyword argument)"
#: Reference metrics that may be named too (they need the ``eval`` extra).
REFERENCE_NAMES = ("rouge", "bleu")


def _heuristics() -> dict[str, Any]:
    # The heuristics compile their phrase patterns on import (tens of ms): only when one is named.
    from .heuristics import HEURISTICS

    return HEURISTICS


def __getattr__(name: str) -> Any:
    if name == "HEURISTICS":
        return _heuristics()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def builtin_names() -> list[str]:
    """Every name ``LLM_MONITOR_EVALUATORS`` accepts."""
    return [*_heuristics(), *REFERENCE_NAMES]


def _builtin(name: str, rate: float, source: str) -> Any:
    heuristics = _heuristics()
    if name in heuristics:
        return heuristics[name](sample_rate=rate)
    if name in REFERENCE_NAMES:
        from .reference import ReferenceMetric

        try:
            return ReferenceMetric("rougeL" if name == "rouge" else "bleu", name=name, sample_rate=rate)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
    raise ValueError(
        f"{source}: unknown evaluator {name!r}; built-in evaluators: {', '.join(builtin_names())}"
    )


def _parse_item(item: str, source: str) -> Any:
    text = item.strip()
    name, sep, rate_text = text.partition(":")
    name = name.strip()
    rate = 1.0
    if sep:
        try:
            rate = float(rate_text)
        except ValueError:
            raise ValueError(
                f"{source}: {text!r} has a bad sample rate {rate_text.strip()!r} (NAME or NAME:RATE, RATE 0-1)"
            ) from None
        if not 0.0 <= rate <= 1.0 or rate != rate:
            raise ValueError(f"{source}: {text!r} has a sample rate outside 0.0-1.0")
    if not name:
        raise ValueError(f"{source}: {text!r} has no evaluator name")
    return _builtin(name, rate, source)


def _check_object(item: Any, source: str) -> Any:
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name or not callable(getattr(item, "evaluate", None)):
        raise ValueError(
            f"{source}: {item!r} is neither a built-in evaluator name nor an object with a name and evaluate(record)"
        )
    rate = getattr(item, "sample_rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{source}: evaluator {name!r} has sample_rate {rate!r}; it must be from 0.0 to 1.0")
    raw = getattr(item, "raw", False)
    if not isinstance(raw, bool):
        raise ValueError(f"{source}: evaluator {name!r} has raw={raw!r}; it must be True or False")
    return item


def resolve_evaluators(value: Any, source: str | None = None) -> list[Any]:
    """Evaluator objects from the ``LLM_MONITOR_EVALUATORS`` text or ``instrument(evaluators=...)``.

    ``ValueError`` naming ``source`` (default: the variable for text, the keyword otherwise) and the
    bad item for an unknown name, a bad rate, an object that is not an evaluator, or two evaluators
    with the same name.
    """
    if value is None:
        return []
    if isinstance(value, str):
        where = f"{source or ENV_NAME}={value!r}"
        items: Iterable[Any] = [part for part in value.split(",") if part.strip()]
    else:
        where = source or KEYWORD_NAME
        if callable(getattr(value, "evaluate", None)):
            items = [value]
        else:
            try:
                items = list(value)
            except TypeError:
                raise ValueError(f"{where}: expected names or evaluator objects, not {value!r}") from None
    evaluators: list[Any] = []
    for item in items:
        if isinstance(item, str):
            evaluators.extend(_parse_item(part, where) for part in item.split(",") if part.strip())
        else:
            evaluators.append(_check_object(item, where))
    seen: set[str] = set()
    for item in evaluators:
        if item.name in seen:
            raise ValueError(f"{where}: evaluator {item.name!r} is listed twice (names must be unique)")
        seen.add(item.name)
    return evaluators


def build_processors(settings: Any, *, source: str | None = None) -> list[Any]:
    """The evaluation processors for ``settings`` (a :class:`~llm_monitor_sdk.config.Settings` or any
    object with an ``evaluators`` attribute): :class:`EvaluationStats` always, then an
    :class:`EvaluationProcessor` when evaluators are configured. Raises ``ValueError`` for a bad
    evaluator list (see :func:`resolve_evaluators`)."""
    evaluators = resolve_evaluators(getattr(settings, "evaluators", None), source)
    processors: list[Any] = [EvaluationStats()]
    if evaluators:
        processors.append(EvaluationProcessor(evaluators))
    return processors


__all__ = [
    "ENV_NAME",
    "JUDGE_FEATURE",
    "JUDGE_METADATA_KEY",
    "JUDGE_TARGET_KEY",
    "Evaluation",
    "EvaluationProcessor",
    "EvaluationSkipped",
    "EvaluationStats",
    "Evaluator",
    "FunctionEvaluator",
    "InvalidEvaluation",
    "build_processors",
    "builtin_names",
    "evaluate_record",
    "evaluator",
    "feedback",
    "is_judge_call",
    "resolve_evaluators",
    "trace_fraction",
]
