"""The accelerator's prefilter: each condition is a superset of what its detector finds, and the
settings that choose the path.

The superset check runs every built-in detector alone (and every ``SECRET`` rule family alone) on a
seeded corpus and on fuzzed strings built from the pieces the detectors react to (digits and
separators, ``+``, ``(0)``, ``@``, ``::``, label words, token prefixes) mixed with non-ASCII letters,
Unicode spaces and lone surrogates; wherever a detector finds something, the prefilter must have
reported that detector's condition. A condition that misses a match would fail here even where the
corpus comparison happens not to contain the case.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, _prefilter, build_redactor, parse_accelerator
from llm_monitor_sdk.redaction.engine import _builtins

_BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "redaction.py"
_FAMILIES = (
    _prefilter.SECRET_DASH,
    _prefilter.SECRET_UNDERSCORE,
    _prefilter.SECRET_AWS,
    _prefilter.SECRET_JWT,
    _prefilter.SECRET_LABEL,
    _prefilter.SECRET_URL,
    _prefilter.SECRET_BEARER,
)
_PIECES = [
    *"0123456789" * 6, *" .-()/" * 3, "+", "+ ", "(0)", "00", "@", "a@b.io", "::", ":", "=", "\n", "\t", "#",
    "$", ",", "_", "x", "ext", "tel ", "call ", "ssn ", "SSN: ", "social security number ", "card ", "IBAN ",
    "GB82", "DE89", "WEST", "AB12", "v", "version ", "password", "Api_Key", "TOKEN", "secret", "pwd", '"', "'",
    "sk-", "sk-proj-", "sk_live_", "rk_test_", "whsec_", "ghp_", "github_pat_", "glpat-", "xoxb-", "AKIA",
    "AIza", "eyJ", "eyJhbGciOi.", "-----BEGIN RSA PRIVATE KEY-----", "://", "https://", "u:p@", "hooks.slack.com/",
    "Bearer ", "bearer ", "Basic ", "Authorization: ", "abcdef", "ABCDEF", "Q", "é", "İ", "K", "\u00a0",
    "\u2003", "\u0663", "\ud800", "€", "£",
]  # fmt: skip


def _fuzz(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 40))))
    return out


@pytest.fixture(scope="module")
def texts() -> list[str]:
    spec = importlib.util.spec_from_file_location("redaction_benchmark_prefilter", _BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    corpus = bench.Corpus(seed=5)
    out = [corpus.document(800)[0] for _ in range(60)]
    out += [corpus.negative() for _ in range(300)]
    rng = random.Random(5)
    return out + _fuzz(rng, 6000)


def test_every_condition_is_a_superset_of_its_detector(texts: list[str]) -> None:
    prefilter = _prefilter.build()
    assert prefilter is not None
    builtins = _builtins()
    detectors = [factory() for factory in builtins.factories.values()]
    found_by: dict[str, int] = {}
    for text in texts:
        mask = prefilter.scan(text)
        for detector in detectors:
            need = builtins.conditions[type(detector)]
            if need == _prefilter.SECRET_ANY:
                for family in _FAMILIES:
                    if detector.find_parts(text, family):
                        found_by[f"SECRET/{family}"] = found_by.get(f"SECRET/{family}", 0) + 1
                        assert mask & family, (family, text)
            elif detector.find(text):
                found_by[detector.entity] = found_by.get(detector.entity, 0) + 1
                assert mask & need, (detector.entity, text)
    # The check means something only if every detector and family found things in these texts.
    assert set(found_by) == {d.entity for d in detectors if d.entity != "SECRET"} | {
        f"SECRET/{family}" for family in _FAMILIES
    }


def test_the_families_of_secret_add_up_to_the_whole_detector(texts: list[str]) -> None:
    detector = _builtins().factories["SECRET"]()
    for text in texts[:2000]:
        parts = sorted(span for family in _FAMILIES for span in detector.find_parts(text, family))
        assert sorted(detector.find(text)) == parts, text


def test_prompts_without_candidates_cost_one_scan() -> None:
    prefilter = _prefilter.build()
    assert prefilter is not None
    assert prefilter.scan("You are a helpful assistant. Answer in two short paragraphs, please.") == 0
    assert prefilter.scan("") == 0
    mask = prefilter.scan("mail jo@example.com, call +44 20 7946 0018, password: hunter22")
    assert mask & _prefilter.EMAIL and mask & _prefilter.PHONE and mask & _prefilter.SECRET_LABEL


def _foreign_scratch() -> object:
    """A scratch space of another database: Hyperscan refuses to scan with it (as with one left in
    use by a scan on another thread)."""
    import hyperscan

    other = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    other.compile(expressions=[rb"[0-9]{3}x(?:abc|def){2,9}"], ids=[1], elements=1, flags=[0])
    return hyperscan.Scratch(other)


def test_a_failed_scan_skips_nothing_and_gets_a_fresh_scratch() -> None:
    prefilter = _prefilter.build()
    assert prefilter is not None
    prefilter._scratch = _foreign_scratch()
    assert prefilter.scan("plain words") == _prefilter.ALL
    assert prefilter.scan("plain words") == 0  # the failed scan replaced the scratch space


def test_a_redactor_whose_prefilter_fails_still_redacts() -> None:
    redactor = build_redactor(RedactionConfig(accelerator=True))
    assert redactor.accelerated
    redactor._prefilter._scratch = _foreign_scratch()
    assert redactor.redact_text("write to jo@example.com") == "write to <EMAIL_ADDRESS_1>"


def test_the_setting_chooses_the_path() -> None:
    assert build_redactor(RedactionConfig(accelerator=False)).accelerated is False
    assert build_redactor(RedactionConfig(accelerator=True)).accelerated is True
    assert build_redactor({"accelerator": False}).accelerated is False
    assert build_redactor().accelerated is True  # None: used when installed (the dev extra has it)


def test_the_accelerator_setting_parses_auto_on_off() -> None:
    assert [parse_accelerator(v, "X") for v in ("", "auto", "ON", "true", "1", "off", "False", "0")] == [
        None, None, True, True, True, False, False, False,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="X='sometimes': expected auto, on or off"):
        parse_accelerator("sometimes", "X")


def test_a_required_accelerator_that_is_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_prefilter, "_module", False)  # as if hyperscan were not installed
    assert build_redactor().accelerated is False  # the default falls back to the pure path
    with pytest.raises(ValueError, match=r"redact\.accelerator: .*hyperscan.*pip install -e '\.\[fast\]'"):
        build_redactor(RedactionConfig(accelerator=True))
    assert build_redactor(RedactionConfig(accelerator=False)).accelerated is False
