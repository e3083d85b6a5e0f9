"""LLM_MONITOR_PRICES_FILE: overrides win over bundled prices; malformed files raise a clear ValueError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_monitor_sdk.pricing import PriceBook, load_prices_file

USAGE = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_valid_file_prices_new_and_overrides_bundled(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "models": [
                {
                    "provider": "openai",
                    "model": "my-ft-model",
                    "input_per_mtok": 1.0,
                    "output_per_mtok": 2.0,
                    "cache_read_per_mtok": 0.5,
                    "cache_write_per_mtok": 1.25,
                },
                {"provider": "openai", "model": "GPT-4o", "input_per_mtok": 100, "output_per_mtok": 200},
            ]
        },
    )
    book = PriceBook(str(path))
    assert book.cost_usd("openai", "my-ft-model", USAGE) == pytest.approx(3.0)
    usage = {
        "input_tokens": 1_000_000,
        "cache_read_input_tokens": 200_000,
        "cache_write_input_tokens": 400_000,
    }
    assert book.cost_usd("openai", "my-ft-model", usage) == pytest.approx(0.4 + 0.1 + 0.5)
    assert book.cost_usd("openai", "gpt-4o", USAGE) == pytest.approx(300.0)  # case-insensitive, beats bundled
    assert book.cost_usd("anthropic", "my-ft-model", USAGE) is None  # provider given: only that provider
    assert book.cost_usd("openai", "gpt-5", USAGE) == pytest.approx(11.25)  # bundled prices still apply


def test_prefix_and_provider_wildcard(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "models": [
                {"model": "ft:", "match": "prefix", "input_per_mtok": 1, "output_per_mtok": 1},
                {"model": "ft:gpt-4o", "match": "prefix", "input_per_mtok": 5, "output_per_mtok": 5},
                {"model": "ft:gpt-4o:acme:exact", "input_per_mtok": 9, "output_per_mtok": 9},
            ]
        },
    )
    book = PriceBook(path)
    assert book.cost_usd("openai", "ft:gpt-4o:acme:exact", USAGE) == pytest.approx(18.0)  # exact beats prefix
    assert book.cost_usd("openai", "ft:gpt-4o:acme:xyz", USAGE) == pytest.approx(10.0)  # longest prefix
    assert book.cost_usd("azure.ai.openai", "ft:other", USAGE) == pytest.approx(2.0)  # no provider: any
    prices = book.unit_prices("openai", "ft:other")
    assert prices is not None and prices.cache_read == prices.input == pytest.approx(1e-6)


def test_empty_model_list_is_valid(tmp_path: Path) -> None:
    assert load_prices_file(write(tmp_path, {"models": []})) == ()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ([], "expected an object"),
        ({"model": []}, "expected an object"),
        ({"models": {}}, "expected an object"),
        ({"models": ["gpt-4o"]}, r"models\[0\] must be an object"),
        (
            {"models": [{"input_per_mtok": 1, "output_per_mtok": 1}]},
            r"models\[0\]\.model must be a non-empty",
        ),
        ({"models": [{"model": "m", "output_per_mtok": 1}]}, r"models\[0\]\.input_per_mtok is required"),
        (
            {"models": [{"model": "m", "input_per_mtok": "1.0", "output_per_mtok": 1}]},
            "must be a non-negative number",
        ),
        (
            {"models": [{"model": "m", "input_per_mtok": -1, "output_per_mtok": 1}]},
            "must be a non-negative number",
        ),
        (
            {"models": [{"model": "m", "input_per_mtok": True, "output_per_mtok": 1}]},
            "must be a non-negative number",
        ),
        (
            {
                "models": [
                    {"model": "m", "input_per_mtok": 1, "output_per_mtok": 1, "cache_read_per_mtok": None}
                ]
            },
            r"cache_read_per_mtok must be a non-negative number",
        ),
        (
            {"models": [{"model": "m", "input_per_mtok": 1, "output_per_mtok": 1, "input_per_1k": 1}]},
            "unknown keys",
        ),
        (
            {"models": [{"model": "m", "provider": 3, "input_per_mtok": 1, "output_per_mtok": 1}]},
            "provider must be",
        ),
        (
            {"models": [{"model": "m", "match": "glob", "input_per_mtok": 1, "output_per_mtok": 1}]},
            "match must be",
        ),
    ],
)
def test_malformed_file_raises_value_error_naming_the_variable(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValueError, match=problem) as excinfo:
        PriceBook(str(path))
    assert "LLM_MONITOR_PRICES_FILE" in str(excinfo.value)
    assert str(path) in str(excinfo.value)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"LLM_MONITOR_PRICES_FILE .*cannot read file"):
        PriceBook(str(tmp_path / "absent.json"))
