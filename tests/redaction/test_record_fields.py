"""The record fields added for monitoring (CONTRACT.md, "More of the record") are redacted, on every
kind, by both paths; their ids, names, scores, flags and fingerprints are kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llm_monitor_sdk.redaction import FAILED, RedactionConfig, build_redactor

EMAIL = "jo.doe@example.com"
PHONE = "+44 20 7946 0018"
CARD = "4111 1111 1111 1111"
KEY = "sk-proj-abcDEF1234567890abcdefXYZ"


@pytest.fixture(params=[False, True], ids=["pure", "accelerated"])
def redactor(request: pytest.FixtureRequest):
    return build_redactor(RedactionConfig(accelerator=request.param))


def _common(kind: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": kind,
        "record_id": "0123456789abcdef0123456789abcdef",
        "trace_id": "fedcba9876543210fedcba9876543210",
        "span_id": "0123456789abcdef",
        "parent_span_id": None,
        "started_at": "2026-01-02T03:04:05.000Z",
        "ended_at": "2026-01-02T03:04:05.250Z",
        "service_name": "svc",
        "sdk_version": "0.1.0",
        "metadata": {"customer": f"mail {EMAIL}", "n": 3},
        "redactions": {},
    }


def test_llm_call_retrieval_sources_and_reference(redactor) -> None:
    record = _common("llm_call")
    record["retrieval_sources"] = [
        {"id": "doc-0123456789", "content": f"Customer card {CARD}, phone {PHONE}."},
        {"id": "kb/42", "content": None},
        {"id": "kb/43", "content": f"reach {EMAIL}"},
    ]
    record["reference"] = f"The expected answer mentions {EMAIL} and {KEY}."
    out = redactor.redact_record(record)
    sources = out["retrieval_sources"]
    assert sources[0] == {
        "id": "doc-0123456789",
        "content": "Customer card <CREDIT_CARD_1>, phone <PHONE_NUMBER_1>.",
    }
    assert sources[1] == {"id": "kb/42", "content": None}
    assert sources[2] == {"id": "kb/43", "content": "reach <EMAIL_ADDRESS_1>"}
    assert out["reference"] == "The expected answer mentions <EMAIL_ADDRESS_1> and <SECRET_1>."
    assert out["metadata"] == {"customer": "mail <EMAIL_ADDRESS_1>", "n": 3}
    assert out["redactions"] == {"CREDIT_CARD": 1, "PHONE_NUMBER": 1, "EMAIL_ADDRESS": 3, "SECRET": 1}


@pytest.mark.parametrize("kind", ["feedback", "evaluation"])
def test_feedback_and_evaluation_text(redactor, kind: str) -> None:
    record = _common(kind)
    record["target"] = {"record_id": "r-1234567890", "response_id": "resp_0123456789", "trace_id": None}
    record["evaluation"] = {
        "name": "user_rating",
        "score": 0.0,
        "passed": False,
        "label": f"wrong number, mine is {PHONE}",
        "explanation": f"The answer leaked {EMAIL}.",
        "source": "human",
    }
    record["comment"] = f"call me on {PHONE} or write to {EMAIL}"
    out = redactor.redact_record(record)
    assert out["evaluation"] == {
        "name": "user_rating",
        "score": 0.0,
        "passed": False,
        "label": "wrong number, mine is <PHONE_NUMBER_1>",
        "explanation": "The answer leaked <EMAIL_ADDRESS_1>.",
        "source": "human",
    }
    assert out["comment"] == "call me on <PHONE_NUMBER_1> or write to <EMAIL_ADDRESS_1>"
    assert out["target"] == {"record_id": "r-1234567890", "response_id": "resp_0123456789", "trace_id": None}
    assert out["metadata"]["customer"] == "mail <EMAIL_ADDRESS_1>"
    assert out["redactions"] == {"PHONE_NUMBER": 2, "EMAIL_ADDRESS": 3}


def test_guardrail_reason(redactor) -> None:
    record = _common("guardrail")
    record["guardrail"] = {
        "name": "pii_input",
        "stage": "input",
        "blocked": True,
        "reason": f"input holds a card number ({CARD})",
        "latency_ms": 0.4,
    }
    out = redactor.redact_record(record)
    assert out["guardrail"] == {
        "name": "pii_input",
        "stage": "input",
        "blocked": True,
        "reason": "input holds a card number (<CREDIT_CARD_1>)",
        "latency_ms": 0.4,
    }
    assert out["redactions"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1}


def test_event_string_values_but_type_key_and_fingerprints(redactor) -> None:
    record = _common("event")
    record["event"] = {
        "type": "prompt_changed",
        "key": {"feature": "support", "prompt_name": "triage"},
        "old_fingerprint": "0123456789012345",
        "new_fingerprint": "5432109876543210",
        "note": f"changed by {EMAIL}",
        "details": {"who": f"{EMAIL}", "items": [f"tel {PHONE}", {"why": f"key {KEY}"}, 7]},
    }
    out = redactor.redact_record(record)
    assert out["event"] == {
        "type": "prompt_changed",
        "key": {"feature": "support", "prompt_name": "triage"},
        "old_fingerprint": "0123456789012345",
        "new_fingerprint": "5432109876543210",
        "note": "changed by <EMAIL_ADDRESS_1>",
        "details": {
            "who": "<EMAIL_ADDRESS_1>",
            "items": ["tel <PHONE_NUMBER_1>", {"why": "key <SECRET_1>"}, 7],
        },
    }


def test_alert_records_keep_their_fields_and_redact_metadata(redactor) -> None:
    record = _common("alert")
    record["alert"] = {"name": "p95", "rule": "p95(latency_ms) > 2000", "value": 2500.0, "group": {}}
    before = copy.deepcopy(record["alert"])
    out = redactor.redact_record(record)
    assert out["alert"] == before
    assert out["metadata"]["customer"] == "mail <EMAIL_ADDRESS_1>"


def test_spans_are_untouched_by_the_new_walks(redactor) -> None:
    record = _common("span")
    record.update(name="step", input={"q": EMAIL}, output=PHONE, reference="kept: not a span field")
    out = redactor.redact_record(record)
    assert out["input"] == {"q": "<EMAIL_ADDRESS_1>"} and out["output"] == "<PHONE_NUMBER_1>"
    assert out["reference"] == "kept: not a span field"


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _loop() -> list[object]:
    # A list that holds itself: the walk cannot finish it (objects whose repr raises are converted
    # to a marker instead, see test_an_unprintable_value_becomes_a_redacted_marker).
    items: list[object] = []
    items.append(items)
    return items


def test_a_field_that_cannot_be_walked_is_replaced_keeping_its_shape(redactor) -> None:
    record = _common("guardrail")
    record["guardrail"] = {
        "name": "g",
        "stage": "output",
        "blocked": False,
        "reason": _loop(),
        "latency_ms": 1.0,
    }
    out = redactor.redact_record(record)
    assert out["guardrail"] == {
        "name": "g",
        "stage": "output",
        "blocked": False,
        "reason": FAILED,
        "latency_ms": 1.0,
    }
    assert out["redactions"]["REDACTION_FAILED"] == 1

    record = _common("llm_call")
    record["retrieval_sources"] = [{"id": "a", "content": _loop()}]
    out = redactor.redact_record(record)
    assert out["retrieval_sources"] == [{"id": None, "content": FAILED}]

    record = _common("event")
    record["event"] = {"type": "x", "key": {"feature": "f"}, "payload": _loop(), "n": 1}
    out = redactor.redact_record(record)
    assert out["event"] == {"type": "x", "key": {"feature": "f"}, "payload": FAILED, "n": 1}


def test_an_unprintable_value_becomes_a_redacted_marker(redactor) -> None:
    record = _common("guardrail")
    record["guardrail"] = {"name": "g", "stage": "output", "blocked": False, "reason": _Unprintable()}
    out = redactor.redact_record(record)
    assert out["guardrail"]["reason"] == "<unserializable _Unprintable: RuntimeError('no repr')>"
    assert "REDACTION_FAILED" not in out["redactions"]
