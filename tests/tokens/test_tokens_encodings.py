"""Loading the bundled BPE files: exact ids, parity with tiktoken's definitions, integrity, thread safety."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public

from llm_monitor_sdk import tokens
from llm_monitor_sdk.tokens import _encodings


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Empty the encoding cache and preload state for one test; yields the names `_build` was called with."""
    built: list[str] = []
    original = _encodings._build

    def counting_build(name: str) -> tiktoken.Encoding:
        built.append(name)
        return original(name)

    monkeypatch.setattr(_encodings, "_loaded", {})
    monkeypatch.setattr(_encodings, "_preload_started", False)
    monkeypatch.setattr(_encodings, "_preload_thread", None)
    monkeypatch.setattr(_encodings, "_build", counting_build)
    yield built


@pytest.mark.parametrize(
    ("name", "ids"),
    [("cl100k_base", [15339, 1917]), ("o200k_base", [24912, 2375])],
)
def test_hello_world_ids(name: str, ids: list[int]) -> None:
    assert tokens.get_encoding(name).encode("hello world") == ids


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_known_counts_and_round_trip(name: str) -> None:
    enc = tokens.get_encoding(name)
    assert len(enc.encode("tiktoken is great!")) == 6
    text = "Grüße aus Köln — 東京 🚀 def f(x): return x**2"
    assert enc.decode(enc.encode(text)) == text


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_definitions_match_tiktoken(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # tiktoken's constructors would download the ranks; stub that out and compare the rest.
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})
    upstream = getattr(openai_public, name)()
    enc = tokens.get_encoding(name)
    assert enc._pat_str == upstream["pat_str"]
    assert enc._special_tokens == upstream["special_tokens"]
    assert enc.n_vocab == {"cl100k_base": 100277, "o200k_base": 200019}[name]


def test_loading_sets_no_tiktoken_cache_dir(fresh: list[str]) -> None:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    tokens.get_encoding("cl100k_base")
    assert os.environ.get("TIKTOKEN_CACHE_DIR") == before
    assert fresh == ["cl100k_base"]


def test_unknown_encoding_is_key_error() -> None:
    with pytest.raises(KeyError):
        tokens.get_encoding("p50k_base")


def test_corrupt_file_is_rejected(fresh: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_encodings._SHA256, "cl100k_base", "0" * 64)
    with pytest.raises(RuntimeError, match="cl100k_base is corrupt"):
        tokens.get_encoding("cl100k_base")
    assert not tokens.is_loaded()


def test_racing_threads_load_once(fresh: list[str]) -> None:
    barrier = threading.Barrier(8)
    results: list[tiktoken.Encoding] = []

    def worker() -> None:
        barrier.wait()
        results.append(tokens.get_encoding("cl100k_base"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fresh == ["cl100k_base"]
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_preload_background_is_idempotent(fresh: list[str]) -> None:
    assert not tokens.is_loaded()
    thread = tokens.preload()
    assert thread is not None and thread.daemon and thread is not threading.current_thread()
    assert tokens.preload() is thread  # second call while (or after) loading: same thread, no new load
    thread.join()
    assert tokens.is_loaded()
    assert tokens.preload() is None
    assert sorted(fresh) == ["cl100k_base", "o200k_base"]


def test_preload_foreground(fresh: list[str]) -> None:
    assert tokens.preload(background=False) is None
    assert tokens.is_loaded()
    assert sorted(fresh) == ["cl100k_base", "o200k_base"]


def test_count_during_preload_waits_for_it(fresh: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    original = _encodings._build  # the counting wrapper from `fresh`

    def gated_build(name: str) -> tiktoken.Encoding:
        gate.wait()
        return original(name)

    monkeypatch.setattr(_encodings, "_build", gated_build)
    preloader = tokens.preload()
    counts: list[int] = []
    counter = threading.Thread(
        target=lambda: counts.append(tokens.count_text("hello world", provider="openai", model="gpt-4o"))
    )
    counter.start()
    try:
        counter.join(0.05)
        assert counter.is_alive() and counts == []  # blocked on the preloader's lock, not loading itself
    finally:
        gate.set()
    counter.join()
    assert preloader is not None
    preloader.join()
    assert counts == [2]
    assert sorted(fresh) == ["cl100k_base", "o200k_base"]  # each encoding built exactly once
