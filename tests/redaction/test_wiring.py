"""Through instrument(): the path is chosen by the setting and the variable, and records of the new
kinds are redacted on the export worker like calls are."""

from __future__ import annotations

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import _runtime


def _redactor():
    monitor = _runtime.active
    assert monitor is not None and monitor.redactor is not None
    return monitor.redactor


@pytest.mark.parametrize(
    ("redact", "accelerated"),
    [
        (True, True),  # the default: the accelerator is installed with the dev extra
        ({"accelerator": False}, False),
        ({"accelerator": True}, True),
    ],
)
def test_instrument_chooses_the_path(memory_exporter, redact, accelerated: bool) -> None:
    lm.instrument(exporters=[memory_exporter], redact=redact)
    assert _redactor().accelerated is accelerated


@pytest.mark.parametrize("accelerator", [False, True], ids=["pure", "accelerated"])
def test_a_submitted_feedback_record_is_redacted_before_export(memory_exporter, accelerator: bool) -> None:
    lm.instrument(exporters=[memory_exporter], redact={"accelerator": accelerator}, flush_interval=0.05)
    monitor = _runtime.active
    assert monitor is not None
    record = {
        "kind": "feedback",
        "target": {"record_id": None, "response_id": "resp_1", "trace_id": None},
        "evaluation": {"name": "user_rating", "score": 0.0, "passed": False, "label": "bad",
                       "explanation": "it showed my card 4111 1111 1111 1111", "source": "human"},
        "comment": "write to jo@example.com",
        "metadata": {"ticket": "call +44 20 7946 0018"},
    }  # fmt: skip
    assert monitor.submit_record(record)
    assert lm.flush(5)
    [out] = [r for r in memory_exporter.records if r.get("kind") == "feedback"]
    assert out["evaluation"]["explanation"] == "it showed my card <CREDIT_CARD_1>"
    assert out["comment"] == "write to <EMAIL_ADDRESS_1>"
    assert out["metadata"] == {"ticket": "call <PHONE_NUMBER_1>"}
    assert out["redactions"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}


def test_accelerator_follows_the_environment_variable(monkeypatch) -> None:
    import llm_monitor_sdk as lm

    monkeypatch.setenv("LLM_MONITOR_REDACT_ACCELERATOR", "off")
    lm.instrument(providers=[], exporters=["none"])
    assert lm.get_monitor().redactor.accelerated is False
    monkeypatch.setenv("LLM_MONITOR_REDACT_ACCELERATOR", "on")
    lm.instrument(providers=[], exporters=["none"])
    assert lm.get_monitor().redactor.accelerated is True  # the dev extra installs it
    lm.uninstrument()
