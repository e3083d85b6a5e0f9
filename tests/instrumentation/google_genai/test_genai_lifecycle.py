"""What google-genai shares with every provider: backends, context links, patching, the guard, budgets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from genai_support import MODEL, calls, run
from google.genai import models

import llm_monitor_sdk as lm
from llm_monitor_sdk import _guard
from llm_monitor_sdk.instrumentation import google_genai as adapter_module
from llm_monitor_sdk.instrumentation import patched_keys
from llm_monitor_sdk.testing import FakeProvider

PATCHED = sorted(
    f"google.genai.models:{cls}.{method}"
    for cls in ("Models", "AsyncModels")
    for method in ("generate_content", "generate_content_stream", "embed_content")
)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_vertex_client_is_gcp_vertex_ai(fake: Any, exporter: Any, vertex_client: Any, stream: bool) -> None:
    run(vertex_client, "models", False, stream)

    [record] = calls(exporter)
    assert fake.last_request.path.startswith("/v1beta1/publishers/google/models/")
    assert record["provider"] == "gcp.vertex_ai"
    assert record["cost_usd"] is not None and record["cost_usd"] > 0


def test_model_is_recorded_as_given(fake: Any, exporter: Any, client: Any) -> None:
    client.models.generate_content(model=f"models/{MODEL}", contents="Hi")

    [record] = calls(exporter)
    assert record["request_model"] == f"models/{MODEL}"
    assert record["response_model"] == MODEL
    assert record["cost_usd"] is not None


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_local_http_server(fake_provider: FakeProvider, exporter: Any, is_async: bool) -> None:
    """Over a real socket too (the other tests use the in-process transport)."""
    fake_provider.configure(text="Over the wire", chunks=2)
    chunks = run(fake_provider.genai_client(), "models", is_async, True)

    [record] = calls(exporter)
    assert "".join(c.text for c in chunks) == "Over the wire"
    assert record["output_messages"][0]["parts"] == [{"type": "text", "content": "Over the wire"}]
    assert record["ttft_ms"] is not None and record["partial"] is False


def test_context_and_trace_links(fake: Any, exporter: Any, client: Any) -> None:
    @lm.observe(name="answer")
    def answer() -> str:
        return client.models.generate_content(model=MODEL, contents="Hi").text

    async def answer_async() -> str:
        response = await client.aio.models.generate_content(model=MODEL, contents="Hi")
        return response.text

    with lm.context(user_id="u-1", tenant_id="acme", feature="faq", tags=["t"], metadata={"k": "v"}):
        answer()
        asyncio.run(answer_async())

    assert lm.flush()
    [span] = [r for r in exporter.records if r["kind"] == "span"]
    in_span, in_async = calls(exporter)
    for record in (in_span, in_async):
        assert (record["user_id"], record["tenant_id"], record["feature"]) == ("u-1", "acme", "faq")
        assert record["tags"] == ["t"] and record["metadata"] == {"k": "v"}
    assert in_span["trace_id"] == span["trace_id"] and in_span["parent_span_id"] == span["span_id"]
    assert in_async["parent_span_id"] is None


def test_patching_is_idempotent_and_reversible(fake: Any, start_monitor: Any, client: Any) -> None:
    original = models.Models.__dict__["generate_content"]
    start_monitor()
    exporter = start_monitor()  # instrumenting again never wraps twice
    assert [key for key in patched_keys() if key.startswith("google.genai")] == PATCHED

    client.models.generate_content(model=MODEL, contents="Hi")
    assert len(calls(exporter)) == 1

    lm.uninstrument()
    assert models.Models.__dict__["generate_content"] is original
    assert not [key for key in patched_keys() if key.startswith("google.genai")]
    assert client.models.generate_content(model=MODEL, contents="Hi").text == "Hello there"
    assert len(exporter.calls) == 1


@pytest.mark.internal_errors_expected
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_adapter_bug_never_reaches_the_host(
    fake: Any, exporter: Any, client: Any, monkeypatch: Any, stream: bool
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(adapter_module, "_usage", broken)
    monkeypatch.setattr(adapter_module, "_contents", broken)

    result = run(client, "models", False, stream)

    assert (result[-1] if stream else result).candidates
    [record] = calls(exporter)
    assert record["status"] == "ok" and record["finish_reasons"] == ["STOP"]
    assert record["response_model"] == MODEL and record["input_messages"] is None
    assert set(_guard.internal_error_counts()) == {
        "gcp.gemini.messages:RuntimeError",
        "gcp.gemini.fill_response:RuntimeError",
    }


@pytest.mark.internal_errors_expected
def test_begin_failure_calls_through_unrecorded(
    fake: Any, exporter: Any, client: Any, monkeypatch: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(adapter_module.GenerateContentAdapter, "begin", broken)

    assert client.models.generate_content(model=MODEL, contents="Hi").text == "Hello there"
    assert calls(exporter) == []
    assert _guard.internal_error_counts() == {"gcp.gemini.start:RuntimeError": 1}


@pytest.mark.parametrize(
    ("is_async", "stream"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["sync-plain", "sync-stream", "async-plain", "async-stream"],
)
def test_budget_blocks_before_the_provider_is_called(
    fake: Any, start_monitor: Any, client: Any, is_async: bool, stream: bool
) -> None:
    exporter = start_monitor(budgets="global:daily=0.000001")

    with pytest.raises(lm.BudgetExceededError):
        run(client, "models", is_async, stream)

    [record] = calls(exporter)
    assert fake.request_count == 0
    assert record["status"] == "blocked" and record["provider"] == "gcp.gemini"
