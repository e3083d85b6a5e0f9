"""lm.evals.rouge / bleu equal rouge-score / sacrebleu; the reference evaluator; the missing-extra error."""

from __future__ import annotations

import random
import sys

import pytest
import sacrebleu
from eval_support import call_record, instrument
from rouge_score import rouge_scorer

import llm_monitor_sdk as lm
from llm_monitor_sdk.config import load_settings
from llm_monitor_sdk.evals import ReferenceMetric, bleu, rouge
from llm_monitor_sdk.evaluation import build_processors
from llm_monitor_sdk.evaluation import reference as reference_module

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "dog",
    "ran",
    "running",
    "runs",
    "quickly",
    "slowly",
    "over",
    "under",
    "bridge",
    "river",
    "refund",
    "refunds",
    "refunded",
    "order",
    "orders",
    "shipped",
    "shipping",
    "days",
    "within",
    "thirty",
    "customer",
    "customers",
    "policy",
    "returns",
    "returned",
    "item",
    "items",
    "price",
    "prices",
    "a",
    "an",
    "of",
    "to",
    "in",
    "is",
    "was",
    "were",
    "be",
]


def _sentence(rng: random.Random) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25)))
    if rng.random() < 0.3:
        text = text.capitalize() + rng.choice([".", "!", "?", ", really."])
    return text


def _pairs(n: int = 300) -> list[tuple[str, str]]:
    rng = random.Random(1234)
    pairs = []
    for _ in range(n):
        reference = _sentence(rng)
        if rng.random() < 0.5:  # a noisy copy: words dropped, swapped, inflected
            words = reference.split()
            for i in range(len(words)):
                if rng.random() < 0.2:
                    words[i] = rng.choice(WORDS)
            prediction = " ".join(w for w in words if rng.random() > 0.1)
        else:
            prediction = _sentence(rng)
        pairs.append((prediction, reference))
    pairs += [("", "something"), ("same text", "same text"), ("Ünïcode wörds", "unicode words")]
    return pairs


def test_rouge_equals_rouge_score() -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for prediction, reference in _pairs():
        expected = scorer.score(reference, prediction)
        assert rouge(prediction, reference) == {
            k: expected[k].fmeasure for k in ("rouge1", "rouge2", "rougeL")
        }


def test_bleu_equals_sacrebleu() -> None:
    rng = random.Random(99)
    for prediction, reference in _pairs():
        assert bleu(prediction, reference) == sacrebleu.sentence_bleu(prediction, [reference]).score
        other = _sentence(rng)
        assert (
            bleu(prediction, [reference, other])
            == sacrebleu.sentence_bleu(prediction, [reference, other]).score
        )


def test_bad_metric_arguments() -> None:
    with pytest.raises(ValueError):
        rouge(1, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bleu("x", [])
    with pytest.raises(ValueError, match="metric"):
        ReferenceMetric("meteor")


def test_reference_evaluator_scores_calls_with_a_reference() -> None:
    metric = ReferenceMetric("rougeL", threshold=0.5)
    record = call_record(
        output="Refunds are issued within 30 days.", reference="Refunds are issued within thirty days."
    )
    result = metric.evaluate(record)
    expected = rouge("Refunds are issued within 30 days.", "Refunds are issued within thirty days.")["rougeL"]
    assert result is not None and result.score == round(expected, 6) and result.passed is True
    assert result.source == "reference"
    assert metric.evaluate(call_record(output="anything")) is None  # no reference: no record
    scaled = ReferenceMetric("bleu").evaluate(record)
    assert scaled is not None and scaled.score == pytest.approx(
        bleu(record["output_messages"][0]["parts"][0]["content"], record["reference"]) / 100, abs=1e-6
    )


def test_reference_evaluators_online(fake_provider) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("openai")
    fake_provider.configure(text="Paris is the capital of France.")
    monitored = instrument("rouge,bleu")
    client = fake_provider.openai_client()
    with lm.context(reference="The capital of France is Paris."):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}]
        )
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "no reference here"}]
    )
    monitored.drain()
    got = {r["evaluation"]["name"]: r["evaluation"] for r in monitored.evaluations()}
    assert set(got) == {"rouge", "bleu"}  # one call had a reference
    assert got["rouge"]["score"] == round(
        rouge("Paris is the capital of France.", "The capital of France is Paris.")["rougeL"], 6
    )


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rouge_score", None)
    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    monkeypatch.setattr(reference_module, "_scorer", None)
    monkeypatch.setattr(reference_module, "has_eval_extra", lambda metric="rougeL": False)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[eval\]'"):
        rouge("a", "b")
    with pytest.raises(ImportError, match=r"llm-monitor-kit\[eval\]"):
        bleu("a", "b")
    with pytest.raises(ValueError, match=r"LLM_MONITOR_EVALUATORS.*llm-monitor-kit\[eval\]"):
        build_processors(load_settings(evaluators="refusal,rouge"))
