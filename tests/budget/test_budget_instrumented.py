"""Budget guards end to end: instrumented OpenAI calls through the fake provider.

Every call here costs exactly its worst case (the fake provider reports the estimated input tokens and
``max_tokens`` output tokens), so the number of calls a limit allows is plain arithmetic on the prices.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import tokens
from llm_monitor_sdk.pricing import PriceBook
from llm_monitor_sdk.testing import FakeProvider, fake_headers

openai = pytest.importorskip("openai")

MODEL = "gpt-4o-mini"
MAX_TOKENS = 10_000
LIMIT = 0.05
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def _call_cost() -> tuple[int, float]:
    """(input tokens the SDK will estimate, USD the call costs at worst and in fact)."""
    converted = [{"role": "user", "parts": [{"type": "text", "content": MESSAGES[0]["content"]}]}]
    input_tokens = tokens.count_messages(converted, provider="openai", model=MODEL)
    prices = PriceBook().unit_prices("openai", MODEL)
    assert prices is not None
    return input_tokens, input_tokens * prices.input + MAX_TOKENS * prices.output


def _headers(input_tokens: int) -> dict[str, str]:
    return fake_headers(input_tokens=input_tokens, output_tokens=MAX_TOKENS, text="Paris.")


def _call(client: Any, input_tokens: int) -> Any:
    return client.chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, extra_headers=_headers(input_tokens)
    )


def test_user_is_blocked_at_the_right_call_before_any_request(
    fake_provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    input_tokens, cost = _call_cost()
    allowed = math.floor(LIMIT / cost + 1e-9)
    assert 2 <= allowed < 20, "test prices should allow a handful of calls"
    jsonl = tmp_path / "records.jsonl"
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", f"user:daily={LIMIT}")
    alerts: list[dict[str, Any]] = []
    lm.instrument(jsonl_path=str(jsonl), on_budget_alert=alerts.append)
    client = fake_provider.openai_client()

    outcomes = []
    with lm.context(user_id="alice"):
        for _ in range(allowed + 3):
            before = fake_provider.request_count
            try:
                _call(client, input_tokens)
                outcomes.append("ok")
            except lm.BudgetExceededError as exc:
                assert fake_provider.request_count == before, "a blocked call must not reach the provider"
                assert (exc.scope, exc.key, exc.window, exc.limit_usd) == ("user", "alice", "daily", LIMIT)
                assert exc.spent_usd is not None and exc.spent_usd + (exc.reserved_usd or 0) <= LIMIT + 1e-9
                outcomes.append("blocked")
    assert outcomes == ["ok"] * allowed + ["blocked"] * 3

    with lm.context(user_id="bob"):  # another user has a budget of their own
        assert _call(client, input_tokens).choices[0].message.content == "Paris."

    assert lm.flush(10)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    calls = [r for r in records if r["kind"] == "llm_call"]
    blocked = [r for r in calls if r["status"] == "blocked"]
    assert len(blocked) == 3 and all(r["user_id"] == "alice" for r in blocked)
    assert blocked[0]["error"]["type"] == "llm_monitor_sdk.BudgetExceededError"
    assert blocked[0]["usage"] is None and blocked[0]["cost_usd"] is None
    ok = [r for r in calls if r["status"] == "ok"]
    assert len(ok) == allowed + 1
    assert sum(r["cost_usd"] for r in ok if r["user_id"] == "alice") == pytest.approx(allowed * cost)
    assert lm.stats()["budget"]["blocked"] == 3
    # The default soft threshold (0.8) is crossed once in the day: one callback, one record carrying it.
    assert len(alerts) == 1 and alerts[0]["scope"] == "user" and alerts[0]["key"] == "alice"
    assert sum(len(r["budget_alerts"]) for r in calls) == 1


def test_warn_mode_never_blocks(
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    memory_exporter: lm.exporters.InMemoryExporter,
) -> None:
    input_tokens, cost = _call_cost()
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", f"user:daily={cost * 1.5}")
    monkeypatch.setenv("LLM_MONITOR_BUDGET_MODE", "warn")
    lm.instrument(exporters=[memory_exporter])
    client = fake_provider.openai_client()
    with lm.context(user_id="carol"):
        for _ in range(3):
            _call(client, input_tokens)
    assert lm.flush(10)
    assert [r["status"] for r in memory_exporter.calls] == ["ok", "ok", "ok"]
    assert any(alert.get("type") == "limit" for r in memory_exporter.calls for alert in r["budget_alerts"])


def _hammer(client: Any, input_tokens: int, results: list[str], lock: threading.Lock) -> None:
    with lm.context(user_id="dora"):
        while True:
            try:
                _call(client, input_tokens)
            except lm.BudgetExceededError:
                with lock:
                    results.append("blocked")
                return
            with lock:
                results.append("ok")


@pytest.mark.slow
def test_sixteen_threads_never_overspend(
    fake_provider: FakeProvider, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    input_tokens, cost = _call_cost()
    allowed = math.floor(LIMIT / cost + 1e-9)
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", f"user:daily={LIMIT}")
    monitor = lm.instrument(exporters="none", budget_store=store)
    client = fake_provider.openai_client()
    results: list[str] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_hammer, args=(client, input_tokens, results, lock)) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert lm.flush(10)
    assert results.count("ok") == allowed
    assert results.count("blocked") == 16
    assert fake_provider.request_count == allowed
    assert monitor.budget is not None
    row = next(r for r in monitor.budget.status() if r["key"] == "dora")
    assert row["spent_usd"] == pytest.approx(allowed * cost) and row["spent_usd"] <= LIMIT
    assert row["reserved_usd"] == pytest.approx(0.0, abs=1e-12)


def _process_worker(url: str, store: str, input_tokens: int, queue: Any) -> None:
    import os

    os.environ["LLM_MONITOR_BUDGETS"] = f"user:daily={LIMIT}"
    os.environ["LLM_MONITOR_BUDGET_STORE"] = store
    import openai as openai_module

    import llm_monitor_sdk as monitor_sdk

    monitor_sdk.instrument(exporters="none")
    client = openai_module.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
    ok = 0
    with monitor_sdk.context(user_id="erin"):
        while True:
            try:
                _call(client, input_tokens)
                ok += 1
            except monitor_sdk.BudgetExceededError:
                break
    monitor_sdk.flush(10)
    monitor_sdk.uninstrument()
    queue.put(ok)


@pytest.mark.slow
def test_four_processes_never_overspend(fake_provider: FakeProvider, shared_store: str) -> None:
    input_tokens, cost = _call_cost()
    allowed = math.floor(LIMIT / cost + 1e-9)
    context = multiprocessing.get_context("fork")  # the children re-instrument from scratch
    queue = context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(fake_provider.url, shared_store, input_tokens, queue))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    counts = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    assert sum(counts) == allowed
    assert fake_provider.request_count == allowed
    from llm_monitor_sdk.budget import build_guard

    guard = build_guard(f"user:daily={LIMIT}", store=shared_store)
    assert guard is not None
    try:
        row = next(r for r in guard.status() if r["key"] == "erin")
    finally:
        guard.close()
    assert row["spent_usd"] == pytest.approx(allowed * cost) and row["spent_usd"] <= LIMIT


def test_sequential_calls_see_the_real_spend_not_the_worst_case(
    fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call settles when it finishes: the next call is checked against what was really spent."""
    input_tokens, worst = _call_cost()
    prices = PriceBook().unit_prices("openai", MODEL)
    assert prices is not None
    actual = input_tokens * prices.input + 100 * prices.output
    limit = worst + 3.5 * actual  # room for the worst case on top of three real calls, not four
    allowed = math.floor((limit - worst) / actual + 1e-9) + 1
    assert allowed == 4
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", f"user:daily={limit}")
    lm.instrument(exporters="none")
    client = fake_provider.openai_client()
    outcomes = []
    with lm.context(user_id="frank"):
        for _ in range(allowed + 2):
            try:
                client.chat.completions.create(
                    model=MODEL,
                    messages=MESSAGES,
                    max_tokens=MAX_TOKENS,
                    extra_headers=fake_headers(input_tokens=input_tokens, output_tokens=100),
                )
                outcomes.append("ok")
            except lm.BudgetExceededError as exc:
                assert exc.spent_usd == pytest.approx(allowed * actual) and exc.reserved_usd == pytest.approx(
                    0
                )
                outcomes.append("blocked")
    assert outcomes == ["ok"] * allowed + ["blocked"] * 2
