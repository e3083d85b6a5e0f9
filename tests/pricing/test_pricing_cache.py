"""The per-(provider, model) cache: one genai-prices lookup per pair, thread-safe, re-resolved on price dates.

Benchmark (warm ``cost_usd`` in microseconds per call): ``python benchmarks/pricing.py``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import data_snapshot, types

from llm_monitor_sdk import pricing
from llm_monitor_sdk.pricing import PriceBook

USAGE = {"input_tokens": 1_000, "output_tokens": 100}


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count calls to genai-prices' model matching; yields the model refs it was asked for."""
    seen: list[str] = []
    original = data_snapshot.DataSnapshot.find_provider_model

    def counting(self: Any, model_ref: str, *args: Any) -> Any:
        seen.append(model_ref)
        return original(self, model_ref, *args)

    monkeypatch.setattr(data_snapshot.DataSnapshot, "find_provider_model", counting)
    return seen


def test_second_call_does_no_lookup(lookups: list[str]) -> None:
    book = PriceBook()
    first = book.cost_usd("openai", "gpt-4o-2024-08-06", USAGE)
    for _ in range(5):
        assert book.cost_usd("openai", "gpt-4o-2024-08-06", USAGE) == first
    assert book.unit_prices("openai", "gpt-4o-2024-08-06") is not None
    assert lookups == ["gpt-4o-2024-08-06"]
    book.cost_usd("anthropic", "claude-sonnet-4-5", USAGE)
    assert lookups == ["gpt-4o-2024-08-06", "claude-sonnet-4-5"]


def test_misses_are_cached_too(lookups: list[str]) -> None:
    book = PriceBook()
    for _ in range(3):
        assert book.cost_usd("openai", "not-a-model", USAGE) is None
    assert lookups == ["not-a-model"]


def test_racing_threads_look_up_once(lookups: list[str]) -> None:
    book = PriceBook()
    barrier = threading.Barrier(8)
    results: list[float | None] = []

    def worker() -> None:
        barrier.wait()
        results.append(book.cost_usd("gcp.gemini", "gemini-2.5-flash", USAGE))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lookups == ["gemini-2.5-flash"]
    assert len(set(results)) == 1 and results[0] is not None


class _FakeSnapshot:
    """Stands in for genai-prices' snapshot with one model whose price drops on a future date."""

    def __init__(self, change: date) -> None:
        self.calls = 0
        self.model = types.ModelInfo(
            id="price-cut",
            match=types.ClauseEquals(equals="price-cut"),
            prices=[
                types.ConditionalPrice(
                    prices=types.ModelPrice(input_mtok=Decimal(4), output_mtok=Decimal(8))
                ),
                types.ConditionalPrice(
                    constraint=types.StartDateConstraint(start_date=change),
                    prices=types.ModelPrice(input_mtok=Decimal(2), output_mtok=Decimal(4)),
                ),
            ],
        )

    def find_provider_model(self, model_ref: str, *args: Any) -> tuple[None, types.ModelInfo]:
        self.calls += 1
        if model_ref != "price-cut":
            raise LookupError(model_ref)
        return None, self.model


def test_dated_price_change_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeSnapshot(date(2030, 1, 1))
    monkeypatch.setattr(pricing, "_genai_snapshot", lambda: fake)
    now = [datetime(2029, 12, 31, 23, 59, tzinfo=UTC).timestamp()]
    monkeypatch.setattr(pricing, "_clock", lambda: now[0])
    book = PriceBook()
    assert book.cost_usd("openai", "price-cut", USAGE) == pytest.approx((1000 * 4 + 100 * 8) / 1e6)
    assert book.cost_usd("openai", "price-cut", USAGE) == pytest.approx((1000 * 4 + 100 * 8) / 1e6)
    now[0] = datetime(2030, 1, 1, 0, 1, tzinfo=UTC).timestamp()
    assert book.cost_usd("openai", "price-cut", USAGE) == pytest.approx((1000 * 2 + 100 * 4) / 1e6)
    assert book.cost_usd("openai", "price-cut", USAGE) == pytest.approx((1000 * 2 + 100 * 4) / 1e6)
    assert fake.calls == 1  # the model was matched once; only its active price was re-read


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_genai_prices_is_imported_lazily_and_preloads_in_background() -> None:
    out = run_python(
        "import sys\n"
        "import llm_monitor_sdk, llm_monitor_sdk.pricing as p\n"
        "print('genai_prices' in sys.modules)\n"
        "book = p.PriceBook()\n"
        "print('genai_prices' in sys.modules)\n"
        "t = book.preload()\n"
        "print(t.daemon, book.preload() is t)\n"
        "t.join()\n"
        "print('genai_prices' in sys.modules)\n"
        "print(book.cost_usd('openai', 'gpt-5', {'input_tokens': 10000, 'cache_read_input_tokens': 4000,"
        " 'output_tokens': 2000}))\n"
    )
    assert out.splitlines() == ["False", "False", "True True", "True", "0.028"]
