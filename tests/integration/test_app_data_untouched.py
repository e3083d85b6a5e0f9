"""The SDK never rewrites the application's objects, and context values never raise into the caller.

Redaction rewrites each record in place on the export worker, so every value a record holds must be
the record's own copy: the caller's metadata, message histories and tool outputs stay exactly as
they were, and the next turn of a conversation reaches the provider unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

EMAIL = "jane.doe@example.com"
PHONE = "+1 415 555 0100"


@pytest.fixture
def exported(memory_exporter: lm.exporters.InMemoryExporter) -> Any:
    """Instrument with the defaults (redaction on), exporting to memory; returns a reader."""
    lm.instrument(exporters=[memory_exporter], flush_interval=0.02)

    def read() -> list[dict[str, Any]]:
        assert lm.flush(10)
        return [r for r in memory_exporter.records if r["kind"] == "llm_call"]

    return read


def test_chat_history_and_metadata_are_not_rewritten(fake_provider: FakeProvider, exported: Any) -> None:
    client = fake_provider.openai_client(in_process=True)
    metadata = {"contact": {"email": EMAIL, "phones": [PHONE]}, "note": f"call {PHONE}"}
    history: list[dict[str, Any]] = [
        {"role": "system", "content": f"Support agent. Escalate to {EMAIL}."},
        {"role": "user", "content": [{"type": "text", "text": f"I am {EMAIL}"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": f'{{"q": "{EMAIL}"}}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": f"found {EMAIL}"},
    ]
    before_history, before_metadata = copy.deepcopy(history), copy.deepcopy(metadata)
    with lm.context(metadata=metadata, tags=["t"], user_id="u1"):
        client.chat.completions.create(model="gpt-4o-mini", messages=history)
        [first] = exported()
        assert EMAIL not in str(first["input_messages"]) and EMAIL not in str(first["metadata"])
        assert history == before_history and metadata == before_metadata
        # The next turn resends the same history: the provider sees the real text, not placeholders.
        history.append({"role": "user", "content": "thanks"})
        client.chat.completions.create(model="gpt-4o-mini", messages=history)
    exported()
    sent = fake_provider.last_request.body["messages"]
    assert sent[0]["content"] == f"Support agent. Escalate to {EMAIL}."
    assert sent[1]["content"][0]["text"] == f"I am {EMAIL}"
    assert sent[3]["content"] == f"found {EMAIL}"
    assert metadata == before_metadata


def test_responses_function_call_output_is_not_rewritten(fake_provider: FakeProvider, exported: Any) -> None:
    client = fake_provider.openai_client(in_process=True)
    output = [{"type": "input_text", "text": f"customer {EMAIL}"}]
    items: list[dict[str, Any]] = [
        {"role": "user", "content": f"look up {EMAIL}"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": f'{{"q": "{EMAIL}"}}'},
        {"type": "function_call_output", "call_id": "c1", "output": output},
        {"type": "function_call_output", "call_id": "c2", "output": f"plain {EMAIL}"},
    ]
    before = copy.deepcopy(items)
    client.responses.create(model="gpt-4.1-mini", input=items)
    [record] = exported()
    assert EMAIL not in str(record["input_messages"])
    assert items == before
    client.responses.create(model="gpt-4.1-mini", input=items)
    exported()
    assert fake_provider.last_request.body["input"][2]["output"][0]["text"] == f"customer {EMAIL}"


def test_anthropic_and_gemini_requests_are_not_rewritten(fake_provider: FakeProvider, exported: Any) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": f"I am {EMAIL}"}]}]
    system = [{"type": "text", "text": f"Escalate to {EMAIL}"}]
    before = copy.deepcopy((messages, system))
    fake_provider.anthropic_client(in_process=True).messages.create(
        model="claude-3-5-haiku-latest", max_tokens=64, messages=messages, system=system
    )
    contents = [{"role": "user", "parts": [{"text": f"I am {EMAIL}"}]}]
    before_contents = copy.deepcopy(contents)
    gemini = fake_provider.genai_client(in_process=True)  # keep the client: it closes its transport on GC
    gemini.models.generate_content(model="gemini-2.0-flash", contents=contents)
    records = exported()
    assert len(records) == 2 and EMAIL not in str(records)
    assert (messages, system) == before
    assert contents == before_contents


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


def test_context_values_that_cannot_be_converted_never_raise(
    fake_provider: FakeProvider, exported: Any
) -> None:
    client = fake_provider.openai_client(in_process=True)
    with lm.context(user_id=Unprintable(), tags=42, metadata=["not", "a", "mapping"]):  # type: ignore[arg-type]
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.choices[0].message.content
    [record] = exported()
    assert record["user_id"] == "<unprintable Unprintable>"
    assert record["tags"] == ["42"]
    assert record["metadata"] == {"metadata": ["not", "a", "mapping"]}


def test_budget_keys_from_unprintable_context_values_do_not_raise(fake_provider: FakeProvider) -> None:
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[exporter], budgets="user:daily=100", flush_interval=0.02)
    with lm.context(user_id=Unprintable()):
        fake_provider.openai_client(in_process=True).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert lm.flush(10)
    assert [r["status"] for r in exporter.records] == ["ok"]
