"""The ``llm_monitor_records`` fixture: one test's records, instrumented for that test only."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import _runtime
from llm_monitor_sdk.testing import FakeProvider
from llm_monitor_sdk.testing.pytest_plugin import RecordList


def _ask(fake: FakeProvider, text: str) -> str:
    reply = fake.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


def test_records_of_calls_that_just_returned_are_there(llm_monitor_records, fake_provider):
    assert _runtime.active is not None
    assert llm_monitor_records == []
    _ask(fake_provider, "first")
    # No flush by the test: reading the list waits for the pipeline.
    assert len(llm_monitor_records) == 1
    call = llm_monitor_records[0]
    assert call["kind"] == "llm_call" and call["request_model"] == "gpt-4o-mini"
    assert call["usage"]["input_tokens"] == 12 and call["status"] == "ok"
    _ask(fake_provider, "second")
    assert [c["input_messages"][0]["parts"][0]["content"] for c in llm_monitor_records.calls] == [
        "first",
        "second",
    ]
    assert isinstance(llm_monitor_records, RecordList) and isinstance(llm_monitor_records, list)


def test_spans_calls_and_clear(llm_monitor_records, fake_provider):
    @lm.observe("handler")
    def handler() -> str:
        return _ask(fake_provider, "inside")

    handler()
    (span,) = llm_monitor_records.spans
    (call,) = llm_monitor_records.calls
    assert call["parent_span_id"] == span["span_id"] and call["trace_id"] == span["trace_id"]
    assert {r["kind"] for r in llm_monitor_records} == {"span", "llm_call"}
    assert call in llm_monitor_records and bool(llm_monitor_records)
    llm_monitor_records.clear()
    assert len(llm_monitor_records) == 0 and not llm_monitor_records
    _ask(fake_provider, "after clear")
    assert len(llm_monitor_records.calls) == 1


def test_records_are_redacted_by_default(llm_monitor_records, fake_provider):
    _ask(fake_provider, "mail me at jane.doe@example.com")
    (call,) = llm_monitor_records.calls
    assert "jane.doe@example.com" not in str(call["input_messages"])
    assert call["redactions"].get("EMAIL_ADDRESS") == 1


@pytest.mark.llm_monitor(redact=False, service_name="under-test")
def test_the_marker_passes_instrument_settings(llm_monitor_records, fake_provider):
    _ask(fake_provider, "mail me at jane.doe@example.com")
    (call,) = llm_monitor_records.calls
    assert "jane.doe@example.com" in str(call["input_messages"]) and call["service_name"] == "under-test"


def test_the_fixture_uninstruments_after_the_test(tmp_path: Path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["llm_monitor_sdk.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent("""
        from llm_monitor_sdk import _runtime

        def test_one(llm_monitor_records, fake_provider):
            fake_provider.openai_client().chat.completions.create(model="m", messages=[])
            assert len(llm_monitor_records.calls) == 1

        def test_two_is_not_instrumented():
            assert _runtime.active is None

        def test_three_sees_only_its_own(llm_monitor_records, fake_provider):
            assert llm_monitor_records == []
        """)
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
