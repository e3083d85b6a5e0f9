"""US ZIP+4 codes and digit groups of the same shape (part and order numbers with one dash) are not
phone numbers (issue 12 item 4); the phone numbers around them still are."""

from __future__ import annotations

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, build_redactor

ACCELERATOR = [pytest.param(False, id="pure"), pytest.param(True, id="accelerated")]

NOT_PHONES = [
    "Ship to 1 Main St, Cambridge, MA 02139-4307, USA",
    "Newark, NJ 07102-1234",
    "zip: 06510-2811",
    "ZIP+4 00501-0001 (Holtsville, NY)",
    "San Juan, PR 00901-1234.",
    "Beverly Hills, CA 90210-1234",
    "part number 04512-3345 is out of stock",
    "P/N 01234-5678, rev B",
    "order 00917-2231 was shipped",
    "Order #07731-0042",
    "lot 03341-1234 and lot 03341-1235",
    '{"zip": "02139-4307", "city": "Cambridge"}',
    # Followed by other numbers in the same run of digits and separators (found by the benchmark).
    "part number 03399-4560 22:32:58 elapsed",
    "part number 05203-0782 692 925 746 rows processed",
]


@pytest.fixture(params=ACCELERATOR)
def redactor(request: pytest.FixtureRequest):
    return build_redactor(RedactionConfig(accelerator=request.param))


@pytest.mark.parametrize("text", NOT_PHONES)
def test_zip_plus_four_and_one_dash_groups_are_not_phone_numbers(redactor, text: str) -> None:
    assert redactor.redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Tel. 04131-1234 (Lüneburg)", "04131-1234"),  # a phone word vouches for the shape
        ("call 02139-4307 after six", "02139-4307"),
        ("Büro 030-12345678, Fax 0221-1234567", "030-12345678"),  # other one-dash trunk shapes
        ("MA 02139-4307, call (617) 555-0100", "(617) 555-0100"),
        ("office 01632 960391 or 020 7946 0018", "01632 960391"),
        ("MA 90210-1234 (555) 123-4567 front desk", "(555) 123-4567"),  # right after the code
        ("Boston 02139-4307 020 7946 0018 ok", "020 7946 0018"),
    ],
)
def test_phone_numbers_next_to_the_same_shapes_are_still_found(redactor, text: str, phone: str) -> None:
    values = [text[s:e] for s, e, entity in redactor.find(text) if entity == "PHONE_NUMBER"]
    assert phone in values
