"""Repeated text (system prompts, resent chat history) is scanned once; placeholders stay per record."""

from __future__ import annotations

import re
from typing import Any

from llm_monitor_sdk.redaction import RedactionConfig, build_redactor


class CountingDetector:
    """A custom detector that counts how often it is asked to scan."""

    entity = "TICKET_ID"

    def __init__(self) -> None:
        self.calls = 0

    def find(self, text: str) -> Any:
        self.calls += 1
        return [m.span() for m in re.finditer(r"TCK-\d{6}", text)]


def _record(system: str, user: str) -> dict[str, Any]:
    return {
        "kind": "llm_call",
        "system_instructions": [{"type": "text", "content": system}],
        "input_messages": [{"role": "user", "parts": [{"type": "text", "content": user}]}],
        "output_messages": None,
        "metadata": {},
        "tags": [],
        "request_params": {},
    }


def test_a_repeated_string_is_scanned_once_and_numbered_per_record() -> None:
    detector = CountingDetector()
    redactor = build_redactor(RedactionConfig(custom_detectors=[detector]))
    system = "You are the support bot. Escalations go to ticket TCK-000001 and never elsewhere, ever."
    first = redactor.redact_record(_record(system, "my ticket is TCK-123456, what is its status please?"))
    calls_after_first = detector.calls
    second = redactor.redact_record(_record(system, "and what about TCK-654321 which I opened yesterday?"))
    assert detector.calls == calls_after_first + 1  # only the new user message was scanned
    for record in (first, second):
        assert record["system_instructions"][0]["content"].count("<TICKET_ID_1>") == 1
        assert "<TICKET_ID_2>" in record["input_messages"][0]["parts"][0]["content"]
        assert record["redactions"] == {"TICKET_ID": 2}


def test_disabling_a_failing_detector_forgets_cached_results() -> None:
    class Flaky(CountingDetector):
        def find(self, text: str) -> Any:
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("boom")
            return super().find(text)

    flaky = Flaky()
    redactor = build_redactor(RedactionConfig(custom_detectors=[flaky]))
    text = "a long enough message that mentions TCK-111111 and needs a proper scan " * 2
    assert "<TICKET_ID_1>" in redactor.redact_text(text)
    redactor.redact_text(text + " and more")  # fails: the detector is disabled, the cache cleared
    assert redactor.stats["detectors_disabled"] == 1
    assert redactor.redact_text(text) == text  # rescanned without the disabled detector
