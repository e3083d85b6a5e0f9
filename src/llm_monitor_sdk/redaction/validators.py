"""Checksums and range checks that turn a pattern's candidates into confident matches.

Each function takes the matched text (or its digits) and answers one question cheaply; none of them
raises on odd input, they return ``False``.
"""

from __future__ import annotations

import ipaddress
import string

# IBAN length per country (ISO 13616 registry), used before the mod-97 check so that a run of
# capitals and digits that happens to pass mod-97 is still rejected when its length is wrong.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def luhn_ok(digits: str) -> bool:
    """True when a string of digits passes the Luhn (mod 10) check used by payment cards."""
    total = 0
    double = False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if d < 0 or d > 9:
            return False
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


def card_issuer_ok(digits: str) -> bool:
    """True when the leading digits and the length belong to a real card network.

    Covers Visa, Mastercard (51-55, 2221-2720), American Express, Discover, JCB (including the old
    15-digit 1800/2131 ranges), Diners Club and UnionPay. Random digit runs that happen to
    pass Luhn (one in ten) are mostly rejected here.
    """
    return 13 <= len(digits) <= 19 and len(digits) in card_lengths(digits)


_NONE: tuple[int, ...] = ()


def card_lengths(digits: str) -> tuple[int, ...]:
    """The lengths a card number opening with ``digits`` (its first four or more) may have; empty
    when no network issues numbers with that opening."""
    if len(digits) < 4 or not digits[:4].isdigit():
        return _NONE
    first = digits[0]
    two = int(digits[:2])
    four = int(digits[:4])
    if first == "4":
        return (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return (16,)
    if two in (34, 37):
        return (15,)
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649:
        return (16, 19)
    if two == 35:  # JCB (3528-3589 assigned; generators and test data use the whole 35 range)
        return (16, 19)
    if four in (1800, 2131):
        return (15,)
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return (14, 16, 19)
    if two == 62:
        return (16, 17, 18, 19)
    # Maestro (50, 56-58, 63, 67) is left out on purpose: its ranges overlap too many 16-digit
    # tracking and account numbers that pass Luhn by chance.
    return _NONE


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """True for a US Social Security number outside the never-issued ranges.

    Area 000, 666 and 900-999, group 00 and serial 0000 are never assigned.
    """
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


# Letters become their ISO 7064 values (A=10 ... Z=35, either case) in one ``str.translate``; anything
# else is left in place and rejected by the ASCII-digit check in ``iban_ok``.
_IBAN_VALUES = {
    ord(c): str(10 + i % 26) for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase)
}


def iban_ok(compact: str) -> bool:
    """True when an IBAN without spaces has its country's length and passes the ISO 7064 mod-97 check."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    numeric = (compact[4:] + compact[:4]).translate(_IBAN_VALUES)
    if not (numeric.isascii() and numeric.isdigit()):
        return False  # int() would accept "_", spaces and other scripts' digits
    return int(numeric) % 97 == 1


def ipv6_ok(text: str) -> bool:
    """True for a valid IPv6 address that looks like one in prose (not ``a::b`` style identifiers)."""
    if len(text) < 3 or text.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    # Require a digit or a fully written address: "dead::beef" and "add::face" are valid hex but in
    # text they are far more often identifiers than addresses.
    return any(ch.isdigit() for ch in text) or text.count(":") >= 7


def ean13_ok(digits: str) -> bool:
    """True for a 13-digit EAN/ISBN-13 with a correct check digit."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


__all__ = [
    "IBAN_LENGTHS",
    "card_issuer_ok",
    "card_lengths",
    "ean13_ok",
    "iban_ok",
    "ipv6_ok",
    "luhn_ok",
    "ssn_ok",
]
