"""The four strategies: mask, hash, partial, drop."""

from __future__ import annotations

import logging
import re

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, build_redactor
from llm_monitor_sdk.redaction import engine as engine_module


def redact(text: str, **cfg) -> str:
    return build_redactor(RedactionConfig(**cfg)).redact_text(text)


def test_mask_is_the_default_and_numbers_distinct_values() -> None:
    assert redact("a@x.io, b@x.io, A@X.io") == "<EMAIL_ADDRESS_1>, <EMAIL_ADDRESS_2>, <EMAIL_ADDRESS_1>"


def test_mask_normalises_numbers() -> None:
    out = redact("4111 1111 1111 1111 vs 4111-1111-1111-1111")
    assert out == "<CREDIT_CARD_1> vs <CREDIT_CARD_1>"


def test_hash_is_keyed_short_and_stable_across_records() -> None:
    cfg = {"strategies": {"EMAIL_ADDRESS": "hash"}, "key": "secret-key"}
    first = redact("mail a@x.io", **cfg)
    assert re.fullmatch(r"mail <EMAIL_ADDRESS:[0-9a-f]{12}>", first)
    assert redact("again A@x.io", **cfg).endswith(first[5:])
    assert redact("mail a@x.io", strategies={"EMAIL_ADDRESS": "hash"}, key=b"other") != first


def test_hash_without_key_warns_and_uses_a_process_key(monkeypatch, caplog) -> None:
    monkeypatch.setattr(engine_module, "_process_key", None)
    with caplog.at_level(logging.WARNING, "llm_monitor_sdk.redaction"):
        a = redact("a@x.io", strategies={"*": "hash"})
        b = redact("a@x.io", strategies={"*": "hash"})
    assert a == b and "LLM_MONITOR_REDACT_KEY" in caplog.text
    assert caplog.text.count("LLM_MONITOR_REDACT_KEY") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111", "card **** **** **** 1111"),
        ("mail jane.doe@example.com", "mail j***@example.com"),
        ("ssn 123-45-6789", "ssn ***-**-6789"),
        ("ip 192.168.10.20", "ip 192.168.*.*"),
        ("call (555) 123-4567", "call (***) ***-4567"),
        ("IBAN DE89370400440532013000", "IBAN ******************3000"),
        ("key AKIAIOSFODNN7EXAMPLE", "key AKIA****"),
    ],
)
def test_partial(text: str, expected: str) -> None:
    assert redact(text, strategies={"*": "partial"}) == expected


def test_drop_replaces_the_whole_string_naming_types() -> None:
    out = redact("mail a@x.io or call (555) 123-4567", strategies={"*": "drop"})
    assert out == "<DROPPED:EMAIL_ADDRESS,PHONE_NUMBER>"


def test_strategies_mix_per_type() -> None:
    out = redact("a@x.io 4111 1111 1111 1111", strategies={"CREDIT_CARD": "partial", "*": "mask"})
    assert out == "<EMAIL_ADDRESS_1> **** **** **** 1111"
