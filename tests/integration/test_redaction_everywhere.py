"""One choke point: PII in every captured field of a real instrumented call comes out clean in the
JSONL file, the OpenTelemetry spans and the HTTP body alike."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider, fake_headers

openai = pytest.importorskip("openai")
pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

EMAIL = "jane.doe@example.com"
PHONE = "+1 415 555 0132"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
SSN = "123-45-6789"
OPENAI_KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
PII = {
    "system": f"Escalate to {EMAIL}.",
    "user": f"My card is {CARD} and my SSN is {SSN}.",
    "tool_args": json.dumps({"iban": IBAN}),
    "tool_result": f"call me at {PHONE}",
    "metadata": f"contact {EMAIL}",
    "tag": f"owner:{EMAIL}",
    "param": f"user {EMAIL}",
    "reply": f"Sure, I will call {PHONE} and charge {CARD}.",
    "error": f"key {OPENAI_KEY} is invalid",
    "span_input": f"ticket from {EMAIL}",
}
SECRETS = (EMAIL, PHONE, CARD, IBAN, SSN, OPENAI_KEY, "4111111111111111", "415 555 0132")


class _Receiver:
    """A loopback HTTP collector that keeps the (decompressed) bodies it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                receiver.bodies.append(raw)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    yield server
    server.close()


def _messages() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": PII["system"]},
        {"role": "user", "content": PII["user"]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "pay", "arguments": PII["tool_args"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": PII["tool_result"]},
    ]


def test_every_captured_field_is_redacted_in_every_exporter(
    fake_provider: FakeProvider, tmp_path: Path, receiver: _Receiver
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    jsonl = tmp_path / "records.jsonl"
    lm.instrument(
        exporters=["jsonl", "http", lm.exporters.OTelExporter(tracer_provider=provider)],
        jsonl_path=str(jsonl),
        http_url=receiver.url,
        flush_interval=0.05,
    )
    client = fake_provider.openai_client()

    @lm.observe(metadata={"note": PII["metadata"]}, tags=[PII["tag"]])
    def handle(ticket: str) -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=_messages(),
            user=PII["param"],
            extra_headers=fake_headers(text=PII["reply"]),
        )
        try:
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=_messages(),
                extra_headers=fake_headers(status=401, error_message=PII["error"]),
            )
        except openai.AuthenticationError:
            pass
        return f"answered {ticket}: {reply.choices[0].message.content}"

    assert handle(PII["span_input"]).endswith(PII["reply"])  # the caller still sees the raw text
    assert lm.flush(10)

    jsonl_text = jsonl.read_text()
    http_text = b"".join(receiver.bodies).decode()
    otel_text = json.dumps(
        [{"name": s.name, "attributes": dict(s.attributes or {})} for s in spans.get_finished_spans()]
    )
    for where, text in (("jsonl", jsonl_text), ("http", http_text), ("otel", otel_text)):
        assert text, f"{where} received nothing"
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into the {where} output"

    records = [json.loads(line) for line in jsonl_text.splitlines()]
    ok, failed = (r for r in records if r["kind"] == "llm_call")
    span = next(r for r in records if r["kind"] == "span")
    # The matches were replaced, not the whole values: the surrounding text is still there.
    assert ok["system_instructions"][0]["content"] == "Escalate to <EMAIL_ADDRESS_1>."
    assert "<CREDIT_CARD_1>" in ok["input_messages"][0]["parts"][0]["content"]
    assert "<US_SSN_1>" in ok["input_messages"][0]["parts"][0]["content"]
    assert "<IBAN_CODE_1>" in ok["input_messages"][1]["parts"][0]["arguments"]
    assert "<PHONE_NUMBER_1>" in ok["input_messages"][2]["parts"][0]["response"]
    assert ok["output_messages"][0]["parts"][0]["content"].startswith("Sure, I will call <PHONE_NUMBER_1>")
    assert ok["request_params"]["user"] == "user <EMAIL_ADDRESS_1>"
    assert ok["metadata"]["note"] == "contact <EMAIL_ADDRESS_1>"
    assert ok["tags"] == ["owner:<EMAIL_ADDRESS_1>"]
    assert ok["redactions"]["EMAIL_ADDRESS"] >= 4 and ok["redactions"]["CREDIT_CARD"] >= 2
    assert "<SECRET_1>" in failed["error"]["message"] and failed["status"] == "error"
    assert span["input"] == {"ticket": "ticket from <EMAIL_ADDRESS_1>"}
    assert "<PHONE_NUMBER_1>" in span["output"]
    # All three exporters saw the same redacted records.
    http_records = [r for body in receiver.bodies for r in json.loads(body)["records"]]
    assert sorted(r["record_id"] for r in http_records) == sorted(r["record_id"] for r in records)
    assert {json.dumps(r, sort_keys=True) for r in http_records} == {
        json.dumps(r, sort_keys=True) for r in records
    }


def test_redaction_off_and_capture_off(
    fake_provider: FakeProvider, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    client = fake_provider.openai_client()
    lm.instrument(exporters=[memory_exporter], redact=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=_messages())
    lm.flush(10)
    raw = memory_exporter.calls[-1]
    assert raw["system_instructions"][0]["content"] == PII["system"] and raw["redactions"] == {}

    memory_exporter.clear()
    lm.instrument(exporters=[memory_exporter], capture_content=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=_messages())
    lm.flush(10)
    [record] = memory_exporter.calls
    assert record["system_instructions"] is None and record["input_messages"] is None
    assert record["output_messages"] is None
    assert record["usage"]["input_tokens"] > 0  # numbers are still there


def test_user_id_can_be_hashed(
    fake_provider: FakeProvider, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    lm.instrument(exporters=[memory_exporter], redact_user_id=True, redact_key="k" * 32)
    client = fake_provider.openai_client()
    for user in ("alice@example.com", "alice@example.com", "bob"):
        with lm.context(user_id=user):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    lm.flush(10)
    ids = [r["user_id"] for r in memory_exporter.calls]
    assert "alice@example.com" not in ids and "bob" not in ids
    assert ids[0] == ids[1] != ids[2]  # stable per user, so dashboards can still group by it
