"""cost_usd against hand-computed list prices: tiers, cache pricing, unknown models, genai-prices parity."""

from __future__ import annotations

import logging

import pytest
from genai_prices import Usage, data_snapshot, types

from llm_monitor_sdk.pricing import PriceBook, UnitPrices, unit_prices_from_genai


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def mtok(*terms: tuple[int, float]) -> float:
    """Sum of tokens x USD-per-million-tokens."""
    return sum(tokens * price for tokens, price in terms) / 1_000_000


# List prices (USD per million tokens) used below, from the providers' pricing pages:
# gpt-4o 2.50 in / 1.25 cached / 10 out; gpt-5 1.25 / 0.125 / 10; claude-sonnet-4-5 3 in / 0.30 cache read /
# 3.75 cache write (5 min) / 15 out; gemini-2.5-flash 0.30 / 0.03 / 2.50;
# gemini-2.5-pro 1.25 / 0.125 / 10 up to 200k input tokens, 2.50 / 0.25 / 15 above.
@pytest.mark.parametrize(
    ("provider", "model", "usage", "expected"),
    [
        (
            "openai",
            "gpt-4o",
            {"input_tokens": 1000, "cache_read_input_tokens": 200, "output_tokens": 100},
            mtok((800, 2.5), (200, 1.25), (100, 10)),
        ),
        (
            "openai",
            "gpt-4o-2024-08-06",
            {"input_tokens": 1000, "output_tokens": 100},
            mtok((1000, 2.5), (100, 10)),
        ),
        (
            "azure.ai.openai",
            "gpt-4o",
            {"input_tokens": 1000, "output_tokens": 100},
            mtok((1000, 2.5), (100, 10)),
        ),
        (
            "openai",
            "gpt-5",
            {"input_tokens": 10_000, "cache_read_input_tokens": 4_000, "output_tokens": 2_000},
            0.028,
        ),
        (
            "anthropic",
            "claude-sonnet-4-5-20250929",
            {
                "input_tokens": 10_000,
                "cache_read_input_tokens": 2_000,
                "cache_write_input_tokens": 3_000,
                "output_tokens": 500,
            },
            mtok((5_000, 3), (2_000, 0.3), (3_000, 3.75), (500, 15)),  # 0.03435
        ),
        (
            "anthropic",
            "claude-sonnet-4-5",
            {"input_tokens": 200_000, "output_tokens": 0},
            0.6,
        ),
        (
            "anthropic",
            "claude-sonnet-4-5",
            {"input_tokens": 1_000_000, "output_tokens": 1_000},  # long-context tier: 6 in / 22.50 out
            mtok((1_000_000, 6), (1_000, 22.5)),
        ),
        (
            "gcp.gemini",
            "gemini-2.5-flash",
            {"input_tokens": 10_000, "cache_read_input_tokens": 1_000, "output_tokens": 1_000},
            mtok((9_000, 0.3), (1_000, 0.03), (1_000, 2.5)),
        ),
        (
            "gcp.vertex_ai",
            "models/gemini-2.5-flash",
            {"input_tokens": 10_000, "output_tokens": 1_000},
            mtok((10_000, 0.3), (1_000, 2.5)),
        ),
        (
            "gcp.gemini",
            "gemini-2.5-pro",
            {"input_tokens": 200_000, "output_tokens": 1_000},  # exactly at the threshold: base tier
            mtok((200_000, 1.25), (1_000, 10)),
        ),
        (
            "gcp.gemini",
            "gemini-2.5-pro",
            {"input_tokens": 300_000, "output_tokens": 1_000},  # above: every token at the higher tier
            0.765,
        ),
        (
            "gcp.gemini",
            "gemini-2.5-pro",
            {"input_tokens": 300_000, "cache_read_input_tokens": 100_000, "output_tokens": 1_000},
            mtok((200_000, 2.5), (100_000, 0.25), (1_000, 15)),
        ),
    ],
)
def test_list_prices(book: PriceBook, provider: str, model: str, usage: dict, expected: float) -> None:
    cost = book.cost_usd(provider, model, usage)
    assert isinstance(cost, float)
    assert cost == pytest.approx(expected, abs=1e-10)


def test_reasoning_is_inside_output(book: PriceBook) -> None:
    plain = {"input_tokens": 100, "output_tokens": 1_000}
    with_reasoning = {**plain, "reasoning_output_tokens": 800, "total_tokens": 1_100, "source": "provider"}
    assert book.cost_usd("openai", "gpt-5", with_reasoning) == book.cost_usd("openai", "gpt-5", plain)


def test_missing_and_none_counts_are_zero(book: PriceBook) -> None:
    usage = {"input_tokens": 1000, "output_tokens": None, "cache_read_input_tokens": None}
    assert book.cost_usd("openai", "gpt-4o", usage) == pytest.approx(mtok((1000, 2.5)))


def test_unit_prices_are_per_token(book: PriceBook) -> None:
    prices = book.unit_prices("anthropic", "claude-sonnet-4-5-20250929")
    assert prices is not None
    assert (prices.input, prices.output, prices.cache_read, prices.cache_write) == pytest.approx(
        (3e-6, 15e-6, 0.3e-6, 3.75e-6)
    )
    pro = book.unit_prices("gcp.gemini", "gemini-2.5-pro")
    assert pro is not None
    assert pro.at(200_000).input == pytest.approx(1.25e-6)
    assert pro.at(200_001).input == pytest.approx(2.5e-6)
    assert pro.at(200_001).output == pytest.approx(15e-6)
    assert pro.cost(300_000, 1_000) == pytest.approx(0.765)


def test_no_cache_price_charges_cache_at_input_rate() -> None:
    prices = UnitPrices(input=2e-6, output=4e-6, cache_read=2e-6, cache_write=2e-6)
    assert prices.cost(1000, 0, 400, 100) == pytest.approx(0.002)


def test_unknown_model_is_none_and_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    book = PriceBook()
    usage = {"input_tokens": 10, "output_tokens": 10}
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk.pricing"):
        assert book.cost_usd("openai", "my-private-finetune", usage) is None
        assert book.cost_usd("openai", "my-private-finetune", usage) is None
        assert book.unit_prices("openai", "my-private-finetune") is None
        assert book.cost_usd("openai", None, usage) is None
        assert book.cost_usd("openai", None, usage) is None
        assert book.cost_usd("no-such-provider", "gpt-4o", usage) is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3
    assert "'my-private-finetune'" in warnings[0] and "LLM_MONITOR_PRICES_FILE" in warnings[0]


def test_bad_usage_gives_none_not_an_exception(book: PriceBook) -> None:
    assert book.cost_usd("openai", "gpt-4o", None) is None
    assert book.cost_usd("openai", "gpt-4o", {}) is None
    assert book.cost_usd("openai", "gpt-4o", {"input_tokens": 10, "cache_read_input_tokens": 50}) is None
    assert book.cost_usd("openai", "gpt-4o", {"input_tokens": "ten"}) is None


def _all_model_prices() -> list[tuple[str, str, types.ModelPrice]]:
    snapshot = data_snapshot.get_snapshot()
    out = []
    for provider in snapshot.providers:
        if provider.id not in ("openai", "anthropic", "google", "azure"):
            continue
        for model in provider.models:
            prices = (
                [model.prices]
                if isinstance(model.prices, types.ModelPrice)
                else [c.prices for c in model.prices]
            )
            out.extend((provider.id, model.id, price) for price in prices)
    return out


USAGES = [
    {"input_tokens": 1_000, "output_tokens": 100},
    {
        "input_tokens": 10_000,
        "cache_read_input_tokens": 2_000,
        "cache_write_input_tokens": 3_000,
        "output_tokens": 500,
    },
    {"input_tokens": 300_000, "cache_read_input_tokens": 50_000, "output_tokens": 9_000},
    {"input_tokens": 1_500_000, "output_tokens": 7},
]


def test_fast_path_matches_genai_prices_for_every_bundled_model() -> None:
    """Our float fast path equals genai-prices' own calculation for every model and price period we map."""
    checked = 0
    for provider_id, model_id, model_price in _all_model_prices():
        ours = unit_prices_from_genai(model_price)
        for usage in USAGES:
            reference = model_price.calc_price(
                Usage(
                    input_tokens=usage["input_tokens"],
                    output_tokens=usage["output_tokens"],
                    cache_read_tokens=usage.get("cache_read_input_tokens"),
                    cache_write_tokens=usage.get("cache_write_input_tokens"),
                )
            )["total_price"]
            if ours is None:
                assert reference == 0, (provider_id, model_id)  # only models not priced per token
                continue
            cost = ours.cost(
                usage["input_tokens"],
                usage["output_tokens"],
                usage.get("cache_read_input_tokens", 0),
                usage.get("cache_write_input_tokens", 0),
            )
            assert cost == pytest.approx(float(reference), abs=1e-9), (provider_id, model_id, usage)
            checked += 1
    assert checked > 800
