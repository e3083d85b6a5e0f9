"""The worked example of docs/evaluation.md (offline part) runs and reads as the docs say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import llm_monitor_sdk as lm

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def test_the_cheaper_model_example(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "offline_eval.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "exported 50 examples" in out.stdout
    result = lm.evals.compare(str(tmp_path / "run-gpt-4o.jsonl"), str(tmp_path / "run-gpt-4o-mini.jsonl"))
    assert result["examples"] == {"a": 50, "b": 50} and result["errors"] == {"a": 0, "b": 0}
    assert result["evaluators"]["rouge"]["mean"]["verdict"] == "worse"
    assert result["evaluators"]["relevance"]["mean"]["verdict"] == "no significant difference"
    assert result["cost_usd"]["b"] < result["cost_usd"]["a"] / 10
    assert lm.evals.regressions(result) == ["rouge.mean", "rouge.pass_rate"]
    # The docs show this table; the verdict lines are in the example's output.
    docs = (ROOT / "docs" / "evaluation.md").read_text()
    for line in out.stdout.splitlines():
        if line.startswith(("rouge ", "relevance ")):
            assert line in docs, f"docs/evaluation.md does not show the example's line: {line!r}"
    a, b = tmp_path / "run-gpt-4o.jsonl", tmp_path / "run-gpt-4o-mini.jsonl"
    gate = _compare_gate(a, b)
    assert gate.returncode == 1 and "regression: rouge.mean, rouge.pass_rate" in gate.stderr, gate.stderr
    same = _compare_gate(a, a)
    assert same.returncode == 0, same.stderr


def _compare_gate(run_a: Path, run_b: Path) -> subprocess.CompletedProcess[str]:
    command = ["eval", "compare", str(run_a), str(run_b), "--fail-on-regression"]
    return subprocess.run(
        [sys.executable, "-m", "llm_monitor_sdk.cli", *command], capture_output=True, text=True, timeout=60
    )
