"""Micro-benchmark: load times of the tokenizers and genai-prices, and warm cost per call.

Run: ``python benchmarks/pricing.py``. Prints microseconds per ``PriceBook.cost_usd`` / ``unit_prices`` call
after warm-up, next to genai-prices' own ``calc_price`` for the same usage, plus one-off load times.
"""

from __future__ import annotations

import time
import timeit


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    started = time.perf_counter()
    from llm_monitor_sdk import tokens
    from llm_monitor_sdk.pricing import PriceBook

    print(f"import tokens + pricing: {_ms(time.perf_counter() - started)}")

    for name in tokens.ENCODING_NAMES:
        started = time.perf_counter()
        tokens.get_encoding(name)
        print(f"load {name}: {_ms(time.perf_counter() - started)}")

    book = PriceBook()
    started = time.perf_counter()
    book.preload(background=False)
    print(f"import + load genai-prices: {_ms(time.perf_counter() - started)}")

    usage = {
        "input_tokens": 10_000,
        "output_tokens": 500,
        "cache_read_input_tokens": 2_000,
        "cache_write_input_tokens": 3_000,
        "reasoning_output_tokens": 0,
    }
    cases = [
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("openai", "gpt-4o-2024-08-06"),
        ("gcp.gemini", "gemini-2.5-pro"),
    ]
    for provider, model in cases:
        started = time.perf_counter()
        book.cost_usd(provider, model, usage)
        first = time.perf_counter() - started
        number = 200_000
        per_call = (
            timeit.timeit(lambda p=provider, m=model: book.cost_usd(p, m, usage), number=number) / number
        )
        unit = timeit.timeit(lambda p=provider, m=model: book.unit_prices(p, m), number=number) / number
        print(
            f"{provider}/{model}: first cost_usd {first * 1e6:.0f} us, "
            f"warm cost_usd {per_call * 1e6:.2f} us/call, "
            f"unit_prices {unit * 1e6:.2f} us/call"
        )

    from genai_prices import Usage, calc_price

    genai_usage = Usage(
        input_tokens=10_000, output_tokens=500, cache_read_tokens=2_000, cache_write_tokens=3_000
    )
    number = 5_000
    reference = (
        timeit.timeit(
            lambda: calc_price(genai_usage, model_ref="claude-sonnet-4-5-20250929", provider_id="anthropic"),
            number=number,
        )
        / number
    )
    print(f"genai_prices.calc_price for comparison: {reference * 1e6:.1f} us/call")


if __name__ == "__main__":
    main()
