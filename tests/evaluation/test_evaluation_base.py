"""Evaluation, @evaluator, evaluate_record, sampling fractions, configuration of evaluators."""

from __future__ import annotations

import asyncio
import math
import os
from typing import Any

import pytest
from eval_support import call_record

import llm_monitor_sdk as lm
from llm_monitor_sdk.config import load_settings
from llm_monitor_sdk.evaluation import (
    Evaluation,
    EvaluationProcessor,
    EvaluationStats,
    InvalidEvaluation,
    build_processors,
    builtin_names,
    evaluate_record,
    evaluator,
    is_judge_call,
    resolve_evaluators,
    trace_fraction,
)
from llm_monitor_sdk.evaluation.heuristics import Grounding, Refusal


def test_evaluation_validates_its_fields() -> None:
    assert Evaluation("x", score=1).score == 1.0
    assert Evaluation("x", score=0.3, passed=True).as_dict() == {
        "name": "x",
        "score": 0.3,
        "passed": True,
        "label": None,
        "explanation": None,
        "source": "code",
    }
    for bad in [
        {"score": math.nan},
        {"score": "1"},
        {"score": True},
        {"passed": 1},
        {"label": 3},
        {"source": "gut"},
    ]:
        with pytest.raises(ValueError):
            Evaluation("x", **bad)
    with pytest.raises(ValueError):
        Evaluation("")


def test_evaluator_decorator_forms() -> None:
    @evaluator
    def bare(record: dict[str, Any]) -> float:
        return 0.5

    @evaluator("named", sample_rate=0.2, raw=True)
    def named(record: dict[str, Any]) -> bool:
        return True

    assert bare.name == "bare" and bare.sample_rate == 1.0 and bare.raw is False
    assert named.name == "named" and named.sample_rate == 0.2 and named.raw is True
    assert bare({}) == 0.5 and named.evaluate({}) is True  # still callable
    with pytest.raises(ValueError):
        evaluator("x", sample_rate=1.5)
    with pytest.raises(ValueError):
        evaluator("x", raw="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        evaluator("")


def test_evaluate_record_normalises_results() -> None:
    record = call_record()

    def make(result: Any) -> Any:
        return evaluator("e")(lambda r: result)

    assert evaluate_record(make(None), record) == []
    assert evaluate_record(make(0.5), record) == [Evaluation("e", score=0.5, source="code")]
    assert evaluate_record(make(False), record) == [Evaluation("e", passed=False, source="code")]
    many = evaluate_record(
        make([Evaluation("a", score=1.0), Evaluation("b", passed=True, source="human")]), record
    )
    assert [(e.name, e.source) for e in many] == [("a", "code"), ("b", "human")]
    for garbage in [math.inf, "ok", {"score": 1}, [1.0], object()]:
        with pytest.raises(InvalidEvaluation):
            evaluate_record(make(garbage), record)
    assert evaluate_record(Refusal(), call_record(output="I can't help with that."))[0].source == "heuristic"

    @evaluator("async")
    async def coro(r: dict[str, Any]) -> float:
        await asyncio.sleep(0)
        return 0.1

    assert evaluate_record(coro, record)[0].score == 0.1


def test_trace_fraction_is_deterministic_and_uniform() -> None:
    ids = [os.urandom(16).hex() for _ in range(20_000)]
    fractions = [trace_fraction(t) for t in ids]
    assert fractions == [trace_fraction(t) for t in ids]
    assert all(0.0 <= f < 1.0 for f in fractions)
    for rate in (0.1, 0.5, 0.9):
        share = sum(f < rate for f in fractions) / len(fractions)
        assert abs(share - rate) < 0.02


def test_is_judge_call() -> None:
    assert is_judge_call({"feature": "llm-monitor-judge"})
    assert is_judge_call({"feature": "x", "metadata": {"llm_monitor.judge": "j"}})
    assert not is_judge_call({"feature": "chat", "metadata": {}})


def test_evaluators_from_the_environment_text() -> None:
    evaluators = resolve_evaluators("refusal, grounding:0.5 ,prompt_injection:0,user_correction:1,json_valid")
    assert [e.name for e in evaluators] == [
        "refusal",
        "grounding",
        "prompt_injection",
        "user_correction",
        "json_valid",
    ]
    assert [e.sample_rate for e in evaluators] == [1.0, 0.5, 0.0, 1.0, 1.0]
    assert isinstance(evaluators[1], Grounding)
    assert resolve_evaluators(None) == [] and resolve_evaluators("") == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("refusal,bogus", "bogus"),
        ("refusal:2", "refusal:2"),
        ("grounding:lots", "lots"),
        (":0.5", ":0.5"),
        ("refusal,refusal", "refusal"),
    ],
)
def test_bad_evaluator_text_names_the_variable_and_the_item(text: str, bad: str) -> None:
    with pytest.raises(ValueError) as info:
        build_processors(load_settings({"LLM_MONITOR_EVALUATORS": text}))
    assert "LLM_MONITOR_EVALUATORS" in str(info.value) and bad in str(info.value)


def test_evaluators_from_code() -> None:
    @evaluator("mine")
    def mine(record: dict[str, Any]) -> float:
        return 1.0

    processors = build_processors(load_settings(evaluators=["refusal:0.3", mine]))
    assert [type(p) for p in processors] == [EvaluationStats, EvaluationProcessor]
    assert [e.name for e in processors[1].evaluators] == ["refusal", "mine"]
    assert [type(p) for p in build_processors(load_settings())] == [EvaluationStats]
    single = build_processors(load_settings(evaluators=mine))
    assert [e.name for e in single[1].evaluators] == ["mine"]


@pytest.mark.parametrize("bad", [["nope"], [object()], [3], 42])
def test_bad_evaluators_from_code_name_the_keyword(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"evaluators \(keyword argument\)"):
        resolve_evaluators(bad)


def test_an_evaluator_object_with_a_bad_rate_is_rejected() -> None:
    class Odd:
        name = "odd"
        sample_rate = 3

        def evaluate(self, record: dict[str, Any]) -> None:
            return None

    with pytest.raises(ValueError, match="odd"):
        resolve_evaluators([Odd()])


def test_builtin_names() -> None:
    assert builtin_names()[:5] == [
        "refusal",
        "prompt_injection",
        "user_correction",
        "grounding",
        "json_valid",
    ]


def test_processors_attach_to_instrument() -> None:
    processors = build_processors(load_settings(evaluators="refusal"))
    monitor = lm.instrument(providers=[], exporters=[lm.exporters.InMemoryExporter()], processors=processors)
    assert [type(p).__name__ for p in monitor.processors][-2:] == ["EvaluationStats", "EvaluationProcessor"]
    assert {"evaluations", "feedback", "guardrails", "evaluation_pool"} <= set(lm.stats())
