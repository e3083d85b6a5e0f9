"""Context fields (``variant``, ``retrieval_sources``, ``reference``), ``prompt_fingerprint``,
``lm.current_trace_id()`` and the content cap, through every provider, plain and streamed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.analysis.fingerprint import prompt_fingerprint
from llm_monitor_sdk.testing import FakeProvider

EMAIL = "jane.doe@example.com"


def _openai(fake: FakeProvider, system: str, prompt: str, stream: bool) -> None:
    client = fake.openai_client(in_process=True)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    result = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=stream)
    if stream:
        list(result)


def _anthropic(fake: FakeProvider, system: str, prompt: str, stream: bool) -> None:
    client = fake.anthropic_client(in_process=True)
    result = client.messages.create(
        model="claude-3-5-haiku-latest",
        max_tokens=64,
        system=system,
        messages=[{"role": "user", "content": prompt}],
        stream=stream,
    )
    if stream:
        list(result)


def _gemini(fake: FakeProvider, system: str, prompt: str, stream: bool) -> None:
    from google.genai import types

    client = fake.genai_client(in_process=True)
    config = types.GenerateContentConfig(system_instruction=system)
    if stream:
        list(client.models.generate_content_stream(model="gemini-2.0-flash", contents=prompt, config=config))
    else:
        client.models.generate_content(model="gemini-2.0-flash", contents=prompt, config=config)


CALLERS: dict[str, Callable[[FakeProvider, str, str, bool], None]] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "gemini": _gemini,
}


@pytest.fixture
def exported(memory_exporter: lm.exporters.InMemoryExporter) -> Callable[[], list[dict[str, Any]]]:
    lm.instrument(exporters=[memory_exporter], flush_interval=0.02)

    def read() -> list[dict[str, Any]]:
        assert lm.flush(10)
        return list(memory_exporter.records)

    return read


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", list(CALLERS))
def test_context_fields_reach_every_providers_records(
    provider: str, stream: bool, fake_provider: FakeProvider, exported: Any
) -> None:
    sources = [
        {"id": "doc-1", "content": f"Refunds within 30 days; write to {EMAIL}."},
        "a plain string source",
    ]
    with lm.context(variant="cheap-model", retrieval_sources=sources, reference="Refunds within 30 days."):
        CALLERS[provider](fake_provider, "You answer from the sources.", "What is the refund policy?", stream)
    [record] = [r for r in exported() if r["kind"] == "llm_call"]
    assert record["variant"] == "cheap-model"
    assert record["reference"] == "Refunds within 30 days."
    assert record["retrieval_sources"] == [
        {"id": "doc-1", "content": "Refunds within 30 days; write to <EMAIL_ADDRESS_1>."},
        {"id": None, "content": "a plain string source"},
    ]
    assert record["redactions"].get("EMAIL_ADDRESS") == 1
    assert record["prompt_fingerprint"] == prompt_fingerprint(record["system_instructions"])
    assert len(record["prompt_fingerprint"]) == 16


def test_content_fields_are_absent_with_capture_off(fake_provider: FakeProvider) -> None:
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[exporter], capture_content=False, flush_interval=0.02)
    with lm.context(variant="b", retrieval_sources=["secret doc"], reference="expected"):
        _openai(fake_provider, "system", "prompt", False)
    assert lm.flush(10)
    [record] = exporter.records
    assert "retrieval_sources" not in record and "reference" not in record
    assert record["variant"] == "b"  # not content
    assert record["prompt_fingerprint"] is None and record["system_instructions"] is None


def test_variant_from_observe_is_on_the_span_and_its_calls(
    fake_provider: FakeProvider, exported: Any
) -> None:
    @lm.observe(variant="v2", reference="ref")
    def work() -> str | None:
        _openai(fake_provider, "s", "p", False)
        return lm.current_trace_id()

    trace_id = work()
    records = exported()
    kinds = {r["kind"]: r for r in records}
    assert kinds["span"]["variant"] == "v2" and kinds["llm_call"]["variant"] == "v2"
    assert kinds["llm_call"]["reference"] == "ref"
    assert trace_id == kinds["span"]["trace_id"] == kinds["llm_call"]["trace_id"]


def test_current_trace_id_outside_any_span_is_none_and_follows_otel_spans() -> None:
    assert lm.current_trace_id() is None
    with lm.context(user_id="u"):
        assert lm.current_trace_id() is None
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("app") as span:
        assert lm.current_trace_id() == f"{span.get_span_context().trace_id:032x}"


def test_fingerprint_ignores_digits_and_placeholders_but_not_words() -> None:
    base = [{"type": "text", "content": "Today is 2026-12-02. Ticket 4411 for <EMAIL_ADDRESS_1>."}]
    same = [{"type": "text", "content": "Today is 2027-01-15. Ticket 9 for <EMAIL_ADDRESS_2>."}]
    edited = [{"type": "text", "content": "Today is 2026-12-02. Case 4411 for <EMAIL_ADDRESS_1>."}]
    assert prompt_fingerprint(base) == prompt_fingerprint(same)
    assert prompt_fingerprint(base) != prompt_fingerprint(edited)
    assert prompt_fingerprint(None) is None and prompt_fingerprint([]) is None


def test_long_text_is_cut_and_data_urls_summarised(fake_provider: FakeProvider) -> None:
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[exporter], max_content_chars=1000, flush_interval=0.02)
    payload = "A" * 40_000
    prompt = "x" * 5000
    image_text = f"see data:image/png;base64,{payload} thanks"
    client = fake_provider.openai_client(in_process=True)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}, {"role": "user", "content": image_text}],
    )
    client.responses.create(
        model="gpt-4.1-mini",
        input=[
            {"type": "function_call", "call_id": "c1", "name": "shot", "arguments": "{}"},
            {
                "type": "function_call_output",
                "call_id": "c1",
                "output": [{"type": "input_image", "image_url": f"data:image/png;base64,{payload}"}],
            },
        ],
    )
    assert lm.flush(10)
    chat, responses = exporter.records
    first, second = (m["parts"][0]["content"] for m in chat["input_messages"])
    assert first == "x" * 1000 + "...[truncated 4000 chars]"
    assert second == "see <data:image/png;base64, 30000 bytes> thanks"
    assert chat["truncated"] == {"parts": 1, "chars": 4000, "binary": 1}
    assert payload not in str(responses["input_messages"])
    assert responses["truncated"]["binary"] == 1
    assert len(str(responses)) < 5000
