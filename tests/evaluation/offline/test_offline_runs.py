"""Offline eval runs, comparisons and judge agreement, through the fake provider and files."""

from __future__ import annotations

import json
import subprocess
import sys

import openai
import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

pytestmark = pytest.mark.timeout(120)


def _dataset(n: int = 20) -> list[dict]:
    rows = [
        {"input": f"question {i}", "reference": "the cat sat on the mat", "metadata": {"record_id": f"r{i}"}}
        for i in range(n - 1)
    ]
    return [*rows, {"input": "boom", "reference": "x", "metadata": {"record_id": "bad"}}]


def test_a_run_over_20_examples_with_one_failing(tmp_path) -> None:
    with FakeProvider(text="the cat sat on the mat") as fake:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")

        def task(value: str) -> str:
            if value == "boom":
                raise RuntimeError("bad example")
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": value}]
            )
            return reply.choices[0].message.content or ""

        result = lm.evals.run(_dataset(), task, evaluators=["refusal", "rouge"], output=tmp_path / "a.jsonl")
    summary = result.summary()
    assert (summary["examples"], summary["outputs"], summary["errors"]) == (20, 19, 1)
    assert summary["llm_calls"] == 19
    assert summary["cost_usd"] and summary["cost_usd"] > 0
    assert summary["evaluators"]["rouge"]["count"] == 19
    assert summary["evaluators"]["rouge"]["mean"] == pytest.approx(1.0)
    failed = [r for r in result.results if r["error"]]
    assert [r["id"] for r in failed] == ["bad"] and failed[0]["error"]["type"] == "RuntimeError"
    back = lm.evals.load_run(str(tmp_path / "a.jsonl"))
    assert len(back.results) == 20 and back.summary()["errors"] == 1


def _written(path, name: str, scores: list[float]) -> str:
    run = lm.evals.EvalRun(
        name,
        [
            {"id": f"e{i}", "scores": {"quality": {"score": s, "passed": s >= 0.5}}, "cost_usd": 0.01}
            for i, s in enumerate(scores)
        ],
        ["quality"],
    )
    run.write(path / f"{name}.jsonl")
    return str(path / f"{name}.jsonl")


def test_comparison_finds_a_difference_made_by_construction_and_none_between_equal_runs(tmp_path) -> None:
    low = _written(tmp_path, "a", [0.2 + 0.01 * (i % 5) for i in range(40)])
    high = _written(tmp_path, "b", [0.8 + 0.01 * (i % 5) for i in range(40)])
    same = _written(tmp_path, "c", [0.2 + 0.01 * (i % 5) for i in range(40)])
    better = lm.evals.compare(low, high)["evaluators"]["quality"]
    assert better["mean"]["significant"] and better["mean"]["verdict"] == "better"
    assert better["pass_rate"]["verdict"] == "better" and better["mean"]["pairs"] == 40
    assert lm.evals.compare(high, low)["evaluators"]["quality"]["mean"]["verdict"] == "worse"
    equal = lm.evals.compare(low, same)["evaluators"]["quality"]["mean"]
    assert not equal["significant"] and equal["verdict"] == "no significant difference"
    out = subprocess.run(
        [sys.executable, "-m", "llm_monitor_sdk.cli", "eval", "compare", low, high, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["evaluators"]["quality"]["mean"]["verdict"] == "better"


def test_agreement_equals_hand_computed_kappa_precision_recall(tmp_path) -> None:
    # judge, human per call: TP=3, FP=1, FN=2, TN=4 -> n=10
    pairs = [(True, True)] * 3 + [(True, False)] + [(False, True)] * 2 + [(False, False)] * 4
    records = []
    for i, (judge, human) in enumerate(pairs):
        target = {"record_id": f"c{i}", "response_id": None, "trace_id": None}
        when = {"schema_version": 1, "started_at": "2026-12-01T10:00:00Z", "ended_at": "2026-12-01T10:00:00Z"}
        records.append(
            {**when, "kind": "evaluation", "target": target, "evaluation": {"name": "j", "passed": judge}}
        )
        records.append(
            {
                **when,
                "kind": "feedback",
                "target": target,
                "evaluation": {"name": "h", "score": 1.0 if human else 0.0},
            }
        )
    result = lm.evals.agreement(records, judge="j", human="h")
    po = 7 / 10
    pe = (4 / 10) * (5 / 10) + (6 / 10) * (5 / 10)
    assert result["n"] == 10
    assert result["accuracy"] == pytest.approx(po)
    assert result["cohen_kappa"] == pytest.approx((po - pe) / (1 - pe))
    assert result["precision"] == pytest.approx(3 / 4)
    assert result["recall"] == pytest.approx(3 / 5)
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "llm_monitor_sdk.cli",
            "eval",
            "agreement",
            str(path),
            "--judge",
            "j",
            "--human",
            "h",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cohen_kappa"] == pytest.approx(result["cohen_kappa"]), out.stdout
