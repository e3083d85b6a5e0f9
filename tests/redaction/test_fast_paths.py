"""The shortcuts inside the built-in detectors, and the accelerator's prefilter, change no result.

Each shortcut (a shape looked up on the class image, a quick rejection of phone candidates, a card
network settled once per candidate, token rules skipped on strings shorter than any token, the IBAN
and SSN gates) is switched off here and the redactor's findings compared, on a seeded corpus of prompts
from the benchmark plus short strings cut out of it (the dates, ids and values that fill metadata and
tool arguments). A shortcut that dropped a match would make the two disagree. Every test runs on the
pure-Python path and with the accelerator (``RedactionConfig(accelerator=...)``).
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, Redactor
from llm_monitor_sdk.redaction import build_redactor as _build
from llm_monitor_sdk.redaction import phone as phone_module
from llm_monitor_sdk.redaction import secrets as secrets_module
from llm_monitor_sdk.redaction._base import ascii_lower
from llm_monitor_sdk.redaction._numeric import image_of, run_profile
from llm_monitor_sdk.redaction.detectors import (
    CreditCardDetector,
    SSNDetector,
    _card_grouping_ok,
    _card_word_before,
)
from llm_monitor_sdk.redaction.engine import _BUILTIN_FACTORIES
from llm_monitor_sdk.redaction.validators import (
    card_issuer_ok,
    card_lengths,
    ean13_ok,
    iban_ok,
    luhn_ok,
    ssn_ok,
)
from ungated_redactor import ungated_redactor

_BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "redaction.py"


_ACCELERATOR = False


@pytest.fixture(autouse=True, params=[False, True], ids=["pure", "accelerated"])
def _both_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs on both paths: ``build_redactor`` below builds the one of the run."""
    monkeypatch.setattr(sys.modules[__name__], "_ACCELERATOR", request.param)


def build_redactor() -> Redactor:
    redactor = _build(RedactionConfig(accelerator=_ACCELERATOR))
    assert redactor.accelerated is _ACCELERATOR
    return redactor


@pytest.fixture(scope="module")
def texts() -> list[str]:
    spec = importlib.util.spec_from_file_location("redaction_benchmark_fast_paths", _BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    corpus = bench.Corpus(seed=11)
    rng = random.Random(11)
    out: list[str] = []
    for _ in range(120):
        text, labels = corpus.document(rng.choice([400, 1500]))
        out.append(text)
        for start, end, _ in labels:
            out.append(text[start:end])  # the bare value, as in a metadata field
            out.append(text[max(0, start - rng.randint(0, 12)) : end + rng.randint(0, 12)])
        for _ in range(8):
            size = rng.randint(3, 60)
            at = rng.randint(0, max(0, len(text) - size))
            out.append(text[at : at + size])
    out += [bench.typical_prompt(corpus) for _ in range(60)]
    return out


def _findings(redactor: Redactor, texts: Iterable[str]) -> list[list[tuple[int, int, str]]]:
    return [redactor.find(text) for text in texts]


def test_the_corpus_exercises_every_entity_type(texts: list[str]) -> None:
    found = {entity for spans in _findings(build_redactor(), texts) for _, _, entity in spans}
    assert found == set(_BUILTIN_FACTORIES)


def test_engine_gates_change_no_result(texts: list[str]) -> None:
    # With the accelerator these are the prefilter's gates: the same comparison with the plain way.
    assert _findings(build_redactor(), texts) == _findings(ungated_redactor(), texts)


def test_the_accelerator_changes_no_result(texts: list[str]) -> None:
    pure = _build(RedactionConfig(accelerator=False))
    fast = _build(RedactionConfig(accelerator=True))
    assert fast.accelerated and not pure.accelerated
    assert _findings(fast, texts) == _findings(pure, texts)


def test_phone_candidate_rejection_changes_no_result(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _findings(build_redactor(), texts)
    monkeypatch.setattr(phone_module, "_may_be_phone", lambda raw, image, start: True)
    assert _findings(build_redactor(), texts) == fast


def test_secret_short_string_shortcut_changes_no_result(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _findings(build_redactor(), texts)
    monkeypatch.setattr(secrets_module, "_SHORTEST_TOKEN", 0)
    assert _findings(build_redactor(), texts) == fast


def test_ssn_image_walk_matches_a_plain_pattern_scan(texts: list[str]) -> None:
    detector = SSNDetector()

    def plain(text: str) -> list[tuple[int, int]]:
        spans = [
            m.span() for m in detector._pattern.finditer(text) if ssn_ok(m.group(1), m.group(3), m.group(4))
        ]
        spans += [(m.start(1), m.end(3)) for m in detector._labeled.finditer(text)
                  if ssn_ok(m.group(1), m.group(2), m.group(3))]  # fmt: skip
        return sorted(spans)

    assert [sorted(detector.find(text)) for text in texts] == [plain(text) for text in texts]


def test_card_search_matches_trying_every_group_prefix(texts: list[str]) -> None:
    # The detector settles the card network once per candidate; the plain way below asks for every
    # prefix of whole groups, longest first, whether it is a card.
    detector = CreditCardDetector()

    def plain(text: str) -> list[tuple[int, int]]:
        spans = []
        for m in detector._candidate.finditer(text):
            groups = [(g.group(), g.end()) for g in re.finditer(r"\d+", m.group())]
            for last in range(len(groups), 0, -1):
                digits = "".join(g for g, _ in groups[:last])
                if len(digits) < 13:
                    break
                if (
                    last == 1
                    and len(digits) == 13
                    and ean13_ok(digits)
                    and not _card_word_before(text, m.start())
                ):
                    break
                if last > 1 and not _card_grouping_ok([len(g) for g, _ in groups[:last]]):
                    continue
                if card_issuer_ok(digits) and luhn_ok(digits):
                    spans.append((m.start(), m.start() + groups[last - 1][1]))
                    break
        return spans

    assert [sorted(detector.find(text)) for text in texts] == [plain(text) for text in texts]


def test_the_shortest_token_of_each_kind_is_still_found() -> None:
    r = build_redactor()
    # 15 characters: the shortest any token rule accepts; shorter strings only hold assignments.
    assert r.redact_text("xoxb-1234567890") == "<SECRET_1>"
    assert r.redact_text("pwd=hunter2") == "pwd=<SECRET_1>"
    assert r.redact_text("x://u:pw@h") == "x://u:<SECRET_1>@h"
    assert r.redact_text("xoxb-12345") == "xoxb-12345"


def test_phone_quick_rejection_keeps_every_accepted_shape() -> None:
    # Every opening phone_shape_ok accepts passes the quick test; a few look-alikes do not.
    accepted = ["(555) 123-4567", "555.123.4567", "1-555-123-4567", "98765 43210", "(11) 91234-5678",
                "11 3456-7890", "5551234567", "919876543210", "+14155552671", "020 7946 0018", "0044 20 7946 0018",
                "+44 (0)20 7946 0018", "1 (0) 555"]  # fmt: skip
    for raw in accepted:
        image = image_of(raw)
        assert phone_module._may_be_phone(raw, image, 0), raw
    for raw in ["123-45-6789", "2024-05-18", "4111 1111 1111 1111", "978-3-16-148410-0", "12 34 56 78"]:
        image = image_of(raw)
        assert not phone_module._may_be_phone(raw, image, 0), raw


def test_card_lengths_per_network() -> None:
    assert card_lengths("4111") == (13, 16, 19)
    assert card_lengths("5500") == (16,)
    assert card_lengths("2221") == (16,)
    assert card_lengths("3782") == (15,)
    assert card_lengths("6011") == (16, 19)
    assert card_lengths("9400") == ()  # a USPS tracking number opens like no card
    assert card_lengths("41") == ()
    assert card_issuer_ok("4111111111111111") and not card_issuer_ok("411111111111111")


def test_iban_check_rejects_what_int_would_accept() -> None:
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("GB82WEST12345698765433")  # wrong check digits
    assert not iban_ok("GB82WEST1234569876543_")  # int() allows "_" between digits
    assert not iban_ok("GB82WEST1234569876543\u0663")  # an Arabic-Indic digit
    assert not iban_ok("gb82west12345698765432")  # lower case: not a country code


def test_label_searches_keep_offsets_after_letters_that_lengthen_when_lowered() -> None:
    # "İ".lower() is two characters: positions found in a plain lower-cased copy would be off by one.
    assert len("İ".lower()) == 2 and ascii_lower("İx SSN") == "İx ssn"
    r = build_redactor()
    assert r.redact_text("İstanbul ssn: 123456789 ok") == "İstanbul ssn: <US_SSN_1> ok"
    text = "İstanbul office, bearer abc123def456ghi789jk please"
    assert r.redact_text(text) == "İstanbul office, bearer <SECRET_1> please"


def test_profile_reads_shapes_off_the_class_image() -> None:
    text = "Order 2024 ref GB82 WEST 1234 5698 7654 32 and 123-45-6789, host 10.1.2.3"
    assert image_of(text)[:10] == b"A    .0000"
    most, dotted, ssn, iban = run_profile(text)
    assert (most, dotted, ssn, iban) == (14, True, True, True)
    assert run_profile("no digits at all, just words") == (0, False, False, False)
    assert run_profile("ISBN 978-3-16-148410-0 only")[2:] == (False, False)


def test_scan_cache_stays_bounded_under_a_flood_of_short_unique_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llm_monitor_sdk.redaction import engine

    monkeypatch.setattr(engine, "_CACHE_MAX_CHARS", 50_000)
    r = build_redactor()
    for i in range(20_000):
        assert r.redact_text(f"id-{i}") == f"id-{i}"
    # Each entry is charged its length plus a fixed overhead, so the count stays far below 20,000.
    assert len(r._cache) <= 50_000 // engine._CACHE_ENTRY_COST
    assert r.redact_text("call 555-123-4567 now") != "call 555-123-4567 now"
