"""instructor: structured output with validation retries is one record per HTTP request."""

from __future__ import annotations

import instructor
import openai
import pydantic
import pytest
from frameworks_support import calls, output_text, plain, tool_calls, with_and_without
from instructor.core.exceptions import InstructorRetryException

import llm_monitor_sdk as lm


class Person(pydantic.BaseModel):
    name: str
    age: int


GOOD = '{"name": "Ada", "age": 36}'
BAD = '{"name": "Ada", "age": "thirty-six"}'


def _client(fake, mode: instructor.Mode) -> instructor.Instructor:
    return instructor.from_openai(
        openai.OpenAI(api_key="k", base_url=fake.openai_base_url, max_retries=0), mode=mode
    )


def test_json_mode_with_one_retry_is_two_records(fake):
    fake.configure(text=GOOD)

    def run():
        fake.once(text=BAD)  # the first answer fails validation: instructor asks again
        return _client(fake, instructor.Mode.JSON).chat.completions.create(
            model="gpt-4o-mini",
            response_model=Person,
            max_retries=2,
            messages=[{"role": "user", "content": "Who wrote the first program?"}],
        )

    before, after, records = with_and_without(run)
    assert after.model_dump() == before.model_dump() == {"name": "Ada", "age": 36}
    assert plain(after._raw_response) == plain(before._raw_response)  # what instructor attaches
    first, second = calls(records)
    assert (output_text(first), output_text(second)) == (BAD, GOOD)
    assert all(c["status"] == "ok" and c["usage"]["source"] == "provider" for c in (first, second))
    # The retry carries the failed answer and the validation error back to the model.
    assert len(second["input_messages"]) > len(first["input_messages"])
    assert first["request_params"].get("response_format") == {"type": "json_object"}


def test_tools_mode(fake):
    arguments = {"name": "Ada", "age": 36}
    fake.configure(text="", tool_calls=[{"name": "Person", "arguments": arguments}])
    person = _client(fake, instructor.Mode.TOOLS).chat.completions.create(
        model="gpt-4o-mini", response_model=Person, messages=[{"role": "user", "content": "Who?"}]
    )
    assert person.model_dump() == arguments
    memory = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[memory], redact=False, flush_interval=0.05)
    again = _client(fake, instructor.Mode.TOOLS).chat.completions.create(
        model="gpt-4o-mini", response_model=Person, messages=[{"role": "user", "content": "Who?"}]
    )
    assert lm.flush(5)
    assert again.model_dump() == person.model_dump() and plain(again._raw_response) == plain(
        person._raw_response
    )
    (call,) = calls(memory.records)
    (part,) = tool_calls(call)
    assert part["name"] == "Person" and call["finish_reasons"] == ["tool_calls"]


def test_retries_exhausted_are_all_recorded(fake):
    fake.configure(text=BAD)
    memory = lm.exporters.InMemoryExporter()
    lm.instrument(exporters=[memory], redact=False, flush_interval=0.05)
    with pytest.raises(InstructorRetryException):
        _client(fake, instructor.Mode.JSON).chat.completions.create(
            model="gpt-4o-mini",
            response_model=Person,
            max_retries=3,
            messages=[{"role": "user", "content": "?"}],
        )
    assert lm.flush(5)
    assert fake.request_count >= 3
    assert len(calls(memory.records)) == fake.request_count  # every attempt, each its own record
    assert [output_text(c) for c in calls(memory.records)] == [BAD] * fake.request_count
