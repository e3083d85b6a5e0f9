"""Eval runs as CI gates (``lm.evals.check_run``, the ``llm_monitor_eval`` fixture), async tasks, the
progress bar, and a dataset exported from instrumented calls replayed through ``lm.evals.run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import openai
import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

pytestmark = pytest.mark.timeout(180)

SRC = Path(__file__).resolve().parents[3] / "src"


def _run(name: str, scores: list[float], evaluator: str = "quality") -> lm.evals.EvalRun:
    return lm.evals.EvalRun(
        name,
        [
            {"id": f"e{i}", "scores": {evaluator: {"score": s, "passed": s >= 0.5}}, "cost_usd": 0.01}
            for i, s in enumerate(scores)
        ],
        [evaluator],
    )


GOOD = [0.8 + 0.01 * (i % 5) for i in range(40)]
BAD = [0.3 + 0.01 * (i % 5) for i in range(40)]


def test_check_run_thresholds_and_baseline() -> None:
    good, bad = _run("good", GOOD), _run("bad", BAD)
    assert lm.evals.check_run(good, thresholds={"quality": 0.7, "quality.pass_rate": 1.0}) == []
    failures = lm.evals.check_run(bad, thresholds={"quality": 0.7})
    assert (
        len(failures) == 1 and "quality.mean = 0.32" in failures[0] and "below the minimum 0.7" in failures[0]
    )
    # Against a stored baseline: a significant drop fails, the same scores pass.
    regressed = lm.evals.check_run(bad, baseline=good)
    assert any(f.startswith("quality.mean:") and "significantly worse than good" in f for f in regressed)
    assert lm.evals.check_run(_run("again", GOOD), baseline=good) == []
    # Lower is better for refusal: its threshold is a maximum.
    refusing = _run("r", [1.0] * 10 + [0.0] * 30, evaluator="refusal")
    assert lm.evals.check_run(refusing, thresholds={"refusal": 0.5}) == []
    assert "above the maximum 0.1" in lm.evals.check_run(refusing, thresholds={"refusal": 0.1})[0]
    with pytest.raises(AssertionError, match="eval run bad failed its gate"):
        lm.evals.assert_run(bad, baseline=good)
    with pytest.raises(ValueError, match="'nope' names no evaluator"):
        lm.evals.check_run(good, thresholds={"nope": 0.5})


def test_check_run_error_rate() -> None:
    run = _run("r", GOOD[:9])
    run.results.append({"id": "boom", "error": {"type": "RuntimeError", "message": "x"}, "scores": {}})
    assert lm.evals.check_run(run, max_error_rate=0.2) == []
    assert "errors: 1 of 10 examples (10.0%)" in lm.evals.check_run(run, max_error_rate=0.05)[0]


_USER_TEST = """
import os
import openai
import pytest

DATASET = [{"input": f"question {i}", "reference": "the cat sat on the mat"} for i in range(30)]


@pytest.mark.fake_provider(text=os.environ["MODEL_TEXT"])
def test_quality(fake_provider, llm_monitor_eval):
    client = openai.OpenAI(base_url=fake_provider.openai_base_url, api_key="test")

    def task(question):
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content

    run = llm_monitor_eval.run(DATASET, task, evaluators=["rouge"], name=os.environ["RUN_NAME"])
    llm_monitor_eval.check(
        run, thresholds={"rouge": float(os.environ["MIN_ROUGE"])}, baseline="baselines/quality.jsonl"
    )
"""


def _pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_pytest_fixture_fails_a_regression_and_passes_otherwise(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["llm_monitor_sdk.testing.pytest_plugin"]\n')
    (tmp_path / "test_user_quality.py").write_text(textwrap.dedent(_USER_TEST))
    good = {"MODEL_TEXT": "the cat sat on the mat", "MIN_ROUGE": "0.0"}
    # 1. Record the baseline.
    made = _pytest(tmp_path, "--llm-monitor-update-baselines", RUN_NAME="baseline", **good)
    assert made.returncode == 0, made.stdout + made.stderr
    baseline = lm.evals.load_run(str(tmp_path / "baselines" / "quality.jsonl"))
    assert baseline.name == "baseline" and baseline.summary()["evaluators"]["rouge"]["mean"] == pytest.approx(
        1.0
    )
    # 2. The same model again: passes.
    same = _pytest(tmp_path, RUN_NAME="same", **good)
    assert same.returncode == 0 and "1 passed" in same.stdout, same.stdout + same.stderr
    # 3. A worse model: fails, naming the metric and the baseline.
    worse = _pytest(tmp_path, RUN_NAME="cheaper", MODEL_TEXT="a dog ran in the park", MIN_ROUGE="0.0")
    assert worse.returncode == 1 and "1 failed" in worse.stdout, worse.stdout + worse.stderr
    assert "rouge.mean" in worse.stdout and "significantly worse than baseline" in worse.stdout
    # 4. A threshold alone fails too (no baseline regression needed).
    low = _pytest(tmp_path, RUN_NAME="same", MODEL_TEXT="the cat sat on the mat", MIN_ROUGE="1.5")
    assert low.returncode == 1 and "below the minimum 1.5" in low.stdout, low.stdout + low.stderr


def test_async_tasks_are_awaited_and_their_calls_captured() -> None:
    with FakeProvider(text="the cat sat on the mat") as fake:
        client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="test")

        async def task(question: str) -> str:
            reply = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content or ""

        rows = [{"input": f"q{i}", "reference": "the cat sat on the mat"} for i in range(6)]
        result = lm.evals.run(rows, task, evaluators=["rouge"], concurrency=3)
    assert [r["output"] for r in result.results] == ["the cat sat on the mat"] * 6
    assert all(r["llm_calls"] == 1 and r["cost_usd"] > 0 for r in result.results)
    assert result.summary()["evaluators"]["rouge"]["mean"] == pytest.approx(1.0)


_PROGRESS = """
import sys
import llm_monitor_sdk as lm
rows = [{"input": str(i), "reference": str(i)} for i in range(7)]
lm.evals.run(rows, lambda x: x, name="bar", progress=sys.argv[1] == "on")
print("done")
"""


def test_progress_bar_on_stderr_only_when_asked() -> None:
    def child(flag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _PROGRESS, flag], capture_output=True, text=True, timeout=120
        )

    on, off = child("on"), child("off")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert "eval bar" in on.stderr and "100%" in on.stderr
    assert on.stdout == off.stdout == "done\n"  # nothing on stdout either way
    assert "eval bar" not in off.stderr


def test_a_dataset_exported_from_instrumented_calls_replays_through_run(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    with FakeProvider(text="Paris is the capital of France.") as fake:
        lm.instrument(exporters="jsonl", jsonl_path=str(records), redact=False, flush_interval=0.05)
        try:
            client = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
            for i in range(6):
                with lm.context(feature="geo" if i % 2 == 0 else "other"):
                    client.chat.completions.create(
                        model="gpt-4o-mini",
                        messages=[
                            {"role": "system", "content": "Be brief."},
                            {"role": "user", "content": f"q{i}"},
                        ],
                    )
            assert lm.flush(10.0)
        finally:
            lm.uninstrument()
        dataset = tmp_path / "geo.jsonl"
        from llm_monitor_sdk.analysis.datasets import export_dataset

        assert export_dataset([str(records)], str(dataset), filters={"feature": ["geo"]}) == 3
        rows = [json.loads(line) for line in dataset.read_text().splitlines()]
        asked = [
            m["parts"][0]["content"]
            for r in rows
            for m in r["input"]["input_messages"]
            if m["role"] == "user"
        ]
        assert sorted(asked) == ["q0", "q2", "q4"]
        replay = openai.OpenAI(base_url=fake.openai_base_url, api_key="test")
        seen: list[list[dict]] = []

        def task(value: dict) -> str:
            # The exported input is the record's message shape: system instructions and messages.
            system = "".join(p.get("content", "") for p in value["system_instructions"])
            messages = [{"role": "system", "content": system}] + [
                {"role": m["role"], "content": "".join(p.get("content", "") for p in m["parts"])}
                for m in value["input_messages"]
            ]
            seen.append(messages)
            reply = replay.chat.completions.create(model="gpt-4o-mini", messages=messages)
            return reply.choices[0].message.content or ""

        result = lm.evals.run(str(dataset), task, evaluators=["rouge"], concurrency=1)
    assert result.summary()["examples"] == 3 and result.summary()["errors"] == 0
    assert result.summary()["evaluators"]["rouge"]["mean"] == pytest.approx(1.0)
    assert all(r["reference"] == "Paris is the capital of France." for r in result.results)
    assert all(r["metadata"]["feature"] == "geo" for r in result.results)
    assert all(m[0] == {"role": "system", "content": "Be brief."} for m in seen) and len(seen) == 3
