"""Reference metrics: ``lm.evals.rouge`` and ``lm.evals.bleu``, and an evaluator that scores calls
whose record has a ``reference`` (from ``context(reference=...)``).

Thin wrappers over Google's ``rouge-score`` (Porter stemmer on) and ``sacrebleu``'s sentence BLEU
(its default settings), so the numbers are those libraries' numbers. Both live behind the ``eval``
extra (``pip install -e '.[eval]'``) and are imported on first use (``rouge-score``
imports NLTK, which takes a while): never at import time, never downloading anything.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any

#: The distribution name used in install hints (one place, in case the package is renamed).
from .._install import DISTRIBUTION
from ._base import Evaluation, check_rate
from ._text import view

#: Reference metric names the evaluator form knows.
METRICS = ("rouge1", "rouge2", "rougeL", "bleu")

_lock = threading.Lock()
_scorer: Any = None


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def install_hint(extra: str) -> str:
    """How to install ``extra`` (built in :mod:`llm_monitor_sdk._install`)."""
    from .._install import install_hint as hint

    return hint(extra)


def missing_extra(feature: str, module: str, extra: str = "eval") -> ImportError:
    """The error raised when an optional dependency of ``feature`` is not installed."""
    return ImportError(f"{feature} needs the {module!r} package: {install_hint(extra)}", name=module)


def has_eval_extra(metric: str = "rougeL") -> bool:
    """Whether the package ``metric`` needs is importable (without importing it)."""
    module = "sacrebleu" if metric == "bleu" else "rouge_score"
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _rouge_scorer() -> Any:
    global _scorer
    if _scorer is None:
        with _lock:
            if _scorer is None:
                try:
                    from rouge_score import rouge_scorer
                except ImportError as exc:
                    raise missing_extra("lm.evals.rouge", "rouge-score") from exc
                _scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    return _scorer


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F-measures of ``prediction`` against ``reference``, as
    ``rouge-score``'s ``RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)`` computes them."""
    if not isinstance(prediction, str) or not isinstance(reference, str):
        raise ValueError("rouge(prediction, reference) takes two strings")
    scores = _rouge_scorer().score(reference, prediction)
    return {key: float(scores[key].fmeasure) for key in ("rouge1", "rouge2", "rougeL")}


def bleu(prediction: str, references: str | Sequence[str]) -> float:
    """Sentence BLEU (0-100) of ``prediction`` against one or more ``references``, as
    ``sacrebleu.sentence_bleu`` computes it with its default settings."""
    if not isinstance(prediction, str):
        raise ValueError("bleu(prediction, references) takes a prediction string")
    refs = [references] if isinstance(references, str) else list(references)
    if not refs or not all(isinstance(r, str) for r in refs):
        raise ValueError("bleu(prediction, references) takes a reference string or a list of them")
    try:
        import sacrebleu
    except ImportError as exc:
        raise missing_extra("lm.evals.bleu", "sacrebleu") from exc
    return float(sacrebleu.sentence_bleu(prediction, refs).score)


class ReferenceMetric:
    """Evaluator: ROUGE (``rouge1``, ``rouge2``, ``rougeL``) or BLEU of the output against the
    record's ``reference``; ``score`` in [0, 1] (BLEU divided by 100), ``passed = score >=
    threshold``. ``None`` (no record) for calls without a reference or without output text."""

    source = "reference"
    raw = False
    include_errors = False
    shares_record = True

    def __init__(
        self,
        metric: str = "rougeL",
        *,
        name: str | None = None,
        threshold: float = 0.5,
        sample_rate: float = 1.0,
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"reference metric must be one of {', '.join(METRICS)}, not {metric!r}")
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0.0 <= threshold <= 1.0
        ):
            raise ValueError(
                f"reference metric threshold must be a number from 0.0 to 1.0, not {threshold!r}"
            )
        if not has_eval_extra(metric):
            module = "sacrebleu" if metric == "bleu" else "rouge-score"
            raise ValueError(f"the {metric} evaluator needs the {module!r} package: {install_hint('eval')}")
        self.metric = metric
        self.name = name or metric
        self.threshold = float(threshold)
        self.sample_rate = check_rate(sample_rate, f"evaluator {self.name!r}")

    def __repr__(self) -> str:
        return f"<ReferenceMetric {self.name!r} metric={self.metric}>"

    def evaluate(self, record: dict[str, Any]) -> Evaluation | None:
        """Score the output against ``record["reference"]``; ``None`` without one."""
        reference = record.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            return None
        output = view(record).output_text()
        if not output:
            return None
        if self.metric == "bleu":
            score = bleu(output, reference) / 100.0
        else:
            score = rouge(output, reference)[self.metric]
        score = min(1.0, max(0.0, score))
        return Evaluation(
            self.name,
            score=round(score, 6),
            passed=score >= self.threshold,
            label=self.metric,
            source="reference",
        )


__all__ = [
    "DISTRIBUTION",
    "METRICS",
    "ReferenceMetric",
    "bleu",
    "has_eval_extra",
    "install_hint",
    "missing_extra",
    "rouge",
]
