"""The Anthropic matrix: surface x sync/async x stream/plain, success and HTTP error, through the fake provider.

Every success case is first run uninstrumented; the instrumented run must show the user exactly the
same thing and export exactly one record with the right fields.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic_support import KWARGS, MODEL, PROMPT, REQUEST_ID, SYSTEM, StatusErrorSpy, case_id, cases

from llm_monitor_sdk.pricing import PriceBook

CASES = cases()


def _expected_cost() -> float:
    # The fake's counts: 12 uncached input, 5 cache reads, 7 cache writes, 9 output tokens.
    prices = PriceBook().unit_prices("anthropic", MODEL)
    assert prices is not None
    return 12 * prices.input + 5 * prices.cache_read + 7 * prices.cache_write + 9 * prices.output


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_success_is_unchanged_for_the_user_and_recorded_once(
    case: Any, fake: Any, start_monitor: Any, records: Any
) -> None:
    surface, is_async, stream = case
    fake.configure(text=surface.text, request_id=REQUEST_ID)
    baseline = await surface.drive(fake.anthropic_client(is_async, in_process=True), is_async, stream)
    start_monitor()

    seen = await surface.drive(fake.anthropic_client(is_async, in_process=True), is_async, stream)

    assert seen == baseline
    [record] = records()
    assert record["status"] == "ok" and record["error"] is None
    assert (record["provider"], record["operation"], record["api"]) == ("anthropic", "chat", surface.api)
    assert record["request_model"] == MODEL and record["response_model"] == MODEL
    assert record["request_params"]["max_tokens"] == 64 and record["request_params"]["stop_sequences"] == [
        "END"
    ]
    assert record["system_instructions"] == [{"type": "text", "content": SYSTEM}]
    assert record["input_messages"] == [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    assert record["output_messages"] == [
        {
            "role": "assistant",
            "finish_reason": "end_turn",
            "parts": [{"type": "text", "content": surface.text}],
        }
    ]
    assert record["finish_reasons"] == ["end_turn"]
    assert record["usage"] == {
        "input_tokens": 24,
        "output_tokens": 9,
        "total_tokens": 33,
        "cache_read_input_tokens": 5,
        "cache_write_input_tokens": 7,
        "reasoning_output_tokens": None,
        "source": "provider",
    }
    assert record["cost_usd"] == pytest.approx(_expected_cost())
    assert record["request_id"] == REQUEST_ID
    assert record["response_id"] == f"msg_{REQUEST_ID}"
    assert record["stream"] is stream and record["partial"] is False
    assert record["latency_ms"] > 0
    if stream:
        assert 0 < record["ttft_ms"] <= record["latency_ms"]
    else:
        assert record["ttft_ms"] is None


@pytest.mark.parametrize("case", CASES, ids=case_id)
async def test_http_error_reaches_the_caller_unchanged_and_is_recorded(
    case: Any, fake: Any, start_monitor: Any, records: Any
) -> None:
    surface, is_async, stream = case
    start_monitor()
    client = fake.anthropic_client(is_async, in_process=True)
    spy = StatusErrorSpy(client)
    fake.fail_next(429, message="slow down")

    with pytest.raises(anthropic.RateLimitError) as caught:
        await surface.drive(client, is_async, stream)

    assert spy.made == [caught.value] and caught.value is spy.made[0]  # the SDK's own object, not a copy
    [record] = records()
    assert record["status"] == "error"
    assert record["error"] == {
        "type": "anthropic.RateLimitError",
        "message": caught.value.message,
        "status_code": 429,
        "category": "rate_limit",
    }
    assert record["api"] == surface.api and record["stream"] is stream
    assert record["input_messages"] == [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    assert record["usage"] is None and record["cost_usd"] is None  # nothing came back: nothing to estimate
    assert record["output_messages"] is None and record["partial"] is False


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_helper_stream_cut_midway_is_partial_with_what_arrived(
    is_async: bool, fake: Any, start_monitor: Any, records: Any
) -> None:
    # messages.create(stream=True) cut midway is in tests/lifecycle (every provider, every ending).
    start_monitor()
    client = fake.anthropic_client(is_async, in_process=True)
    fake.cut_next(after_chunks=4)
    received: list[str] = []
    with pytest.raises(Exception) as caught:  # the HTTP library's protocol error, whatever its module
        if is_async:
            async with client.messages.stream(**KWARGS) as helper:
                async for text in helper.text_stream:
                    received.append(text)
        else:
            with client.messages.stream(**KWARGS) as helper:
                received.extend(helper.text_stream)

    [record] = records()
    assert record["status"] == "error" and record["partial"] is True and record["api"] == "messages.stream"
    assert (
        record["error"]["type"]
        == f"{type(caught.value).__module__.split('.')[0]}.{type(caught.value).__name__}"
    )
    assert received and record["output_messages"][0]["parts"] == [
        {"type": "text", "content": "".join(received)}
    ]
    assert record["finish_reasons"] == []
    # message_delta never came: the provider's output count is a placeholder, so usage is estimated.
    assert record["usage"]["source"] == "estimated" and record["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_helper_left_early_is_partial_ok(
    is_async: bool, fake: Any, start_monitor: Any, records: Any
) -> None:
    start_monitor()
    client = fake.anthropic_client(is_async, in_process=True)
    if is_async:
        async with client.messages.stream(**KWARGS) as helper:
            first = await anext(helper.text_stream)
    else:
        with client.messages.stream(**KWARGS) as helper:
            first = next(iter(helper.text_stream))

    [record] = records()
    assert record["status"] == "ok" and record["partial"] is True and record["api"] == "messages.stream"
    assert record["output_messages"][0]["parts"] == [{"type": "text", "content": first}]
