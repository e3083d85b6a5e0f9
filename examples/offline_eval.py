"""Offline evaluation, end to end: can a cheaper model answer a feature's production traffic?

1. "Production": 50 calls of the feature ``support-answer`` with ``gpt-4o``, recorded to JSONL.
2. A regression dataset: those 50 calls exported (inputs plus the recorded answers as references).
3. Two eval runs over the dataset, the current model and the cheaper ``gpt-4o-mini``, each scored
   with an LLM judge (relevance) and ROUGE against the production answer.
4. The comparison: a verdict per metric, cost and latency side by side.

Everything runs against the bundled fake provider (no API keys, no network); each model is one fake
server with a fixed answer, and the judge is a third one that always answers ``{"score": 4}``.

python examples/offline_eval.py [WORKDIR]
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import openai

import llm_monitor_sdk as lm
from llm_monitor_sdk.analysis import export_dataset
from llm_monitor_sdk.testing import FakeProvider

PRODUCTION_ANSWER = "Open Settings, choose Security, select Reset password and follow the emailed link."
CHEAPER_ANSWER = "You can reset it in Settings."
QUESTIONS = [f"How do I reset my password? (ticket {n})" for n in range(50)]


def record_production(records: Path, fake: FakeProvider) -> None:
    """Step 1: the app in production, instrumented, answering 50 support questions."""
    lm.instrument(exporters="jsonl", jsonl_path=str(records), redact=False)
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="fake")
    for question in QUESTIONS:
        with lm.context(feature="support-answer", user_id="u-1"):
            client.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": "You are a concise support agent."},
                    {"role": "user", "content": question},
                ],
            )
    lm.flush()
    lm.uninstrument()


def make_task(client: openai.OpenAI, model: str) -> Callable[[dict], str]:
    """The feature's code, as a task: replay an exported input through ``model``."""

    def answer(example_input: dict) -> str:
        system = "".join(p.get("content", "") for p in example_input["system_instructions"])
        messages = [{"role": "system", "content": system}] + [
            {"role": m["role"], "content": "".join(p.get("content", "") for p in m["parts"])}
            for m in example_input["input_messages"]
        ]
        reply = client.chat.completions.create(model=model, messages=messages)
        return reply.choices[0].message.content or ""

    answer.__name__ = model
    return answer


def main(workdir: Path) -> dict:
    records, dataset = workdir / "records.jsonl", workdir / "support-answer.jsonl"
    with (
        FakeProvider(text=PRODUCTION_ANSWER) as current,
        FakeProvider(text=CHEAPER_ANSWER) as cheaper,
        FakeProvider(text='{"score": 4, "reason": "Answers the question."}') as judge_server,
    ):
        record_production(records, current)

        # Step 2: same as `llm-monitor dataset export records.jsonl --filter feature=support-answer
        #         --sample 50 --seed 1 --output support-answer.jsonl`
        written = export_dataset(
            str(records), str(dataset), filters={"feature": ["support-answer"]}, sample=50, seed=1
        )
        print(f"exported {written} examples to {dataset.name}")

        # Step 3: the runs (same as `llm-monitor eval run MODULE:FUNCTION --dataset ... --output ...`).
        judge = lm.evals.LLMJudge(
            "relevance",
            client=openai.OpenAI(base_url=judge_server.openai_base_url, api_key="fake", max_retries=0),
            model="gpt-4o-mini",
            rubric="relevance",
        )
        lm.instrument(exporters="none", redact=False)
        try:
            for name, server in (("gpt-4o", current), ("gpt-4o-mini", cheaper)):
                client = openai.OpenAI(base_url=server.openai_base_url, api_key="fake")
                run = lm.evals.run(
                    str(dataset),
                    make_task(client, name),
                    evaluators=[judge, "rouge"],
                    output=workdir / f"run-{name}.jsonl",
                    progress=False,
                )
                summary = run.summary()
                print(
                    f"run {name}: {summary['examples']} examples, {summary['errors']} errors, "
                    f"cost ${summary['cost_usd']:.5f}, judge cost ${summary['judge_cost_usd'] or 0:.5f}"
                )
        finally:
            lm.uninstrument()
            judge.close()

    # Step 4: same as `llm-monitor eval compare run-gpt-4o.jsonl run-gpt-4o-mini.jsonl`
    result = lm.evals.compare(str(workdir / "run-gpt-4o.jsonl"), str(workdir / "run-gpt-4o-mini.jsonl"))
    print()
    print(lm.evals.format_comparison(result))
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
