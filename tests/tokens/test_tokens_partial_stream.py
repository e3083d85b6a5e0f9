"""A cut-off stream's output estimate is the received text's tokens, with no message overhead (issue 13.10)."""

from __future__ import annotations

import llm_monitor_sdk as lm
from llm_monitor_sdk import tokens
from llm_monitor_sdk.testing import FakeProvider, fake_headers

O200K = tokens.get_encoding("o200k_base")  # the bundled file, offline


def test_output_estimate_counts_the_text_only() -> None:
    reply = [{"role": "assistant", "parts": [{"type": "text", "content": "Sure. I wil"}]}]
    assert len(O200K.encode("Sure. I wil")) == 4
    assert tokens.count_output(reply, provider="openai", model="gpt-4o-mini") == 4
    # The prompt-side count keeps its overhead (3 per message + role + 3 priming).
    assert tokens.count_messages(reply, provider="openai", model="gpt-4o-mini") == 11
    two = [*reply, {"role": "assistant", "parts": [{"type": "text", "content": "Sure. I wil"}]}]
    assert tokens.count_output(two, provider="openai", model="gpt-4o-mini") == 8
    # Anthropic: the text's o200k count scaled by the Claude ratio once, rounded up (4 x 1.22 -> 5).
    assert tokens.count_output(reply, provider="anthropic", model="claude-3-5-haiku") == 5


def test_cut_off_stream_records_the_received_texts_tokens(tmp_path) -> None:
    exporter = lm.exporters.InMemoryExporter()
    with FakeProvider(text="Sure. I will help.", chunks=18, usage=False) as fake:
        client = fake.openai_client(in_process=True)
        lm.instrument(providers=["openai"], exporters=[exporter], redact=False)
        try:
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "help me"}],
                stream=True,
                extra_headers=fake_headers(cut_after=12),
            )
            received = ""
            try:
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        received += chunk.choices[0].delta.content
            except Exception:
                pass  # the fake provider closed the connection mid-stream
            assert lm.flush(10)
        finally:
            lm.uninstrument()
    (record,) = [r for r in exporter.records if r["kind"] == "llm_call"]
    assert record["partial"] is True
    assert received == "Sure. I wil"
    assert record["output_messages"][0]["parts"][0]["content"] == received
    assert record["usage"]["source"] == "estimated"
    assert record["usage"]["output_tokens"] == len(O200K.encode(received)) == 4
