"""Regression datasets from a JSONL file written by instrumented calls through the fake provider."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.analysis.datasets import dataset_examples, export_dataset, iter_dataset
from llm_monitor_sdk.cli import main
from llm_monitor_sdk.testing import FakeProvider, fake_headers

SYSTEM = {"summarize": "Summarise the text in one line.", "translate": "Translate the text into French."}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """24 instrumented OpenAI calls (two features, two models, one failing, PII in some prompts), written
    to a JSONL file that rotates once; plus feedback records aimed at some of the calls."""
    directory = tmp_path_factory.mktemp("production")
    path = directory / "records.jsonl"
    asked: list[dict[str, Any]] = []
    with FakeProvider() as fake:
        exporter = lm.exporters.JSONLExporter(path, max_bytes=20_000)
        lm.instrument(providers=["openai"], exporters=[exporter], flush_interval=0.02)
        client = fake.openai_client()
        for i in range(24):
            feature = "summarize" if i % 3 else "translate"
            model = "gpt-4o-mini" if i % 2 else "gpt-4.1-mini"
            user_text = f"Text number {i}: please handle it." + (
                " Mail jane.doe@example.com." if i % 5 == 0 else ""
            )
            reply = f"Answer {i} for {feature}."
            with lm.context(feature=feature, prompt_name=feature, prompt_version="v2", user_id=f"u{i % 4}"):
                try:
                    client.chat.completions.create(
                        model=model,
                        messages=[
                            {"role": "system", "content": SYSTEM[feature]},
                            {"role": "user", "content": user_text},
                        ],
                        extra_headers=fake_headers(text=reply, status=500 if i == 7 else 200),
                    )
                except Exception:
                    pass
            asked.append(
                {"feature": feature, "model": model, "text": user_text, "reply": reply, "ok": i != 7}
            )
        lm.flush()
        lm.uninstrument()
    records = [json.loads(line) for p in sorted(directory.iterdir()) for line in p.read_text().splitlines()]
    calls = sorted((r for r in records if r["kind"] == "llm_call"), key=lambda r: r["started_at"])
    assert len(calls) == 24 and any(p.name.endswith(".1") for p in directory.iterdir())  # it rotated
    # Human feedback on some calls (as lm.feedback() exports it): thumbs down on call 1, up on 2 and 4.
    with open(path, "a", encoding="utf-8") as handle:
        for index, score in ((1, 0.0), (2, 1.0), (4, 1.0), (4, 0.5)):
            handle.write(
                json.dumps(
                    {
                        "schema_version": 1,
                        "kind": "feedback",
                        "record_id": f"{index:032x}",
                        "trace_id": calls[index]["trace_id"],
                        "span_id": "0" * 16,
                        "parent_span_id": None,
                        "started_at": calls[index]["ended_at"],
                        "ended_at": calls[index]["ended_at"],
                        "target": {
                            "record_id": None,
                            "response_id": calls[index]["response_id"],
                            "trace_id": None,
                        },
                        "evaluation": {
                            "name": "user_rating",
                            "score": score,
                            "passed": None,
                            "label": None,
                            "explanation": None,
                            "source": "human",
                        },
                    }
                )
                + "\n"
            )
    return {"path": path, "calls": calls, "asked": asked}


def test_inputs_and_references_replay_the_calls(production: dict[str, Any]) -> None:
    examples = dataset_examples(production["path"])
    ok_calls = [c for c in production["calls"] if c["status"] == "ok"]
    assert len(examples) == len(ok_calls) == 23  # the failing call is left out by default
    for example, call, asked in zip(
        examples, ok_calls, [a for a in production["asked"] if a["ok"]], strict=True
    ):
        assert set(example) == {"input", "reference", "metadata"}
        assert example["input"]["system_instructions"] == call["system_instructions"]
        assert example["input"]["system_instructions"][0]["content"] == SYSTEM[asked["feature"]]
        assert example["input"]["input_messages"] == call["input_messages"]
        assert example["reference"] == asked["reply"]
        meta = example["metadata"]
        assert meta["record_id"] == call["record_id"] and meta["trace_id"] == call["trace_id"]
        assert meta["response_id"] == call["response_id"] and meta["model"] == call["response_model"]
        assert meta["feature"] == asked["feature"] and meta["prompt_version"] == "v2"
        assert meta["prompt_fingerprint"] == call.get("prompt_fingerprint")
    # Redacted text stays redacted.
    text = json.dumps(examples)
    assert "jane.doe@example.com" not in text and "<EMAIL_ADDRESS" in text


def test_filters_on_top_level_fields_status_and_time(production: dict[str, Any]) -> None:
    calls = production["calls"]
    summarize = dataset_examples(production["path"], filters=["feature=summarize"])
    assert len(summarize) == sum(c["feature"] == "summarize" and c["status"] == "ok" for c in calls)
    both = dataset_examples(production["path"], filters={"feature": "summarize", "model": "gpt-4o-mini"})
    assert {(e["metadata"]["feature"], e["metadata"]["model"]) for e in both} == {
        ("summarize", "gpt-4o-mini")
    }
    assert len(both) == sum(
        c["feature"] == "summarize" and c["request_model"] == "gpt-4o-mini" and c["status"] == "ok"
        for c in calls
    )
    either = dataset_examples(production["path"], filters=["user_id=u1", "user_id=u2"])
    assert {e["metadata"]["user_id"] for e in either} == {"u1", "u2"}
    failed = dataset_examples(production["path"], filters=["status=error"])
    assert len(failed) == 1 and failed[0]["reference"] is None
    later = dataset_examples(production["path"], start=calls[12]["started_at"])
    assert [e["metadata"]["record_id"] for e in later] == [
        c["record_id"] for c in calls[12:] if c["status"] == "ok"
    ]
    with pytest.raises(ValueError, match="KEY=VALUE"):
        dataset_examples(production["path"], filters=["feature"])


def test_minimum_feedback_score(production: dict[str, Any]) -> None:
    calls = production["calls"]
    liked = dataset_examples(production["path"], min_feedback=0.7)
    assert [e["metadata"]["record_id"] for e in liked] == [calls[2]["record_id"], calls[4]["record_id"]]
    assert liked[1]["metadata"]["feedback"] == pytest.approx(0.75)
    assert dataset_examples(production["path"], min_feedback=0.7, feedback_name="other") == []
    rated = dataset_examples(production["path"], min_feedback=0.0)
    assert len(rated) == 3


def test_seeded_sampling(production: dict[str, Any]) -> None:
    first = dataset_examples(production["path"], sample=5, seed=1)
    again = dataset_examples(production["path"], sample=5, seed=1)
    other = dataset_examples(production["path"], sample=5, seed=2)
    ids = [e["metadata"]["record_id"] for e in first]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert ids == [e["metadata"]["record_id"] for e in again]
    assert ids != [e["metadata"]["record_id"] for e in other]
    assert [e["metadata"]["started_at"] for e in first] == sorted(e["metadata"]["started_at"] for e in first)
    everything = {e["metadata"]["record_id"] for e in dataset_examples(production["path"])}
    assert set(ids) <= everything
    assert len(dataset_examples(production["path"], sample=100)) == 23
    # Sampling does not depend on file order: the same records read as one file give the same sample.
    assert dataset_examples(production["path"], sample=5, seed=1, filters=["feature=summarize"]) == [
        e for e in dataset_examples(production["path"], sample=5, seed=1, filters=["feature=summarize"])
    ]


def test_command_round_trips_through_files(
    production: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dataset.jsonl"
    code = main(
        [
            "dataset",
            "export",
            str(production["path"]),
            "--filter",
            "feature=translate",
            "--sample",
            "3",
            "--seed",
            "4",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    assert "3 examples of" in capsys.readouterr().err
    examples = list(iter_dataset(out))
    assert examples == dataset_examples(production["path"], filters=["feature=translate"], sample=3, seed=4)
    assert all(e["metadata"]["feature"] == "translate" for e in examples)
    assert export_dataset(production["path"], tmp_path / "all.jsonl") == 23
    assert main(["dataset", "export", str(tmp_path / "missing.jsonl")]) == 1
    assert os.path.getsize(tmp_path / "all.jsonl") > 0
