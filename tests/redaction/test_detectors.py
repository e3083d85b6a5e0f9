"""Each built-in detector on positive and look-alike negative cases."""

from __future__ import annotations

import pytest

from llm_monitor_sdk.redaction import build_redactor


@pytest.fixture(scope="module")
def redactor():
    return build_redactor()


def found(redactor, text: str) -> list[tuple[str, str]]:
    return [(entity, text[s:e]) for s, e, entity in redactor.find(text)]


POSITIVES = [
    ("EMAIL_ADDRESS", "write to john.doe+tag@mail.example.co.uk today", "john.doe+tag@mail.example.co.uk"),
    ("EMAIL_ADDRESS", 'payload {"email=": "ana@x.io"}', "ana@x.io"),
    ("EMAIL_ADDRESS", "@channel please mail jo@example.com", "jo@example.com"),  # a leading "@" hid it
    ("PHONE_NUMBER", "call (555) 123-4567 now", "(555) 123-4567"),
    ("PHONE_NUMBER", "US: 555.123.4567x890", "555.123.4567x890"),
    ("PHONE_NUMBER", "E.164 +14155552671 ok", "+14155552671"),
    ("PHONE_NUMBER", "UK +44 (0)20 7946 0018.", "+44 (0)20 7946 0018"),
    ("PHONE_NUMBER", "UK (01632) 960391 office", "(01632) 960391"),
    ("PHONE_NUMBER", "DE +49 30 1234567 or", "+49 30 1234567"),
    ("PHONE_NUMBER", "DE 030 12345678 bitte", "030 12345678"),
    ("PHONE_NUMBER", "FR 01 23 45 67 89 merci", "01 23 45 67 89"),
    ("PHONE_NUMBER", "IN +91 98765 43210 pls", "+91 98765 43210"),
    ("PHONE_NUMBER", "IN 98765 43210 pls", "98765 43210"),
    ("PHONE_NUMBER", "BR (11) 91234-5678 obrigado", "(11) 91234-5678"),
    ("PHONE_NUMBER", "call me at 5551234567", "5551234567"),
    ("PHONE_NUMBER", "reach me on +44(0)131 4960004. 486 546 100 rows", "+44(0)131 4960004"),
    ("CREDIT_CARD", "card 4111 1111 1111 1111 exp 04/27", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "card 5500-0000-0000-0004.", "5500-0000-0000-0004"),
    ("CREDIT_CARD", "amex 3782 822463 10005 thanks", "3782 822463 10005"),
    ("CREDIT_CARD", "raw 4012888888881881 here", "4012888888881881"),
    ("US_SSN", "SSN 123-45-6789.", "123-45-6789"),
    ("US_SSN", "social security number: 123456789", "123456789"),
    ("IBAN_CODE", "IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00"),
    ("IBAN_CODE", "to GB82WEST12345698765432.", "GB82WEST12345698765432"),
    ("IP_ADDRESS", "from 192.168.1.10 port", "192.168.1.10"),
    ("IP_ADDRESS", "v6 2001:db8::ff00:42:8329 blocked", "2001:db8::ff00:42:8329"),
    ("IP_ADDRESS", "loopback ::1 only", "::1"),
    ("IP_ADDRESS", "std::map and 8317:cba0:1c75:f67e:2905:35d9:68a2:4b7f full", "8317:cba0:1c75:f67e:2905:35d9:68a2:4b7f"),
    ("SECRET", "OPENAI_API_KEY=sk-proj-abcDEF1234567890abcdefXYZ", "sk-proj-abcDEF1234567890abcdefXYZ"),
    ("SECRET", "key sk-ant-api03-" + "a1" * 20 + " end", "sk-ant-api03-" + "a1" * 20),
    ("SECRET", "google AIzaSyA1234567890abcdefghijklmnopqrstuv ok", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    ("SECRET", "aws AKIAIOSFODNN7EXAMPLE ok", "AKIAIOSFODNN7EXAMPLE"),
    ("SECRET", "gh ghp_" + "a" * 36 + " ok", "ghp_" + "a" * 36),
    ("SECRET", "gl glpat-abcdefghij0123456789 ok", "glpat-abcdefghij0123456789"),
    ("SECRET", "slack xoxb-123456789012-abcdefABCDEF ok", "xoxb-123456789012-abcdefABCDEF"),
    ("SECRET", "post to https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXX now",
     "hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXX"),
    ("SECRET", "stripe sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc" + " ok", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("SECRET", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk123 ok",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk123"),
    ("SECRET", "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY----- done",
     "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"),
    ("SECRET", "Authorization: Bearer abc123def456ghi789jk", "abc123def456ghi789jk"),
    ("SECRET", 'config {"db_password": "hunter22"}', "hunter22"),
    ("SECRET", "api_key: s3cr3tvalue", "s3cr3tvalue"),
    ("SECRET", "DATABASE_URL=postgres://app:pa55word@db.internal:5432/prod", "pa55word"),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "text", "value"), POSITIVES)
def test_detects(redactor, entity: str, text: str, value: str) -> None:
    assert (entity, value) in found(redactor, text)


NEGATIVES = [
    "Order #10023456 shipped on 2024-03-15 14:22:07",
    "order number 1234567890 cancelled",
    "Call me. Order 1234567890 was lost",
    "ts=1710512345 and ORD-2024-558812",
    "upgraded to v2.31.0; Python 3.11.4; version 1.4.2.0; build 10.0.19041.1",
    "request_id=75004aff-f5a8-413f-9b8a-aa464a6ec74a",
    "it costs $1,299.99 or 1.234.567,89 € or 12 345 678",
    "ISBN 978-0-306-40615-7 and ISBN 0-306-40615-2 and 9780306406157",
    "USPS 9400 1000 0000 0000 0000 00 and FedEx 7489 2034 5678 and 1Z999AA10123456784",
    "ticket 4834-222-3370-48 and a random 1234 5678 9012 3456",
    "SSN-like 666-12-3456 and 000-12-3456 and 900-12-3456",
    "dates 12/05/2024 10:30 and 05.06.2023 and 14:22:07",
    "MAC 00:1A:2B:3C:4D:5E and std::vector and dead::beef",
    "GB00WEST12345698765432 fails the check",
    "the risk-assessment-framework-2024 and scikit-learn",
    "password: <redacted> and api_key=None and the password policy requires 12 characters",
    "bearer instrumentation and basic understanding of things",
    "user@localhost is not an address; @mention only",
    "coordinates 48.8566, 2.3522; 3.14159; 10.5 x 3",
    "room 101, floor 12; 555 rows; qty 3 x 19.99",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ignores_lookalikes(redactor, text: str) -> None:
    assert found(redactor, text) == []


def test_card_trims_trailing_cvv(redactor) -> None:
    assert ("CREDIT_CARD", "4111 1111 1111 1111") in found(redactor, "4111 1111 1111 1111 123")


def test_iban_cut_at_country_length(redactor) -> None:
    text = "DE89 3704 0044 0532 0130 00 1234"
    assert found(redactor, text)[0] == ("IBAN_CODE", "DE89 3704 0044 0532 0130 00")


def test_overlap_prefers_secret_over_email(redactor) -> None:
    text = "redis://user:hunter22@cache.local"
    assert found(redactor, text) == [("SECRET", "hunter22")]


def test_phone_word_only_vouches_for_the_next_number(redactor) -> None:
    text = "Tel.: +55 64 9068-1495 ts=1755104054 ok"
    assert found(redactor, text) == [("PHONE_NUMBER", "+55 64 9068-1495")]
