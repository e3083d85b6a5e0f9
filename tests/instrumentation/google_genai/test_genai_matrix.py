"""The call matrix: surface (models, chat) x sync/async x stream/non-stream x success/error.

Every cell makes exactly one record with the full set of fields, and hands the caller what an
uninstrumented call returns (or the very exception object the SDK raised).
"""

from __future__ import annotations

from typing import Any

import pytest
from genai_support import MODEL, SURFACES, calls, dump, run, spy_errors
from google.genai import errors, types

MATRIX = [
    (surface, is_async, stream)
    for surface in SURFACES
    for is_async in (False, True)
    for stream in (False, True)
]
IDS = [f"{s}-{'async' if a else 'sync'}-{'stream' if st else 'plain'}" for s, a, st in MATRIX]


def _config() -> types.GenerateContentConfig:
    return types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.3, max_output_tokens=64)


@pytest.mark.parametrize(("surface", "is_async", "stream"), MATRIX, ids=IDS)
def test_one_complete_record_and_unchanged_result(
    fake: Any, client: Any, start_monitor: Any, surface: str, is_async: bool, stream: bool
) -> None:
    fake.configure(request_id="req-fixed")
    baseline = run(client, surface, is_async, stream, config=_config())
    exporter = start_monitor()

    result = run(client, surface, is_async, stream, config=_config())

    assert dump(result) == dump(baseline)
    assert type(result) is type(baseline)
    [record] = calls(exporter)
    assert record["provider"] == "gcp.gemini"
    assert record["operation"] == "generate_content"
    assert record["api"] == ("models.generate_content_stream" if stream else "models.generate_content")
    assert record["request_model"] == MODEL
    assert record["response_model"] == MODEL
    assert record["stream"] is stream
    assert record["status"] == "ok" and record["error"] is None
    assert record["request_params"] == {"temperature": 0.3, "max_output_tokens": 64}
    assert record["system_instructions"] == [{"type": "text", "content": "Be brief."}]
    assert record["input_messages"] == [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    assert record["output_messages"] == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello there"}], "finish_reason": "STOP"}
    ]
    assert record["finish_reasons"] == ["STOP"]
    assert record["usage"] == {
        "input_tokens": 12,
        "output_tokens": 5,
        "total_tokens": 17,
        "cache_read_input_tokens": None,
        "cache_write_input_tokens": None,
        "reasoning_output_tokens": None,
        "source": "provider",
    }
    assert record["cost_usd"] is not None and record["cost_usd"] > 0
    assert record["response_id"] == "req-fixed"
    assert record["request_id"] == "req-fixed"
    assert record["latency_ms"] > 0
    assert record["partial"] is False
    if stream:
        assert record["ttft_ms"] is not None and 0 < record["ttft_ms"] <= record["latency_ms"]
    else:
        assert record["ttft_ms"] is None


@pytest.mark.parametrize(("status", "error_type"), [(400, errors.ClientError), (503, errors.ServerError)])
@pytest.mark.parametrize(("surface", "is_async", "stream"), MATRIX, ids=IDS)
def test_error_record_and_the_same_exception(
    fake: Any,
    exporter: Any,
    client: Any,
    monkeypatch: Any,
    surface: str,
    is_async: bool,
    stream: bool,
    status: int,
    error_type: type[Exception],
) -> None:
    seen = spy_errors(monkeypatch)
    fake.fail_next(status, message="nope (fake)")

    with pytest.raises(error_type) as caught:
        run(client, surface, is_async, stream, config=_config())

    assert len(seen) == 1 and caught.value is seen[0]
    [record] = calls(exporter)
    assert record["status"] == "error"
    assert record["error"] == {
        "type": f"google.genai.errors.{error_type.__name__}",
        "message": "nope (fake)",
        "status_code": status,
        "category": "client" if status < 500 else "server",
    }
    assert record["api"] == ("models.generate_content_stream" if stream else "models.generate_content")
    assert record["request_model"] == MODEL
    assert record["input_messages"] == [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    assert record["usage"] is None and record["cost_usd"] is None
    assert not record["output_messages"]
    assert record["partial"] is stream  # a stream that failed never completed
