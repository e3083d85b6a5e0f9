"""The fast paths (per-string gates, window filters, the leaner record walk) change no result, and
the two recall fixes (a 13-digit Visa labelled as a card, a digit-free token in an Authorization
header) find what they should without new false positives."""

from __future__ import annotations

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, build_redactor
from ungated_redactor import ungated_redactor

SAMPLES = [
    "call +44 20 7946 0018 or (555) 123-4567, card 4111-1111-1111-1111, SSN 123-45-6789",
    "IBAN DE89 3704 0044 0532 0130 00 and GB82 WEST 1234 5698 7654 32; ip 10.1.2.3 and 2001:db8::1",
    "v1.2.3.4 build 10.0.19045.3803 at 2024-05-15T10:00:00Z order 12345678 ts=1755104054",
    "mail jo@example.com, password=hunter22, key AKIAIOSFODNN7EXAMPLE, ::1 and fe80::1ff:fe23:4567:890a",
    "short 555 0100",
    "no digits here at all, just prose about assistants and A-list celebrities_ok",
    "ssn 123456789 and social security number 123 45 6789",
    "12345 67890 12345 67 and 1.2.3 and 3.14159 and 48.8566, 2.3522",
]


@pytest.mark.parametrize("accelerator", [False, True], ids=["pure", "accelerated"])
@pytest.mark.parametrize("text", SAMPLES)
def test_gates_change_no_result(text: str, accelerator: bool) -> None:
    gated = build_redactor(RedactionConfig(accelerator=accelerator))
    assert gated.accelerated is accelerator
    assert gated.find(text) == ungated_redactor().find(text)


@pytest.mark.parametrize("accelerator", [False, True], ids=["pure", "accelerated"])
@pytest.mark.parametrize(
    "text",
    [
        "AKIAQWERTYUIOPASDFGH",  # an AWS key id without a digit: 1 in 28 of them
        "key AKIAQWERTYUIOPASDFGH",
        "eyJhbGciOiJIUzI.eyJzdWIiOiJhYmMi.SflKxwRJSMeKKF",  # a JWT without a digit, "-" or "_"
        "AIzaSyAbcdefghijklmnopqrstuvwxyzABCDEFG",
    ],
)
def test_short_digit_free_tokens_are_scanned(text: str, accelerator: bool) -> None:
    r = build_redactor(RedactionConfig(accelerator=accelerator))
    assert "<SECRET_1>" in r.redact_text(text)


def test_short_strings_with_a_trigger_are_still_scanned() -> None:
    r = build_redactor()
    assert r.redact_text("Basic dXNlcjpwYXNzd29yZDEyMzQ1") == "Basic <SECRET_1>"
    assert r.redact_text("ssn 123-45-6789") == "ssn <US_SSN_1>"
    assert r.redact_text("just a short label") == "just a short label"


def test_thirteen_digit_visa_labelled_as_card_is_found_even_if_it_passes_ean13() -> None:
    r = build_redactor()
    # 4824089811946 passes both the Luhn and the EAN-13 check.
    assert r.redact_text("card: 4824089811946 exp 04/27") == "card: <CREDIT_CARD_1> exp 04/27"
    assert r.redact_text('"card_number": "4130058041741"') == '"card_number": "<CREDIT_CARD_1>"'
    assert r.redact_text("EAN 4824089811946 in stock") == "EAN 4824089811946 in stock"
    assert r.redact_text("ISBN 4824089811946. Card games are fun") == "ISBN 4824089811946. Card games are fun"


def test_digit_free_token_after_authorization_header_is_a_secret() -> None:
    r = build_redactor()
    text = "curl -H 'Authorization: Bearer LVVvAaWLImceIozIokNSWPkKhZiqpHGBtQhrDmtO' https://api.example.com"
    assert r.redact_text(text) == "curl -H 'Authorization: Bearer <SECRET_1>' https://api.example.com"
    assert r.redact_text('{"authorization": "Bearer LVVvAaWLImceIozIokNSWPkKhZiqpHGBtQhrDmtO"}') == (
        '{"authorization": "Bearer <SECRET_1>"}'
    )
    # Without the header, a digit-free word after "Bearer" is prose, and placeholders stay.
    for text in ("The Bearer LVVvAaWLImceIozIokNSWPkKhZiqpHGBtQhrDmtO arrived",
                 "Authorization: Bearer $OPENAI_API_KEY", "Authorization: Bearer <token>"):  # fmt: skip
        assert r.redact_text(text) == text


def test_walk_keeps_non_json_values_and_subclasses_working() -> None:
    class Tag(str):
        pass

    record = {
        "metadata": {
            "t": ("jo@example.com", 3),
            "b": b"call 020 7946 0018",
            "s": Tag("x jo@example.com"),
            "n": None,
        },
        "tags": [Tag("jo@example.com"), 1.5, True],
    }
    out = build_redactor().redact_record(record)
    assert out["metadata"] == {"t": ["<EMAIL_ADDRESS_1>", 3], "b": "call <PHONE_NUMBER_1>",
                               "s": "x <EMAIL_ADDRESS_1>", "n": None}  # fmt: skip
    assert out["tags"] == ["<EMAIL_ADDRESS_1>", 1.5, True]
    assert out["redactions"] == {"EMAIL_ADDRESS": 3, "PHONE_NUMBER": 1}


def test_minutes_of_a_time_do_not_start_a_phone_number() -> None:
    r = build_redactor()
    text = "on 02/12/2025 16:04 831 835 807 rows processed"
    assert r.redact_text(text) == text
    assert r.redact_text("Tel:020 7946 0018") == "Tel:<PHONE_NUMBER_1>"
