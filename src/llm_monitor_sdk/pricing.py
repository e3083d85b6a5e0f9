"""USD cost of a call from its token usage.

Prices come from the ``genai-prices`` package (bundled data, no network) and can be overridden per model
with a JSON file (``LLM_MONITOR_PRICES_FILE``, schema in ``docs/tokens-and-pricing.md``). An unknown model
costs ``None``, never 0, and is logged once per ``(provider, model)``.

Speed: genai-prices takes ~0.3 s to import and ~100 us per ``calc_price``. ``PriceBook`` imports it lazily
(or on a daemon thread via ``preload``), matches each ``(provider, model)`` once, and keeps the resolved
per-token prices (tiers included) as plain floats, so a warm ``cost_usd`` is a dict lookup and a few
multiplications. Prices that change on a known date are re-resolved when that date arrives.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from . import _forksafe

__all__ = ["PRICES_FILE_ENV", "PROVIDER_IDS", "PriceBook", "PriceOverride", "UnitPrices", "load_prices_file"]

_log = logging.getLogger("llm_monitor_sdk.pricing")

#: Environment variable naming the user's price override file (read by the settings layer).
PRICES_FILE_ENV = "LLM_MONITOR_PRICES_FILE"

#: Record ``provider`` values -> genai-prices provider ids. Other values are passed to genai-prices as given.
PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "azure.ai.openai": "azure",  # genai-prices falls back to OpenAI's (and Anthropic's) models for Azure
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",  # includes Claude on Vertex through genai-prices' fallback
    "aws.bedrock": "aws",
}
_GOOGLE_IDS = frozenset({"google"})

_MTOK = 1_000_000
_ALWAYS = math.inf
# Epoch-seconds clock; a module attribute so tests can move time forward past a price change.
_clock = time.time


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """USD per token for one model, as floats.

    ``input`` applies to uncached input tokens, ``cache_read``/``cache_write`` to cached ones (a model without
    a separate cache price charges them at ``input``), ``output`` to output tokens including reasoning.
    ``tiers`` holds ``(threshold, prices)`` pairs in ascending order: when a call's total input tokens
    exceed ``threshold`` those prices apply to the whole call (the providers' "cliff" tiers, e.g.
    gemini-2.5-pro above 200k input tokens).
    """

    input: float
    output: float
    cache_read: float
    cache_write: float
    tiers: tuple[tuple[int, UnitPrices], ...] = ()

    def at(self, input_tokens: float) -> UnitPrices:
        """The flat prices that apply to a call with ``input_tokens`` total input tokens."""
        for threshold, prices in reversed(self.tiers):
            if input_tokens > threshold:
                return prices
        return self

    def cost(
        self,
        input_tokens: float,
        output_tokens: float,
        cache_read_input_tokens: float = 0,
        cache_write_input_tokens: float = 0,
    ) -> float:
        """USD cost, rounded to 10 decimals; ``input_tokens`` is the total including both cache counts.

        Raises ``ValueError`` when the cache counts exceed ``input_tokens`` (inconsistent usage).
        """
        uncached = input_tokens - cache_read_input_tokens - cache_write_input_tokens
        if uncached < 0 or output_tokens < 0 or cache_read_input_tokens < 0 or cache_write_input_tokens < 0:
            raise ValueError("token counts are negative or cache counts exceed input_tokens")
        p = self.at(input_tokens) if self.tiers else self
        return round(
            uncached * p.input
            + output_tokens * p.output
            + cache_read_input_tokens * p.cache_read
            + cache_write_input_tokens * p.cache_write,
            10,
        )


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """One entry of the prices file: ``model`` matched exactly or as a prefix, for one provider or all."""

    provider: str | None
    model: str
    prefix: bool
    prices: UnitPrices

    def matches(self, provider: str, model: str) -> bool:
        """True when this entry prices ``model`` (lower-cased) of ``provider``."""
        if self.provider is not None and self.provider != provider:
            return False
        return model.startswith(self.model) if self.prefix else model == self.model


_ENTRY_KEYS = frozenset(
    {
        "provider",
        "model",
        "match",
        "input_per_mtok",
        "output_per_mtok",
        "cache_read_per_mtok",
        "cache_write_per_mtok",
    }
)


def _number(where: str, key: str, value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{PRICES_FILE_ENV} ({path}): {where}.{key} must be a non-negative number, got {value!r}"
        )
    return float(value)


def _parse_entry(index: int, raw: Any, path: str) -> PriceOverride:
    where = f"models[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{PRICES_FILE_ENV} ({path}): {where} must be an object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise ValueError(f"{PRICES_FILE_ENV} ({path}): {where} has unknown keys {unknown}")
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ValueError(
            f"{PRICES_FILE_ENV} ({path}): {where}.model must be a non-empty string, got {model!r}"
        )
    provider = raw.get("provider")
    if provider is not None and (not isinstance(provider, str) or not provider.strip()):
        raise ValueError(
            f"{PRICES_FILE_ENV} ({path}): {where}.provider must be a non-empty string, got {provider!r}"
        )
    match = raw.get("match", "exact")
    if match not in ("exact", "prefix"):
        raise ValueError(
            f"{PRICES_FILE_ENV} ({path}): {where}.match must be 'exact' or 'prefix', got {match!r}"
        )
    for required in ("input_per_mtok", "output_per_mtok"):
        if required not in raw:
            raise ValueError(f"{PRICES_FILE_ENV} ({path}): {where}.{required} is required")
    per_mtok = {
        key: _number(where, key, raw[key], path)
        for key in _ENTRY_KEYS
        if key.endswith("_per_mtok") and key in raw
    }
    inp = per_mtok["input_per_mtok"]
    return PriceOverride(
        provider=provider.strip().lower() if provider else None,
        model=model.strip().lower(),
        prefix=match == "prefix",
        prices=UnitPrices(
            input=inp / _MTOK,
            output=per_mtok["output_per_mtok"] / _MTOK,
            cache_read=per_mtok.get("cache_read_per_mtok", inp) / _MTOK,
            cache_write=per_mtok.get("cache_write_per_mtok", inp) / _MTOK,
        ),
    )


def load_prices_file(path: str | os.PathLike[str]) -> tuple[PriceOverride, ...]:
    """Read and validate a prices file.

    Raises ``ValueError`` naming ``LLM_MONITOR_PRICES_FILE``, the path and the problem.

    Entries come back most specific first: exact matches, then prefixes from longest to shortest; within
    each, provider-specific entries before provider-less ones.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ValueError(f"{PRICES_FILE_ENV} ({path}): cannot read file: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{PRICES_FILE_ENV} ({path}): not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"models"} or not isinstance(data["models"], list):
        raise ValueError(
            f'{PRICES_FILE_ENV} ({path}): expected an object {{"models": [...]}} and nothing else'
        )
    entries = [_parse_entry(i, raw, path) for i, raw in enumerate(data["models"])]
    return tuple(
        sorted(entries, key=lambda e: (e.prefix, -len(e.model) if e.prefix else 0, e.provider is None))
    )


# --- genai-prices adapter -------------------------------------------------------------------------------


def _genai_snapshot() -> Any:
    # Imported here, not at module level: genai-prices takes ~0.3 s to import. A fork waits for
    # the import to finish (a child must not inherit a half-imported module: its import would hang).
    with _forksafe.critical():
        from genai_prices import data_snapshot

        return data_snapshot.get_snapshot()


def _per_token(value: Any) -> float:
    return float(value) / _MTOK


def _price_at(value: Any, threshold: int | None) -> float | None:
    """Per-token price of one genai-prices value (Decimal or TieredPrices) above ``threshold``."""
    if value is None:
        return None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return _per_token(value)
    chosen = value.base
    if threshold is not None:
        for tier in tiers:  # ascending; a total above `threshold` is above every start <= threshold
            if tier.start <= threshold:
                chosen = tier.price
    return _per_token(chosen)


def _flat(model_price: Any, threshold: int | None) -> UnitPrices | None:
    inp = _price_at(model_price.input_mtok, threshold)
    out = _price_at(model_price.output_mtok, threshold)
    if inp is None and out is None:
        return None  # not priced per token (images, audio seconds, ...)
    inp = inp or 0.0
    cache_read = _price_at(model_price.cache_read_mtok, threshold)
    cache_write = _price_at(model_price.cache_write_mtok, threshold)
    # Without a cache price genai-prices leaves those tokens inside input: charge them at the input rate.
    return UnitPrices(
        input=inp,
        output=out or 0.0,
        cache_read=inp if cache_read is None else cache_read,
        cache_write=inp if cache_write is None else cache_write,
    )


def unit_prices_from_genai(model_price: Any) -> UnitPrices | None:
    """Convert a genai-prices ``ModelPrice`` to ``UnitPrices`` (tiers included); None if not per token."""
    base = _flat(model_price, None)
    if base is None:
        return None
    starts: set[int] = set()
    for key in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"):
        starts.update(tier.start for tier in getattr(getattr(model_price, key), "tiers", None) or ())
    tiers = tuple(
        (start, prices) for start in sorted(starts) if (prices := _flat(model_price, start)) is not None
    )
    return UnitPrices(base.input, base.output, base.cache_read, base.cache_write, tiers)


def _valid_until(model_info: Any, now: datetime) -> float:
    """Epoch second until which ``model_info``'s active price stays the same."""
    prices = model_info.prices
    if not isinstance(prices, list):
        return _ALWAYS
    until = _ALWAYS
    today = now.date()
    for conditional in prices:
        constraint = conditional.constraint
        start = getattr(constraint, "start_date", None)
        if isinstance(start, date):
            if start > today:
                until = min(until, datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        elif constraint is not None:
            return 0.0  # time-of-day prices (off-peak): resolve on every call, still exact
    return until


@dataclass(slots=True)
class _Resolved:
    prices: UnitPrices | None
    valid_until: float = _ALWAYS
    model_info: Any = None


# --- the book ---------------------------------------------------------------------------------------------


class PriceBook:
    """Per-model prices with a cache: ``cost_usd`` for records, ``unit_prices`` for budget estimates.

    ``prices_file`` (the value of ``LLM_MONITOR_PRICES_FILE``) is read and validated here, so a bad file
    raises ``ValueError`` at ``instrument()`` time; its entries win over the bundled prices. The book does
    not read the environment itself. Thread-safe; lookups after the first per ``(provider, model)`` take no
    lock.
    """

    def __init__(self, prices_file: str | os.PathLike[str] | None = None) -> None:
        self.overrides: tuple[PriceOverride, ...] = load_prices_file(prices_file) if prices_file else ()
        self._cache: dict[tuple[str, str | None], _Resolved] = {}
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str | None]] = set()
        self._preload_thread: threading.Thread | None = None
        _forksafe.after_fork(self, PriceBook._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._preload_thread = None

    def preload(self, background: bool = True) -> threading.Thread | None:
        """Import genai-prices and load its data now, on a daemon thread unless ``background`` is False.

        Idempotent; returns the thread when one was started (or is still the one loading).
        """
        if not background:
            _genai_snapshot()
            return None
        with self._lock:
            if self._preload_thread is None:
                self._preload_thread = threading.Thread(
                    target=self._preload_logged, name="llm-monitor-prices-preload", daemon=True
                )
                self._preload_thread.start()
            return self._preload_thread

    @staticmethod
    def _preload_logged() -> None:
        try:
            _genai_snapshot()
        except Exception:
            _log.exception("llm-monitor: loading genai-prices failed; costs will be null")

    def unit_prices(self, provider: str, model: str | None) -> UnitPrices | None:
        """Per-token USD prices of ``model`` on ``provider`` (record provider names), or None if unknown.

        O(1) after the first call per pair. The first call for a bundled model imports genai-prices if
        ``preload`` has not, so call ``preload`` at start-up before using this on a caller's thread.
        """
        entry = self._cache.get((provider, model))
        if entry is None or entry.valid_until <= _clock():
            entry = self._resolve(provider, model)
        return entry.prices

    def cost_usd(self, provider: str, model: str | None, usage: dict[str, Any] | None) -> float | None:
        """USD cost of one call from a record's ``usage`` dict, or None when the model has no known price.

        ``input_tokens`` is the total including ``cache_read_input_tokens`` and ``cache_write_input_tokens``;
        ``output_tokens`` includes reasoning. Missing counts are 0. Never raises: inconsistent usage
        (cache counts above the input total, non-numbers) also gives None, logged once per model.
        """
        prices = self.unit_prices(provider, model)
        if prices is None or not usage:
            return None
        try:
            return prices.cost(
                usage.get("input_tokens") or 0,
                usage.get("output_tokens") or 0,
                usage.get("cache_read_input_tokens") or 0,
                usage.get("cache_write_input_tokens") or 0,
            )
        except (TypeError, ValueError) as exc:
            self._warn_once(
                (provider, model), "cannot price usage %r for model %r of %r: %s", usage, model, provider, exc
            )
            return None

    def priced_model(self, provider: str, *models: str | None) -> tuple[str | None, UnitPrices | None]:
        """The first of ``models`` (e.g. the response model, then the request model) that has a
        price, with its prices; ``(None, None)`` when none has (logged once per model tried)."""
        tried = [model for model in models if model]
        for model in tried:
            entry = self._cache.get((provider, model))
            if entry is None or entry.valid_until <= _clock():
                entry = self._resolve(provider, model, quiet=True)
            if entry.prices is not None:
                return model, entry.prices
        for model in tried:
            self._resolve(provider, model)  # cached: only logs the "no price" warning once
        return None, None

    def cost_for(
        self, provider: str, models: tuple[str | None, ...], usage: dict[str, Any] | None
    ) -> tuple[str | None, float | None]:
        """``(priced_model, cost_usd)``: the cost priced by the first of ``models`` with a known price."""
        model, _prices = self.priced_model(provider, *models)
        if model is None or not usage:
            return model, None
        return model, self.cost_usd(provider, model, usage)

    def _resolve(self, provider: str, model: str | None, *, quiet: bool = False) -> _Resolved:
        key = (provider, model)
        with self._lock:
            entry = self._cache.get(key)
            if entry is None or entry.valid_until <= _clock():
                entry = self._lookup(provider, model, entry)
                self._cache[key] = entry
        if entry.prices is None and not quiet:
            self._warn_once(
                key,
                "llm-monitor: no price for model %r of provider %r; cost_usd will be null "
                "(add it to %s to price it)",
                model,
                provider,
                PRICES_FILE_ENV,
            )
        return entry

    def _lookup(self, provider: str, model: str | None, stale: _Resolved | None) -> _Resolved:
        if not model:
            return _Resolved(None)
        lowered_provider, lowered_model = provider.lower(), model.strip().lower()
        for override in self.overrides:
            if override.matches(lowered_provider, lowered_model):
                return _Resolved(override.prices)
        now = datetime.fromtimestamp(_clock(), tz=UTC)
        try:
            model_info = stale.model_info if stale is not None and stale.model_info is not None else None
            if model_info is None:
                model_info = self._find_model(lowered_provider, lowered_model)
            if model_info is None:
                return _Resolved(None)
            prices = unit_prices_from_genai(model_info.get_prices(now))
            return _Resolved(prices, _valid_until(model_info, now), model_info)
        except Exception:
            # A pricing-data bug must not break the pipeline: log it and leave the cost null.
            _log.exception("llm-monitor: pricing lookup failed for model %r of %r", model, provider)
            return _Resolved(None)

    @staticmethod
    def _find_model(provider: str, model: str) -> Any:
        provider_id = PROVIDER_IDS.get(provider, provider)
        if provider_id in _GOOGLE_IDS and "/" in model:
            model = model.rsplit("/", 1)[1]  # "models/gemini-2.5-pro", "publishers/google/models/..."
        try:
            _, model_info = _genai_snapshot().find_provider_model(model, None, provider_id, None)
        except LookupError:
            return None
        return model_info

    def _warn_once(self, key: tuple[str, str | None], message: str, *args: Any) -> None:
        if key in self._warned:
            return
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        _log.warning(message, *args)
