"""One monitored app using all three providers under one ``@observe`` trace writes linked records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("google.genai")


def test_three_providers_are_children_of_one_trace(fake_provider: FakeProvider, tmp_path: Path) -> None:
    jsonl = tmp_path / "records.jsonl"
    lm.instrument(jsonl_path=str(jsonl), flush_interval=0.05)
    openai_client = fake_provider.openai_client()
    anthropic_client = fake_provider.anthropic_client(async_=True)
    genai_client = fake_provider.genai_client()

    @lm.observe("triage", user_id="u-7", tenant_id="acme")
    def triage(question: str) -> list[str]:
        answers = [
            openai_client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            .choices[0]
            .message.content
        ]
        answers.append(second_opinion(question))
        stream = genai_client.models.generate_content_stream(model="gemini-2.5-flash", contents=question)
        answers.append("".join(chunk.text or "" for chunk in stream))
        return answers

    @lm.observe(feature="second-opinion")
    def second_opinion(question: str) -> str:
        async def ask() -> str:
            message = await anthropic_client.messages.create(
                model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": question}]
            )
            return message.content[0].text

        return asyncio.run(ask())

    assert triage("Is my order late?") == ["Hello!", "Hello!", "Hello!"]
    assert lm.flush(10)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    for record in records:
        lm.Record.model_validate(record)
    spans = {r["name"]: r for r in records if r["kind"] == "span"}
    calls = {r["provider"]: r for r in records if r["kind"] == "llm_call"}
    assert set(spans) == {"triage", "second_opinion"}
    assert set(calls) == {"openai", "anthropic", "gcp.gemini"}
    root, child = spans["triage"], spans["second_opinion"]
    assert root["parent_span_id"] is None and child["parent_span_id"] == root["span_id"]
    assert {r["trace_id"] for r in records} == {root["trace_id"]}
    assert calls["openai"]["parent_span_id"] == root["span_id"]
    assert calls["gcp.gemini"]["parent_span_id"] == root["span_id"] and calls["gcp.gemini"]["stream"] is True
    assert calls["anthropic"]["parent_span_id"] == child["span_id"]
    assert calls["anthropic"]["feature"] == "second-opinion"
    assert all(r["user_id"] == "u-7" and r["tenant_id"] == "acme" for r in records)
    assert all(c["status"] == "ok" and c["usage"]["input_tokens"] > 0 for c in calls.values())
    assert len({r["span_id"] for r in records}) == len(records)
