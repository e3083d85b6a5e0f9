"""Offline tiktoken encodings built from the BPE rank files bundled in ``data/``.

tiktoken downloads its rank files on first use, which fails on hosts without internet access. We ship
gzip copies of the two files we need, check them against the sha256 tiktoken itself pins, and build
``tiktoken.Encoding`` objects directly. Nothing touches tiktoken's registry, its cache directory or
``TIKTOKEN_CACHE_DIR``, and nothing is written to disk.

Loading costs roughly 0.1 s (cl100k) and 0.3 s (o200k), so it happens lazily, once per encoding, under a
per-encoding lock: concurrent callers wait for the first loader instead of loading again. ``preload()``
moves that cost onto a daemon thread.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import os
import threading
from importlib.resources import files

import tiktoken

from .. import _forksafe

__all__ = ["ENCODING_NAMES", "get_encoding", "is_loaded", "preload"]

O200K = "o200k_base"
CL100K = "cl100k_base"

#: Encodings bundled with the SDK, in preload order (o200k first: most models use it).
ENCODING_NAMES: tuple[str, ...] = (O200K, CL100K)

# Hashes of the decompressed files; identical to the ones tiktoken_ext/openai_public.py pins upstream.
_SHA256 = {
    CL100K: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    O200K: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

_SPECIAL_TOKENS = {
    CL100K: {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    O200K: {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}

# Pre-tokenization patterns, equal to tiktoken's own (a test compares them).
_PATTERNS = {
    CL100K: (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
    O200K: "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
}

_log = logging.getLogger("llm_monitor_sdk.tokens")

_loaded: dict[str, tiktoken.Encoding] = {}
_locks = {name: threading.Lock() for name in ENCODING_NAMES}
_preload_lock = threading.Lock()
_preload_thread: threading.Thread | None = None
_preload_started = False


def _read_ranks(name: str) -> dict[bytes, int]:
    """Decompress and verify one bundled rank file and parse it into ``{token bytes: rank}``."""
    raw = gzip.decompress((files(__package__) / "data" / f"{name}.tiktoken.gz").read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != _SHA256[name]:
        # A corrupt install must not silently produce wrong counts.
        raise RuntimeError(f"bundled tokenizer file {name} is corrupt (sha256 {digest})")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _build(name: str) -> tiktoken.Encoding:
    """Build the ``tiktoken.Encoding`` for ``name`` from the bundled file (no registry, no download)."""
    return tiktoken.Encoding(
        name=name,
        pat_str=_PATTERNS[name],
        mergeable_ranks=_read_ranks(name),
        special_tokens=_SPECIAL_TOKENS[name],
    )


def get_encoding(name: str) -> tiktoken.Encoding:
    """Return the bundled encoding ``name`` (``o200k_base`` or ``cl100k_base``), loading it once.

    Thread-safe: concurrent first calls block on a per-encoding lock and only one of them loads.
    Raises ``KeyError`` for an encoding that is not bundled.
    """
    enc = _loaded.get(name)
    if enc is not None:
        return enc
    # A fork waits for a load in progress: the child never inherits a held lock or half a table.
    with _forksafe.critical(), _locks[name]:
        enc = _loaded.get(name)
        if enc is None:
            enc = _loaded[name] = _build(name)
        return enc


def _load_all() -> None:
    for name in ENCODING_NAMES:
        get_encoding(name)


def _load_all_logged() -> None:
    # An exception on a daemon thread would only reach stderr; log it and let a later count retry and raise.
    try:
        _load_all()
    except Exception:
        _log.exception("llm-monitor: preloading the bundled tokenizers failed")


def preload(background: bool = True) -> threading.Thread | None:
    """Start loading every bundled encoding so later counts do not pay the ~0.4 s load.

    With ``background=True`` (the default) the work runs on a daemon thread, which is returned; callers
    that count before it finishes simply wait for the encoding they need. With ``background=False`` the
    encodings are loaded on the calling thread before returning ``None``. Idempotent: a second call
    returns the thread already started (or ``None`` once everything is loaded).
    """
    global _preload_thread, _preload_started
    if is_loaded():
        return None
    if not background:
        _load_all()
        return None
    with _preload_lock:
        if not _preload_started:
            _preload_started = True
            _preload_thread = threading.Thread(
                target=_load_all_logged, name="llm-monitor-tokens-preload", daemon=True
            )
            _preload_thread.start()
        return _preload_thread


def _after_fork_in_child() -> None:
    # The preload thread does not exist in the child; fresh locks, and a preload may start again.
    global _locks, _preload_lock, _preload_thread, _preload_started
    _locks = {name: threading.Lock() for name in ENCODING_NAMES}
    _preload_lock = threading.Lock()
    if _preload_thread is not None and not is_loaded():
        _preload_thread = None
        _preload_started = False


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def is_loaded() -> bool:
    """True once every bundled encoding is in memory (counting will not wait for a load)."""
    return len(_loaded) == len(ENCODING_NAMES)
