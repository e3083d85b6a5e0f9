"""``lm.evals``: evaluators to build and metrics to call.

- :class:`LLMJudge`: LLM-as-a-judge through an openai, anthropic or google-genai client;
- :func:`rouge`, :func:`bleu`: reference metrics (``pip install -e '.[eval]'``), and
  :class:`ReferenceMetric`, the evaluator that scores calls whose record has a ``reference``;
- the built-in heuristics as classes (:class:`Refusal`, :class:`PromptInjection`,
  :class:`UserCorrection`, :class:`Grounding`, :class:`JsonValid`) for custom thresholds or names;
- :func:`evaluate_record`: run any evaluator on one record dict (online results come from the
  evaluation pool; this is the same function, usable offline);
- offline runs: :func:`run` (an :class:`EvalRun`), :func:`load_run`, :func:`compare` (:func:`format_comparison`, :func:`regressions`), :func:`agreement`;
- gates for CI: :func:`check_run` and :func:`assert_run` (thresholds and baseline regressions).
"""

from __future__ import annotations

from .evaluation._base import evaluate_record
from .evaluation.agreement import agreement
from .evaluation.compare import compare, format_comparison, regressions
from .evaluation.gate import assert_run, check_run
from .evaluation.heuristics import Grounding, JsonValid, PromptInjection, Refusal, UserCorrection
from .evaluation.judge import RUBRICS, LLMJudge, parse_verdict
from .evaluation.offline import EvalRun, load_run, run
from .evaluation.reference import ReferenceMetric, bleu, rouge

__all__ = [
    "RUBRICS",
    "EvalRun",
    "Grounding",
    "JsonValid",
    "LLMJudge",
    "PromptInjection",
    "ReferenceMetric",
    "Refusal",
    "UserCorrection",
    "agreement",
    "assert_run",
    "bleu",
    "check_run",
    "compare",
    "evaluate_record",
    "format_comparison",
    "load_run",
    "parse_verdict",
    "regressions",
    "rouge",
    "run",
]
