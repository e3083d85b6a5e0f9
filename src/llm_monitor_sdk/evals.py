"""``lm.evals``: evaluators to build and metrics to call.

- :class:`LLMJudge`: LLM-as-a-judge through an openai, anthropic or google-genai client;
- :func:`rouge`, :func:`bleu`: reference metrics (``pip install -e '.[eval]'``), and
  :class:`ReferenceMetric`, the evaluator that scores calls whose record has a ``reference``;
- the built-in heuristics as classes (:class:`Refusal`, :class:`PromptInjection`,
  :class:`UserCorrection`, :class:`Grounding`, :class:`JsonValid`) for custom thresholds or names;
- :func:`evaluate_record`: run any evaluator on one record dict (online results come from the
  evaluation pool; this is the same function, usable offline).
"""

from __future__ import annotations

from .evaluation._base import evaluate_record
from .evaluation.heuristics import Grounding, JsonValid, PromptInjection, Refusal, UserCorrection
from .evaluation.judge import RUBRICS, LLMJudge, parse_verdict
from .evaluation.reference import ReferenceMetric, bleu, rouge

__all__ = [
    "RUBRICS",
    "Grounding",
    "JsonValid",
    "LLMJudge",
    "PromptInjection",
    "ReferenceMetric",
    "Refusal",
    "UserCorrection",
    "bleu",
    "evaluate_record",
    "parse_verdict",
    "rouge",
]
