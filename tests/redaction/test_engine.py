"""The engine: every captured field is redacted, structure and ids are not, failures fail closed."""

from __future__ import annotations

import copy
import json
import logging

import pytest

from llm_monitor_sdk.record import Record
from llm_monitor_sdk.redaction import FAILED, RedactionConfig, RegexDetector, build_redactor

EMAIL = "alice@example.com"
CARD = "4111 1111 1111 1111"


def make_record() -> dict:
    return {
        "schema_version": 1,
        "kind": "llm_call",
        "record_id": "a" * 32,
        "trace_id": "b" * 32,
        "span_id": "c" * 16,
        "parent_span_id": None,
        "started_at": "2024-03-15T14:22:07Z",
        "ended_at": "2024-03-15T14:22:08Z",
        "provider": "openai",
        "operation": "chat",
        "api": "chat.completions.create",
        "request_model": "gpt-4o-2024-08-06",
        "request_params": {"temperature": 0.2, "user": EMAIL, "extra": {"deep": ["call +44 20 7946 0018"]}},
        "status": "error",
        "error": {"type": "openai.BadRequestError", "message": f"bad input from {EMAIL}", "status_code": 400},
        "system_instructions": [{"type": "text", "content": f"Support agent. Escalate to {EMAIL}."}],
        "input_messages": [
            {"role": "user", "parts": [{"type": "text", "content": f"My card is {CARD}, email {EMAIL}"}]},
            {
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool_call",
                        "id": "call_1",
                        "name": "lookup",
                        "arguments": {"email": EMAIL, "n": 3},
                    },
                    {
                        "type": "tool_call",
                        "id": "call_2",
                        "name": "lookup",
                        "arguments": json.dumps({"ssn": "123-45-6789"}),
                    },
                ],
            },
            {
                "role": "tool",
                "parts": [{"type": "tool_call_response", "id": "call_1", "response": {"ip": "10.1.2.3"}}],
            },
        ],
        "output_messages": [
            {
                "role": "assistant",
                "parts": [
                    {"type": "reasoning", "content": f"user {EMAIL} asked"},
                    {"type": "text", "content": "Done."},
                ],
                "finish_reason": "stop",
            },
        ],
        "input": {"args": [EMAIL], "kwargs": {"key": "api_key=abcd1234efgh"}},
        "output": f"sent to {EMAIL}",
        "user_id": "user-42",
        "session_id": "sess-1",
        "tags": ["vip", EMAIL],
        "metadata": {EMAIL: {"nested": [EMAIL, 7]}, "plain": "nothing here"},
        "usage": {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15, "source": "provider"},
        "cost_usd": 0.001,
        "redactions": {},
        "service_name": "svc",
    }


def test_every_captured_field_is_redacted() -> None:
    record = build_redactor().redact_record(make_record())
    dumped = json.dumps(record)
    for raw in (CARD, "123-45-6789", "10.1.2.3", "7946 0018", "abcd1234efgh"):
        assert raw not in dumped
    assert record["system_instructions"][0]["content"] == "Support agent. Escalate to <EMAIL_ADDRESS_1>."
    assert (
        record["input_messages"][0]["parts"][0]["content"]
        == "My card is <CREDIT_CARD_1>, email <EMAIL_ADDRESS_1>"
    )
    assert record["input_messages"][1]["parts"][0]["arguments"] == {"email": "<EMAIL_ADDRESS_1>", "n": 3}
    assert json.loads(record["input_messages"][1]["parts"][1]["arguments"]) == {"ssn": "<US_SSN_1>"}
    assert record["input_messages"][2]["parts"][0]["response"] == {"ip": "<IP_ADDRESS_1>"}
    assert record["output_messages"][0]["parts"][0]["content"] == "user <EMAIL_ADDRESS_1> asked"
    assert record["request_params"]["user"] == "<EMAIL_ADDRESS_1>"
    assert record["request_params"]["extra"]["deep"] == ["call <PHONE_NUMBER_1>"]
    assert record["error"]["message"] == "bad input from <EMAIL_ADDRESS_1>"
    assert record["input"] == {"args": ["<EMAIL_ADDRESS_1>"], "kwargs": {"key": "api_key=<SECRET_1>"}}
    assert record["output"] == "sent to <EMAIL_ADDRESS_1>"
    assert record["tags"] == ["vip", "<EMAIL_ADDRESS_1>"]
    # Dict keys are left alone, their values are redacted.
    assert record["metadata"] == {EMAIL: {"nested": ["<EMAIL_ADDRESS_1>", 7]}, "plain": "nothing here"}
    assert dumped.count(EMAIL) == 1  # only as the metadata key
    assert record["redactions"] == {
        "EMAIL_ADDRESS": 10, "CREDIT_CARD": 1, "US_SSN": 1, "IP_ADDRESS": 1, "PHONE_NUMBER": 1, "SECRET": 1,
    }  # fmt: skip
    Record.model_validate(record)


def test_ids_models_and_structure_untouched() -> None:
    original = make_record()
    original["request_model"] = "model-555-123-4567"
    original["response_id"] = "chatcmpl-192.168.1.1"
    record = build_redactor().redact_record(copy.deepcopy(original))
    for key in (
        "record_id",
        "trace_id",
        "span_id",
        "started_at",
        "ended_at",
        "provider",
        "operation",
        "api",
        "request_model",
        "response_id",
        "user_id",
        "session_id",
        "usage",
        "cost_usd",
        "service_name",
    ):
        assert record[key] == original[key], key  # fmt: skip
    part = record["input_messages"][1]["parts"][0]
    assert (part["type"], part["id"], part["name"]) == ("tool_call", "call_1", "lookup")
    assert record["output_messages"][0]["finish_reason"] == "stop"


def test_same_value_same_placeholder_across_fields_and_numbering_by_first_seen() -> None:
    record = {"input_messages": [{"role": "user", "parts": [{"type": "text", "content": "a@x.io then b@x.io"}]}],
              "output": "B@X.io and a@x.io and c@x.io"}  # fmt: skip
    build_redactor().redact_record(record)
    assert record["input_messages"][0]["parts"][0]["content"] == "<EMAIL_ADDRESS_1> then <EMAIL_ADDRESS_2>"
    assert record["output"] == "<EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_3>"
    # Numbering restarts per record.
    other = build_redactor().redact_record({"output": "c@x.io"})
    assert other["output"] == "<EMAIL_ADDRESS_1>"


def test_drop_replaces_the_string_and_record_stays_valid() -> None:
    redactor = build_redactor(RedactionConfig(strategies={"EMAIL_ADDRESS": "drop"}))
    record = redactor.redact_record(make_record())
    assert record["input_messages"][0]["parts"][0]["content"] == "<DROPPED:EMAIL_ADDRESS>"
    assert record["error"]["message"] == "<DROPPED:EMAIL_ADDRESS>"
    assert record["tags"] == ["vip", "<DROPPED:EMAIL_ADDRESS>"]
    assert record["redactions"]["EMAIL_ADDRESS"] == 10
    Record.model_validate(record)


def test_hash_user_id_is_keyed_and_stable() -> None:
    a = build_redactor(RedactionConfig(hash_user_id=True, key="k1")).redact_record({"user_id": "user-42"})
    b = build_redactor(RedactionConfig(hash_user_id=True, key="k1")).redact_record({"user_id": "user-42"})
    c = build_redactor(RedactionConfig(hash_user_id=True, key="k2")).redact_record({"user_id": "user-42"})
    assert a["user_id"] == b["user_id"] != c["user_id"]
    assert len(a["user_id"]) == 12 and "42" not in a["user_id"]


def test_disabled_touches_nothing() -> None:
    original = make_record()
    del original["redactions"]
    record = build_redactor(RedactionConfig(enabled=False)).redact_record(copy.deepcopy(original))
    assert record == original


def test_record_without_text_is_cheap_and_gets_empty_counts() -> None:
    record = {"record_id": "x", "usage": {"input_tokens": 3}, "tags": [], "metadata": {}}
    redactor = build_redactor()
    assert redactor.redact_record(record) == {"record_id": "x", "usage": {"input_tokens": 3}, "tags": [],
                                              "metadata": {}, "redactions": {}}  # fmt: skip
    assert redactor.stats["records"] == 1 and redactor.stats["redactions"] == 0


def test_non_json_values_are_redacted_not_leaked() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "Thing(owner=bob@x.io)"

    record = {"metadata": {"b": b"mail bob@x.io", "t": ("bob@x.io", 1), "o": Thing()}}
    build_redactor().redact_record(record)
    assert record["metadata"] == {"b": "mail <EMAIL_ADDRESS_1>", "t": ["<EMAIL_ADDRESS_1>", 1],
                                  "o": "Thing(owner=<EMAIL_ADDRESS_1>)"}  # fmt: skip


class Boom:
    entity = "BOOM"

    def __init__(self) -> None:
        self.calls = 0

    def find(self, text: str):
        self.calls += 1
        raise RuntimeError("detector bug")


def test_failing_detector_fails_closed_and_is_disabled(caplog: pytest.LogCaptureFixture) -> None:
    boom = Boom()
    redactor = build_redactor(RedactionConfig(custom_detectors=[boom]))
    with caplog.at_level(logging.WARNING, "llm_monitor_sdk.redaction"):
        first = redactor.redact_record({"output": "secret text a@x.io", "tags": ["vip tag"]})
    assert first["output"] == FAILED  # the raw string never leaves
    assert first["tags"] == ["vip tag"]  # the next string ran without the disabled detector
    assert first["redactions"] == {"REDACTION_FAILED": 1}
    assert redactor.stats["detector_errors"] == 1 and "BOOM" not in redactor.entities
    second = redactor.redact_record({"output": "mail a@x.io"})
    assert second["output"] == "mail <EMAIL_ADDRESS_1>"
    assert boom.calls == 1
    assert "BOOM" in caplog.text


def test_detector_returning_bad_spans_fails_closed() -> None:
    class Bad:
        entity = "BAD"

        def find(self, text: str):
            return [(0, len(text) + 5)]

    redactor = build_redactor(RedactionConfig(custom_detectors=[Bad()]))
    assert redactor.redact_record({"output": "hello"})["output"] == FAILED


def test_unexpected_walk_error_replaces_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    redactor = build_redactor()

    def broken(value, state):
        raise RecursionError("too deep")

    monkeypatch.setattr(redactor, "_message_like", broken)
    record = redactor.redact_record(make_record())
    assert record["input_messages"] == [{"role": "redacted", "parts": [{"type": "text", "content": FAILED}]}]
    assert record["system_instructions"] == [{"type": "text", "content": FAILED}]
    assert redactor.stats["fields_failed"] == 3
    Record.model_validate(record)


def test_custom_detectors_regex_tuple_and_protocol_object() -> None:
    class Ticket:
        entity = "TICKET"

        def find(self, text: str):
            at = text.find("TCK-")
            return [(at, at + 8)] if at >= 0 else []

    cfg = RedactionConfig(custom_detectors=[("EMPLOYEE_ID", r"EMP-\d{6}"), Ticket(),
                                            RegexDetector("CODENAME", r"codename (\w+)", group=1)])  # fmt: skip
    record = build_redactor(cfg).redact_record({"output": "EMP-123456 filed TCK-1234 for codename falcon"})
    assert record["output"] == "<EMPLOYEE_ID_1> filed <TICKET_1> for codename <CODENAME_1>"
    assert record["redactions"] == {"EMPLOYEE_ID": 1, "TICKET": 1, "CODENAME": 1}


def test_entities_turn_types_off() -> None:
    redactor = build_redactor(RedactionConfig(entities={"EMAIL_ADDRESS"}))
    assert redactor.redact_text("a@x.io 4111 1111 1111 1111") == "<EMAIL_ADDRESS_1> 4111 1111 1111 1111"
