"""Every OpenAI surface x sync/async x stream/non-stream: one correct record, and the caller's result unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from oai_support import (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    PROMPT,
    RAW_SURFACES,
    SURFACES,
    SYSTEM,
    TEXT,
    Surface,
    chat_kwargs,
    output_text,
    run_async,
    run_raw_async,
    run_raw_sync,
    run_sync,
    surface,
)

import llm_monitor_sdk as lm
from llm_monitor_sdk.instrumentation import patched_keys
from llm_monitor_sdk.testing import FakeProvider

_RESPONSE_ID_PREFIX = {"chat": "chatcmpl-", "responses": "resp_", "completions": "cmpl-"}


def _expected_inputs(s: Surface) -> tuple[Any, Any]:
    user = [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    if s.name.startswith(("chat", "responses")):
        return [{"type": "text", "content": SYSTEM}], user
    return None, user


def check_record(r: dict[str, Any], s: Surface, fake: FakeProvider) -> None:
    """The fields every successful call of ``s`` must carry."""
    assert r["api"] == s.api
    assert r["operation"] == s.operation
    assert r["provider"] == "openai"
    assert r["request_model"] == s.model
    assert r["response_model"] == s.model
    assert r["stream"] is s.stream
    assert r["status"] == "ok" and r["error"] is None
    assert r["partial"] is False
    assert r["request_id"] == fake.last_request.request_id
    assert r["latency_ms"] > 0
    if s.stream:
        assert r["ttft_ms"] is not None and 0 < r["ttft_ms"] <= r["latency_ms"]
    else:
        assert r["ttft_ms"] is None
    usage = r["usage"]
    assert usage["source"] == "provider"
    assert usage["input_tokens"] == INPUT_TOKENS
    assert usage["output_tokens"] == (OUTPUT_TOKENS if s.has_output else 0)
    assert usage["total_tokens"] == INPUT_TOKENS + (OUTPUT_TOKENS if s.has_output else 0)
    assert isinstance(r["cost_usd"], float) and r["cost_usd"] > 0
    assert r["finish_reasons"] == list(s.finish)
    assert (r["system_instructions"], r["input_messages"]) == _expected_inputs(s)
    if s.has_output:
        assert output_text(r) == TEXT
        assert r["response_id"].startswith(_RESPONSE_ID_PREFIX[s.name.split(".")[0]])
    else:
        assert not r["output_messages"]


@pytest.mark.parametrize("s", SURFACES, ids=[s.id for s in SURFACES])
async def test_one_record_per_call(
    s: Surface, call: Callable[..., Any], records: Any, fake: FakeProvider
) -> None:
    await call(s)
    [record] = records()
    check_record(record, s, fake)


@pytest.mark.parametrize("usage_option", [True, False], ids=["caller-asks-usage", "sdk-asks-usage"])
@pytest.mark.parametrize("s", SURFACES, ids=[s.id for s in SURFACES])
async def test_result_identical_to_uninstrumented(
    s: Surface,
    usage_option: bool,
    is_async: bool,
    fake: FakeProvider,
    memory_exporter: lm.exporters.InMemoryExporter,
) -> None:
    # Without usage_option the SDK adds stream_options.include_usage itself: the usage-only chunk it
    # makes the provider send is read for the record and withheld, so the caller sees exactly what it
    # sees without the SDK (every chunk, every helper event, the helper's final object).
    # Same ids in both replies, so the dumps compare whole.
    fake.configure(request_id="req_same")
    client = fake.openai_client(async_=is_async)  # built before instrument(): still captured
    assert patched_keys() == []

    async def run() -> Any:
        return (
            await run_async(client, s, usage_option=usage_option)
            if is_async
            else run_sync(client, s, usage_option=usage_option)
        )

    plain = await run()
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05)
    watched = await run()
    assert watched == plain
    assert lm.flush(5.0)
    [record] = memory_exporter.calls
    assert record["api"] == s.api and record["request_id"] == "req_same"
    if s.name != "embeddings.create":
        assert record["usage"]["source"] == "provider"


@pytest.mark.parametrize("usage_option", [True, False], ids=["caller-asks-usage", "sdk-asks-usage"])
@pytest.mark.parametrize("mode", ["raw", "streaming"])
@pytest.mark.parametrize(
    ("name", "stream"), RAW_SURFACES, ids=[f"{n}{'-stream' if st else ''}" for n, st in RAW_SURFACES]
)
async def test_raw_responses(
    name: str,
    stream: bool,
    mode: str,
    usage_option: bool,
    is_async: bool,
    fake: FakeProvider,
    memory_exporter: lm.exporters.InMemoryExporter,
) -> None:
    fake.configure(request_id="req_raw")
    # Both built before instrument(). Not one client for both runs: ``with_raw_response`` keeps the
    # ``create`` it finds on first use, so a resource used raw before instrument() stays unwatched.
    plain_client, client = fake.openai_client(async_=is_async), fake.openai_client(async_=is_async)

    async def run(client: Any) -> Any:
        if is_async:
            return await run_raw_async(client, name, stream, mode, usage_option=usage_option)
        return run_raw_sync(client, name, stream, mode, usage_option=usage_option)

    plain = await run(plain_client)
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05)
    watched = await run(client)
    assert watched == plain  # same response class, headers, parsed object or chunks
    assert lm.flush(5.0)
    [record] = memory_exporter.calls
    check_record(record, surface(name, stream), fake)


async def test_stream_usage_is_requested_and_its_chunk_withheld_from_the_caller(
    call: Callable[..., Any], records: Any, fake: FakeProvider, is_async: bool
) -> None:
    s = surface("chat.create", True)
    _, _, chunks = await call(s)
    assert fake.last_request.body["stream_options"] == {"include_usage": True}
    # The caller did not ask for usage: every chunk it gets has a choice (``chunk.choices[0]`` works).
    assert chunks and all(chunk["choices"] for _, chunk in chunks)
    [record] = records()
    assert record["usage"]["source"] == "provider"
    assert record["usage"]["input_tokens"] == INPUT_TOKENS
    assert record["request_params"]["stream_options"] == {"include_usage": True}


async def test_a_caller_who_asked_for_usage_gets_the_usage_chunk(
    fake: FakeProvider, records: Any, is_async: bool
) -> None:
    client = fake.openai_client(async_=is_async)
    kwargs = {**chat_kwargs(), "stream": True, "stream_options": {"include_usage": True}}
    if is_async:
        chunks = [c async for c in await client.chat.completions.create(**kwargs)]
    else:
        chunks = list(client.chat.completions.create(**kwargs))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == INPUT_TOKENS
    [record] = records()
    assert record["usage"]["source"] == "provider"


@pytest.mark.parametrize("how", ["argument", "env"])
async def test_stream_usage_opt_out(
    how: str,
    fake: FakeProvider,
    memory_exporter: lm.exporters.InMemoryExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if how == "env":
        monkeypatch.setenv("LLM_MONITOR_STREAM_USAGE", "false")
        lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05)
    else:
        lm.instrument(
            ["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05, stream_usage=False
        )
    client = fake.openai_client()
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert "stream_options" not in fake.last_request.body
    assert all(chunk.choices for chunk in chunks)  # no usage-only chunk
    list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="x", stream=True))
    assert "stream_options" not in fake.last_request.body
    assert lm.flush(5.0)
    chat, legacy = memory_exporter.calls
    for record in (chat, legacy):
        assert record["usage"]["source"] == "estimated"
        assert record["usage"]["input_tokens"] > 0 and record["usage"]["output_tokens"] > 0
        assert record["cost_usd"] > 0


async def test_callers_explicit_include_usage_false_is_respected(fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client()
    list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            stream_options={"include_usage": False},
        )
    )
    assert fake.last_request.body["stream_options"] == {"include_usage": False}
    [record] = records()
    assert record["usage"]["source"] == "estimated"
