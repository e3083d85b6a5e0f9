"""Built-in PII detectors: email, payment card, US SSN, IBAN, IPv4/IPv6 addresses.

Each detector pairs a compiled pattern with a cheap prefilter (a character the match must contain)
and a validator run on candidates only, so that prose without the trigger costs one ``in`` test.
Phone numbers live in :mod:`.phone` and credentials in :mod:`.secrets`.
"""

from __future__ import annotations

import re

from ._base import Span, ascii_lower
from ._numeric import image_of, run_windows
from .validators import IBAN_LENGTHS, card_lengths, ean13_ok, iban_ok, ipv6_ok, luhn_ok, ssn_ok

_A = re.ASCII


class EmailDetector:
    """``EMAIL_ADDRESS``: finds each ``@`` with ``str.find`` and grows the address around it.

    Anchoring on ``@`` keeps the cost proportional to the number of ``@`` signs rather than to the
    length of the text (a plain left-to-right email pattern retries at every word).
    """

    entity = "EMAIL_ADDRESS"
    _domain = re.compile(
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])", _A
    )
    # The common local-part characters only: RFC 5322 allows "=" or "/" too, but in prompts those are
    # far more often glue ("email=jo@x.io") than part of the address.
    _local_tail = re.compile(r"[A-Za-z0-9._%+-]{1,64}\Z", _A)

    def find(self, text: str) -> list[Span]:
        """The span of every ``local@domain.tld``."""
        found: list[Span] = []
        at = text.find("@")
        if at == 0:  # "@channel, mail jo@x.io": a leading "@" starts no address, but later ones may
            at = text.find("@", 1)
        while at > 0:
            tail = self._local_tail.search(text, max(0, at - 64), at)
            dom = self._domain.match(text, at + 1)
            if tail is not None and dom is not None:
                start = tail.start()
                while start < at and text[start] in ".%+-":
                    start += 1
                local = text[start:at]
                if local and not local.endswith(".") and ".." not in local:
                    found.append((start, dom.end()))
            at = text.find("@", at + 1)
        return found


class CreditCardDetector:
    """``CREDIT_CARD``: 13-19 digits, optionally grouped by spaces or dashes, issuer- and Luhn-checked."""

    entity = "CREDIT_CARD"
    # Possessive groups: digits and separators are taken once, never re-split on failure (a plain
    # "\d{1,7}(?:[ -]?\d{1,7})*" backtracks through every partition of a long digit run).
    _candidate = re.compile(r"(?<![\w.+-])\d++(?:[ -]\d++){0,7}+(?![\w]|[.,-]\d)", _A)
    _groups = re.compile(r"\d+", _A)

    def find(self, text: str) -> list[Span]:
        """The span of each valid card number; a trailing group (CVV, expiry) is trimmed when it breaks the check."""
        found: list[Span] = []
        for lo, hi, digits, _ in run_windows(text, 1, 2):
            if digits >= 13:
                self._find(text, lo, hi, found)
        return found

    def _find(self, text: str, lo: int, hi: int, found: list[Span]) -> None:
        for m in self._candidate.finditer(text, lo, hi):
            cand = m.group()
            if len(cand) - cand.count(" ") - cand.count("-") < 13:
                continue
            groups = self._groups.findall(cand)
            # Every prefix tried below opens with the same digits, so the network (and the lengths
            # it issues) is settled once: look-alikes with no network opening stop here.
            lengths = card_lengths("".join(groups[:4]))
            if not lengths:
                continue
            base = m.start()
            sizes = [len(g) for g in groups]
            # Try the longest run of whole groups from the first group that is a valid card number.
            n = sum(sizes)
            for last in range(len(groups), 0, -1):
                if last < len(groups):
                    n -= sizes[last]
                if n < 13:
                    break
                if n not in lengths:
                    continue
                digits = "".join(groups[:last])
                if last == 1 and n == 13 and ean13_ok(digits) and not _card_word_before(text, base):
                    break  # a bare 13-digit EAN/ISBN-13, not a (rare) 13-digit Visa, unless labelled a card
                if last > 1 and not _card_grouping_ok(sizes[:last]):
                    continue
                if luhn_ok(digits):
                    found.append(
                        (base, base + n + last - 1)
                    )  # the digits and the one-character separators between
                    break


_CARD_WORD = re.compile(r"(?i:card|visa|credit|debit|payment|charge|\bcc\b)[^\n.;!?]{0,24}\Z")


def _card_word_before(text: str, start: int) -> bool:
    # "card: 4824089811946" is a 13-digit Visa even when its digits also pass the EAN-13 check.
    return _CARD_WORD.search(text, max(0, start - 40), start) is not None


def _card_grouping_ok(sizes: list[int]) -> bool:
    # Printed cards group as 4-4-4-4(-3), 4-6-5 (Amex), 4-6-4 (Diners) or 4-4-4-1/2/3 for odd lengths;
    # "4834-222-3370-48" is a ticket number whatever its checksum says.
    if sizes[0] != 4:
        return False
    if len(sizes) == 3 and sizes[1] == 6:
        return sizes[2] in (4, 5)
    return all(s == 4 for s in sizes[1:-1]) and 1 <= sizes[-1] <= 4


class SSNDetector:
    """``US_SSN``: ``AAA-GG-SSSS`` (dashes or spaces) outside never-issued ranges, or 9 bare digits after "SSN"."""

    entity = "US_SSN"
    _pattern = re.compile(r"(?<![\w.+-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|[.,-]\d)", _A)
    _labeled = re.compile(
        r"(?i:\bssn|social\s+security(?:\s+(?:number|no\.?|#))?)[\s:#=]{1,4}(\d{3})(\d{2})(\d{4})(?!\w)", _A
    )

    def find(self, text: str) -> list[Span]:
        """The span of each SSN."""
        found: list[Span] = []
        # The class image spells every dashed or spaced SSN "000.00.0000": bytes.find walks to each.
        image = image_of(text)
        at = image.find(b"000.00.0000")
        while at >= 0:
            m = self._pattern.match(text, at)
            if m is not None and ssn_ok(m.group(1), m.group(3), m.group(4)):
                found.append(m.span())
                at = image.find(b"000.00.0000", m.end())
            else:
                at = image.find(b"000.00.0000", at + 1)
        if b"000000000" not in image:
            return found  # the labelled form holds nine digits in a row
        low = ascii_lower(text)
        for word in ("ssn", "social"):
            at = low.find(word)
            while at >= 0:
                m = self._labeled.match(text, at)
                if m is not None and ssn_ok(m.group(1), m.group(2), m.group(3)):
                    found.append((m.start(1), m.end(3)))
                at = low.find(word, at + 1)
        return found


class IBANDetector:
    """``IBAN_CODE``: country code, check digits and BBAN, compact or in groups of four; length and mod-97 checked."""

    entity = "IBAN_CODE"
    _candidate = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})((?: ?[A-Z0-9]{1,4}){3,9})", _A)

    def find(self, text: str) -> list[Span]:
        """The span of each valid IBAN; extra groups glued to the end are cut at the country's length."""
        found: list[Span] = []
        # Every IBAN holds a run of 6+ digits; its country code sits at most ~20 characters before.
        for lo, hi, _, _ in run_windows(text, 24, 40):
            self._find(text, lo, hi, found)
        return found

    def _find(self, text: str, lo: int, hi: int, found: list[Span]) -> None:
        for m in self._candidate.finditer(text, lo, hi):
            want = IBAN_LENGTHS.get(m.group(1))
            if want is None:
                continue
            raw = m.group()
            compact_len = 0
            end = None
            for i, ch in enumerate(raw):
                if ch != " ":
                    compact_len += 1
                    if compact_len == want:
                        end = i + 1
                        break
            if end is None:
                continue
            # The IBAN must end at a token or group boundary, not in the middle of a word.
            after = raw[end] if end < len(raw) else " "
            if after != " ":
                nxt = m.end() if end == len(raw) else m.start() + end
                if nxt < len(text) and text[nxt].isalnum():
                    continue
            if iban_ok(raw[:end].replace(" ", "")):
                found.append((m.start(), m.start() + end))


class IPAddressDetector:
    """``IP_ADDRESS``: dotted-quad IPv4 (octets 0-255, not part of a version string) and IPv6."""

    entity = "IP_ADDRESS"
    _octet = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    _v4 = re.compile(rf"(?<![\w.])(?:{_octet}\.){{3}}{_octet}(?![\w]|\.\d)", _A)
    # IPv6 is found from its colons: from each "::" (compressed form) or each ":h:h:h:h:h:h:h" run
    # (full form), the address is grown over hex digits, colons and dots in both directions. Both
    # patterns start with ":", so the regex engine skips from colon to colon.
    _v6_full = re.compile(r":[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){6}", _A)
    _v6_chars = frozenset("0123456789abcdefABCDEF:.")
    _version_before = re.compile(r"(?i:version|ver\.?|release|build|v)\s?\Z")

    def find(self, text: str) -> list[Span]:
        """The span of each valid IPv4 and IPv6 address."""
        found: list[Span] = []
        for lo, hi, _, dots in run_windows(text, 1, 2):
            if dots < 3:
                continue
            for m in self._v4.finditer(text, lo, hi):
                start = m.start()
                if start and self._version_before.search(text, max(0, start - 9), start):
                    continue
                found.append(m.span())
        colons = text.count(":")
        if colons < 2:
            return found  # IPv6 holds "::" or seven colons
        if "::" in text:
            at = text.find("::")
            while at >= 0:
                span = self._v6_around(text, at)
                if span is not None:
                    found.append(span)
                    at = text.find("::", span[1])
                else:
                    at = text.find("::", at + 2)
        if colons < 7:
            return found
        for m in self._v6_full.finditer(text):  # the full form, eight groups
            span = self._v6_around(text, m.start() + 1)
            # Compressed addresses were yielded by the "::" walk above.
            if span is not None and "::" not in text[span[0] : span[1]]:
                found.append(span)
        return found

    def _v6_around(self, text: str, at: int) -> tuple[int, int] | None:
        chars = self._v6_chars
        start, end = at, at
        while start > 0 and text[start - 1] in chars:
            start -= 1
        while end < len(text) and text[end] in chars:
            end += 1
        # Sentence punctuation and a trailing colon are not part of the address.
        while end > at + 2 and text[end - 1] in ".:" and not text[start:end].endswith("::"):
            end -= 1
        while start < at and text[start] == ".":
            start += 1
        if (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (
            end < len(text) and (text[end].isalnum() or text[end] == "_")
        ):
            return None  # glued to a word: "std::vector", "0x1f::a"
        return (start, end) if ipv6_ok(text[start:end]) else None


__all__ = ["CreditCardDetector", "EmailDetector", "IBANDetector", "IPAddressDetector", "SSNDetector"]
