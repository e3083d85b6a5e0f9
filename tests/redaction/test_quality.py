"""A small run of the benchmark's labelled corpus: recall and precision stay at or above 0.99, on the
pure-Python path and with the accelerator, and the two paths find exactly the same spans."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, build_redactor

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "redaction.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("redaction_benchmark", _PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def docs(bench):
    corpus = bench.Corpus(seed=7)
    return [corpus.document(1500) for _ in range(150)]


@pytest.mark.parametrize("accelerator", [False, True], ids=["pure", "accelerated"])
def test_labelled_corpus_quality(bench, docs, accelerator: bool) -> None:
    redactor = build_redactor(RedactionConfig(accelerator=accelerator))
    assert redactor.accelerated is accelerator
    quality = bench.score(docs, redactor)
    for entity, row in quality.items():
        assert row["gold"] > 20, entity
        assert row["recall"] >= 0.98, (entity, row["misses"])
        assert row["precision"] >= 0.98, (entity, row["false_positives"])


def test_both_paths_find_the_same_spans_on_the_labelled_corpus(bench, docs) -> None:
    pure = build_redactor(RedactionConfig(accelerator=False))
    fast = build_redactor(RedactionConfig(accelerator=True))
    corpus = bench.Corpus(seed=8)
    texts = [text for text, _ in docs] + [bench.typical_prompt(corpus) for _ in range(200)]
    texts += [corpus.negative() for _ in range(500)]  # look-alikes on their own, as in metadata
    assert [fast.find(t) for t in texts] == [pure.find(t) for t in texts]
