"""Shared-lifecycle behaviour on Anthropic: estimation, budgets, context links, patching, the host guard."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import anthropic
import pytest
from anthropic_support import KWARGS, MODEL, maybe_await

import llm_monitor_sdk as lm
from llm_monitor_sdk.instrumentation import _registry, patched_keys
from llm_monitor_sdk.instrumentation import anthropic as adapter_module

_MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


async def _create(client: Any, **extra: Any) -> Any:
    return await maybe_await(client.messages.create(**KWARGS, **extra))


async def _stream_text(client: Any, is_async: bool) -> str:
    if is_async:
        async with client.messages.stream(**KWARGS) as helper:
            return await helper.get_final_text()
    with client.messages.stream(**KWARGS) as helper:
        return helper.get_final_text()


@_MODES
async def test_missing_usage_is_estimated_and_priced(
    is_async: bool, fake: Any, start_monitor: Any, records: Any
) -> None:
    start_monitor()
    fake.configure(usage=False)
    response = await _create(fake.anthropic_client(is_async, in_process=True))
    assert response.usage is None

    [record] = records()
    usage = record["usage"]
    assert usage["source"] == "estimated"
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert record["cost_usd"] is not None and record["cost_usd"] > 0


@_MODES
@pytest.mark.parametrize("surface", ["create", "stream"])
async def test_budget_blocks_before_anything_is_posted(
    surface: str, is_async: bool, fake: Any, start_monitor: Any, records: Any
) -> None:
    start_monitor(budgets="global:daily=0.0000001")
    client = fake.anthropic_client(is_async, in_process=True)

    with warnings.catch_warnings():
        # The async SDK builds its request coroutine in .stream(); a manager that never posts leaves it
        # unawaited, exactly as an un-entered manager does without us.
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(lm.BudgetExceededError):
            if surface == "create":
                await _create(client)
            else:
                await _stream_text(client, is_async)  # the stream manager raises from __enter__
        [record] = records()
        gc.collect()  # the exported call held the manager through its error's traceback

    assert fake.request_count == 0
    assert record["status"] == "blocked" and record["api"] == f"messages.{surface}"
    assert record["error"]["type"] == "llm_monitor_sdk.BudgetExceededError"


@_MODES
@pytest.mark.parametrize("surface", ["create", "stream"])
async def test_context_and_trace_links(
    surface: str, is_async: bool, fake: Any, start_monitor: Any, memory_exporter: Any
) -> None:
    start_monitor()
    client = fake.anthropic_client(is_async)  # over the socket server

    @lm.observe(name="answer")
    async def answer() -> None:
        with lm.context(user_id="u-1", tenant_id="acme", feature="chat", tags=["t"], metadata={"k": "v"}):
            if surface == "create":
                await _create(client)
            else:
                await _stream_text(client, is_async)

    await answer()
    assert lm.flush(5.0)
    [span] = memory_exporter.spans
    [record] = [r for r in memory_exporter.calls if r["kind"] == "llm_call"]
    assert record["trace_id"] == span["trace_id"] and record["parent_span_id"] == span["span_id"]
    assert (record["user_id"], record["tenant_id"], record["feature"]) == ("u-1", "acme", "chat")
    assert record["tags"] == ["t"] and record["metadata"] == {"k": "v"}


def _patched(cls: type, name: str) -> bool:
    return hasattr(cls.__dict__[name], "__wrapped__")


async def test_patching_is_idempotent_and_reversible(
    fake: Any, start_monitor: Any, records: Any, memory_exporter: Any
) -> None:
    from anthropic.resources.messages import messages as module

    original_create = module.Messages.__dict__["create"]
    original_stream = module.AsyncMessages.__dict__["stream"]
    start_monitor()
    start_monitor()  # a second instrument() reconfigures, never wraps twice
    keys = patched_keys()
    for key in (
        f"{module.__name__}:Messages.create",
        f"{module.__name__}:AsyncMessages.stream",
        f"{module.__name__}:Messages.parse",
        "anthropic.resources.beta.messages.messages:Messages.stream",
    ):
        assert key in keys
    assert module.Messages.__dict__["create"].__wrapped__ is original_create
    client = fake.anthropic_client(in_process=True)
    await _create(client)
    assert len(records()) == 1

    lm.uninstrument()
    assert module.Messages.__dict__["create"] is original_create
    assert module.AsyncMessages.__dict__["stream"] is original_stream
    assert not any(key.startswith("anthropic.") for key in _registry.patched_keys())
    await _create(client)
    with client.messages.stream(**KWARGS) as helper:
        assert helper.get_final_text() == fake.knobs.text
    assert len(memory_exporter.calls) == 1  # nothing recorded after uninstrument()


@pytest.mark.internal_errors_expected
async def test_a_failing_reader_costs_no_call_and_no_record(
    fake: Any, start_monitor: Any, records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("surprise shape")

    monkeypatch.setattr(adapter_module.MessagesAdapter, "fill_response", broken)
    start_monitor()
    response = await _create(fake.anthropic_client(in_process=True))
    assert response.content[0].text == fake.knobs.text

    [record] = records()
    assert record["status"] == "ok" and record["input_messages"] is not None
    assert lm._guard.internal_error_counts()  # counted, not raised


@pytest.mark.internal_errors_expected
@_MODES
async def test_a_failing_stream_hook_leaves_the_helper_working(
    is_async: bool, fake: Any, start_monitor: Any, records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(slot: Any, helper: Any) -> Any:
        raise RuntimeError("no raw stream here")

    monkeypatch.setattr(adapter_module, "_watch_helper", broken)
    start_monitor()  # targets() is built now and picks up the broken hook
    text = await _stream_text(fake.anthropic_client(is_async, in_process=True), is_async)

    assert text == fake.knobs.text
    [record] = records()  # the call still finishes (partial: nothing was watched) when the manager exits
    assert record["api"] == "messages.stream" and record["partial"] is True
    assert lm._guard.internal_error_counts()


def test_provider_name_for_bedrock_and_vertex_clients() -> None:
    def resource_of(client_class: str) -> Any:
        client = type(client_class, (), {})()
        return type("Messages", (), {"_client": client})()

    assert adapter_module.provider_for(resource_of("AnthropicBedrock")) == "aws.bedrock"
    assert adapter_module.provider_for(resource_of("AsyncAnthropicVertex")) == "gcp.vertex_ai"
    assert adapter_module.provider_for(resource_of("Anthropic")) == "anthropic"


async def test_the_sdks_own_tracing_setting_is_left_alone(
    start_monitor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("ANTHROPIC_OPEN_TELEMETRY", raising=False)
    start_monitor()
    assert "ANTHROPIC_OPEN_TELEMETRY" not in os.environ
    assert MODEL.startswith("claude")
    assert isinstance(anthropic.__version__, str)
