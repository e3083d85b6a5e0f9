"""A small run of the benchmark's labelled corpus: recall and precision stay at or above 0.99."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from llm_monitor_sdk.redaction import build_redactor

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "redaction.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("redaction_benchmark", _PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_labelled_corpus_quality(bench) -> None:
    corpus = bench.Corpus(seed=7)
    docs = [corpus.document(1500) for _ in range(150)]
    quality = bench.score(docs, build_redactor())
    for entity, row in quality.items():
        assert row["gold"] > 20, entity
        assert row["recall"] >= 0.98, (entity, row["misses"])
        assert row["precision"] >= 0.98, (entity, row["false_positives"])
