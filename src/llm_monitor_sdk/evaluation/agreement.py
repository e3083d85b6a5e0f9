"""How well a judge agrees with human feedback (``lm.evals.agreement``, ``llm-monitor eval agreement``).

The judge's verdicts are ``kind="evaluation"`` records named ``judge``; the human's are
``kind="feedback"`` records named ``human`` (a score of 0.5 or more is a pass). They are joined on
the call they are about, through ``target``: its ``record_id``, else the ``response_id`` (mapped to a
call's ``record_id`` when the call records are in the input), else the ``trace_id``. When a call has
several verdicts of one side, the last one counts. "Positive" is a pass: ``precision`` is the share
of the judge's passes that the human also passed, ``recall`` the share of the human's passes that the
judge found.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

_log = logging.getLogger("llm_monitor_sdk.evals")

#: Fewer pairs than this and :func:`agreement` warns that the numbers are not yet reliable.
MIN_PAIRS = 30


def _records(source: Any) -> Iterable[dict[str, Any]]:
    if isinstance(source, str | os.PathLike):
        from ..analysis import reader

        return reader.iter_records([os.fspath(source)])
    return source


def _verdict(evaluation: Any) -> bool | None:
    if not isinstance(evaluation, Mapping):
        return None
    passed = evaluation.get("passed")
    if isinstance(passed, bool):
        return passed
    score = evaluation.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        return float(score) >= 0.5
    return None


def agreement(records: Any, *, judge: str, human: str) -> dict[str, Any]:
    """Judge vs human on the same calls: ``{"n", "accuracy", "cohen_kappa", "precision", "recall",
    "tp", "fp", "fn", "tn", "judge", "human"}`` (``None`` for a rate with no denominator).

    ``records``: record dicts, or a JSONL path / directory / glob (read like ``llm-monitor report``
    reads them). Logs a WARNING when fewer than :data:`MIN_PAIRS` pairs exist.
    """
    if not isinstance(judge, str) or not judge or not isinstance(human, str) or not human:
        raise ValueError("agreement needs the judge's and the human's evaluation names")
    items = list(_records(records))
    by_response: dict[str, str] = {}
    for record in items:
        if record.get("kind") == "llm_call" and record.get("response_id") and record.get("record_id"):
            by_response[str(record["response_id"])] = str(record["record_id"])

    def key(record: Mapping[str, Any]) -> str | None:
        target = record.get("target")
        target = target if isinstance(target, Mapping) else {}
        if target.get("record_id"):
            return f"record:{target['record_id']}"
        response = target.get("response_id")
        if response:
            mapped = by_response.get(str(response))
            return f"record:{mapped}" if mapped else f"response:{response}"
        trace = target.get("trace_id") or record.get("trace_id")
        return f"trace:{trace}" if trace else None

    judged: dict[str, bool] = {}
    labelled: dict[str, bool] = {}
    judged_traces: dict[str, bool] = {}
    for record in items:
        kind = record.get("kind")
        evaluation = record.get("evaluation")
        name = evaluation.get("name") if isinstance(evaluation, Mapping) else None
        verdict = _verdict(evaluation)
        k = key(record)
        if verdict is None or k is None:
            continue
        if kind == "evaluation" and name == judge:
            judged[k] = verdict
            trace = record.get("trace_id")
            if trace:
                judged_traces[f"trace:{trace}"] = verdict
        elif kind == "feedback" and name == human:
            labelled[k] = verdict
    pairs = []
    for k, human_verdict in labelled.items():
        judge_verdict = judged.get(k)
        if judge_verdict is None and k.startswith("trace:"):
            judge_verdict = judged_traces.get(k)
        if judge_verdict is not None:
            pairs.append((judge_verdict, human_verdict))
    tp = sum(1 for j, h in pairs if j and h)
    fp = sum(1 for j, h in pairs if j and not h)
    fn = sum(1 for j, h in pairs if not j and h)
    tn = sum(1 for j, h in pairs if not j and not h)
    n = len(pairs)
    accuracy = (tp + tn) / n if n else None
    kappa: float | None = None
    if n:
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
        kappa = 1.0 if expected == 1.0 else ((accuracy or 0.0) - expected) / (1.0 - expected)
    if n < MIN_PAIRS:
        _log.warning(
            "agreement of %r with %r rests on %d pairs (fewer than %d): not yet a reliable estimate",
            judge,
            human,
            n,
            MIN_PAIRS,
        )
    return {
        "judge": judge,
        "human": human,
        "n": n,
        "accuracy": accuracy,
        "cohen_kappa": kappa,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


__all__ = ["MIN_PAIRS", "agreement"]
