"""``PHONE_NUMBER``: international (E.164, ``+`` or ``00``) and national formats, validated by shape.

A loose pattern collects runs of digit groups (spaces, dots, dashes, slashes and parentheses between
them); :func:`phone_shape_ok` then accepts a run only when it has the shape of a real number:

* international: ``+`` (or ``00`` followed by a separator) and a country code, 8 to 15 digits in all,
  a ``(0)`` trunk marker allowed (``+44 (0)20 7946 0018``);
* national with trunk prefix (UK, DE, FR, IN, BR landlines and mobiles): a leading ``0``, a first group
  of at least two digits whose second digit is not ``0``, 9 to 12 digits;
* national without trunk prefix: the North American ``(555) 123-4567`` / ``555.123.4567`` / ``1-555-...``
  shapes, Indian mobiles ``98765 43210`` and Brazilian ``(11) 91234-5678`` / ``11 3456-7890``;
* bare digit runs (``5551234567``) only when a phone word ("call", "tel", "mobile", ...) precedes them;
  the same goes for ``01234-5678``, the shape of a US ZIP+4 code and of many part and order numbers.

Shapes rather than digit counts are what keep order numbers, dates, times, versions, prices, ISBNs
and tracking numbers out: none of them has these groupings. No external library is needed; see
``docs/redaction.md`` for why ``phonenumbers`` is not used.
"""

from __future__ import annotations

import re

from ._base import Span
from ._numeric import image_of, run_windows
from .validators import ean13_ok

_A = re.ASCII

_CANDIDATE = re.compile(
    r"(?<![\w+@/.,$€£¥#-])"  # not glued to a word, an address, a decimal, a price or an id
    r"(?:\+ ?)?\(?\d[\d().\-/ ]{4,26}+",  # possessive: one pass; the end is settled in Python
    _A,
)
_EXTENSION_AFTER = re.compile(r" ?(?:x|ext\.?|extension) ?\d{1,6}", _A)
_GLUED_AFTER = re.compile(r"[\w@$€£%]|[.,]\d", _A)
_GROUP = re.compile(r"\d+", _A)
_EXTENSION = re.compile(r" ?(?:x|ext\.?|extension) ?\d{1,6}\Z")
_DATE = re.compile(r"(?<!\d)(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})(?!\d)", _A)
_PHONE_WORDS = frozenset(
    {"phone", "tel", "telephone", "mobile", "cell", "call", "text", "sms", "whatsapp", "fax", "contact", "reach",
     "dial", "ring"}
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z]+")


def _phone_word_before(text: str, start: int) -> bool:
    """True when one of the last four words before ``start``, in the same clause and with no other
    number in between, is a phone word.

    "call me at 5551234567" and "Tel.: 5551234567" qualify; "order 1234567890", "Call me. Order
    1234567890" and "Tel.: +1 555 0100 ts=1755104054" (for the timestamp) do not.
    """
    before = text[max(0, start - 30) : start]
    cut = max(
        before.rfind(". "), before.rfind("; "), before.rfind("!"), before.rfind("?"), before.rfind("\n")
    )
    if cut >= 0 and before[cut] == "." and before[max(0, cut - 3) : cut].lower().endswith("tel"):
        cut = -1  # "Tel. 555..." abbreviates; it does not end a sentence
    clause = before[cut + 1 :]
    for word in list(_WORD.finditer(clause))[-4:][::-1]:
        if word.group().lower() in _PHONE_WORDS:
            # "Tel.: +55 64 9068-1495 ts=1755104054": the word belongs to the number in between.
            return not any(ch.isdigit() for ch in clause[word.end() :])
    return False


_TRUNK = re.compile(r"\(0\)")
# Five digits, one dash, four digits: the shape of a ZIP+4 code (alone, or opening a candidate).
_ZIP_SHAPE = re.compile(r"\d{5}-\d{4}", _A)
_ZIP_OPENING = re.compile(r"\d{5}-\d{4}(?!\d)", _A)
# "04/27" (a card expiry, a short date) never starts a phone number; "030/1234567" may.
_SHORT_SLASH = re.compile(r"\(?\d{1,2}/\d", _A)


def _shape_international(digits: str, raw: str) -> bool:
    if digits[0] == "0":
        return False
    if not 8 <= len(digits) <= 15:
        return False
    # A "+" run with only dots is a version or a sum, not a number.
    return not (raw.count(".") >= 2 and " " not in raw and "-" not in raw)


def _shape_national(groups: list[str], raw: str) -> bool:
    digits = "".join(groups)
    n = len(digits)
    sizes = [len(g) for g in groups]
    if _DATE.search(raw):
        return False
    if digits[0] == "0":
        # Trunk prefix + area code: "020 7946 0018", "(0161) 4960066", "01 23 45 67 89", "0 30..." is not.
        if sizes[0] < 2 or digits[1] == "0" or not 9 <= n <= 12:
            return False
        if n == 13 and ean13_ok(digits):
            return False
        return raw.count(".") == 0 or all(s == 2 for s in sizes)
    if sizes in ([3, 3, 4], [1, 3, 3, 4]):
        return sizes[0] != 1 or digits[0] == "1"
    if sizes == [5, 5]:
        return digits[0] in "6789" and "." not in raw
    if sizes in ([2, 4, 4], [2, 5, 4]):
        # Brazilian "(11) 3456-7890" / "11 91234-5678": a dash before the last group.
        return raw.rstrip()[-5] == "-" and digits[0] != "0"
    return False


# The group sizes a number without "+", a trunk "0" or "(0)" can open with (see ``_shape_national``),
# spelled on the class image (digits "0", separators "."): a bare 10-12 digit run, or 3-3-4, 2-4-4,
# 2-5-4, 5-5 and 1-3-3-4 groups.
_OPENING = re.compile(
    rb"\.*(?:0{10,12}|000\.+000\.+0000|00\.+0000\.+0000|00\.+00000\.+0000|00000\.+00000|0\.+000\.+000\.+0000)(?!0)"
)


def _may_be_phone(raw: str, image: bytes, start: int) -> bool:
    """A quick verdict on a whole candidate (``raw``, at ``start``; ``image`` is the class image of the
    text): False when no prefix of it can pass :func:`phone_shape_ok`.

    ``_find`` only ever shortens a candidate from the end, so a candidate without "+", a leading "0"
    or "(0)" whose leading groups match no national shape (and whose first group is no bare 10-12
    digit run) is rejected here, before the trimming and the group-by-group retries. Most look-alikes
    (SSNs, dates, card and tracking numbers, ISBNs) end here.
    """
    if raw[0] == "+" or "(0)" in raw or (raw[1] if raw[0] == "(" else raw[0]) == "0":
        return True
    return _OPENING.match(image, start, start + len(raw)) is not None


def phone_shape_ok(raw: str, text: str, start: int) -> bool:
    """True when ``raw`` (found at ``text[start:]``) has the shape of a phone number; see the module doc."""
    if "x" in raw or "e" in raw:
        raw = _EXTENSION.sub("", raw)
    if "/" in raw[:3] and _SHORT_SLASH.match(raw):
        return False
    groups = _GROUP.findall(_TRUNK.sub("", raw) if "(0)" in raw else raw)
    if not groups:
        return False
    digits = "".join(groups)
    if raw[0] == "+":
        return _shape_international(digits, raw)
    if raw.startswith("00") and len(groups) > 1 and len(groups[0]) <= 5:
        return _shape_international(digits[2:], raw)
    if digits[0] == "0" and _ZIP_SHAPE.fullmatch(raw):
        # "02139-4307": a US ZIP+4 code (New England, New Jersey, Puerto Rico), or a part or order
        # number written the same way; a phone number only when a phone word says so.
        return _phone_word_before(text, start)
    if len(groups) == 1:
        # A bare digit run is an id, a timestamp or an amount unless the words before it say phone.
        if not 10 <= len(digits) <= 12:
            return False
        if digits[0] == "0" and digits[1] != "0" and len(digits) in (10, 11):
            return True
        return _phone_word_before(text, start)
    return _shape_national(groups, raw)


class PhoneDetector:
    """``PHONE_NUMBER`` detector (see the module docstring for the accepted shapes)."""

    entity = "PHONE_NUMBER"

    def find(self, text: str) -> list[Span]:
        """The span of each phone number; a run that fails whole is retried on its leading groups."""
        found: list[Span] = []
        for lo, hi, digits, _ in run_windows(text, 2, 14):
            if digits >= 8:  # every accepted shape has 8 or more digits, all in one run
                self._find(text, lo, hi, found)
        return found

    def _find(self, text: str, lo: int, hi: int, found: list[Span]) -> None:
        image = image_of(text)
        pos = lo
        while True:
            # finditer, written out: a ZIP+4 code at the start of a candidate resumes the search
            # right after it.
            m = _CANDIDATE.search(text, pos, hi)
            if m is None:
                break
            start, pos = m.span()
            if start >= 2 and text[start - 1] == ":" and text[start - 2].isdigit():
                continue  # the minutes of a time: "16:04 831 835 807 rows" is not "04 831 835 807"
            raw = m.group()
            zip_code = _ZIP_OPENING.match(raw) if raw[5:6] == "-" else None
            if zip_code is not None and not _phone_word_before(text, start):
                # "MA 02139-4307 692 rows", "P/N 01540-6671 873 977 681": the code is no phone number
                # and does not start one; what follows it is judged on its own.
                pos = start + zip_code.end()
                continue
            if not _may_be_phone(raw, image, start):
                continue
            stop = raw.find(". ")  # a sentence ends there; no numbering plan writes ". "
            if stop > 0:
                raw = raw[:stop]
            raw = raw.rstrip(" /-.(")
            if raw.endswith(")") and raw.count("(") < raw.count(")"):
                raw = raw[:-1]
            end = start + len(raw)
            ext = _EXTENSION_AFTER.match(text, end)
            if ext is not None:
                raw, end = raw + ext.group(), ext.end()
            if _GLUED_AFTER.match(text, end):
                # "5551234567abc", "555 123 4567$": the last group is glued to something else; what
                # comes before it may still be a number ("+44 20 7946 0018 1x" or a capped run).
                cut = max(raw.rfind(" "), raw.rfind("/"), raw.rfind("-"), raw.rfind("."))
                if cut <= 0:
                    continue
                raw = raw[:cut].rstrip(" /-.(")
            date = _DATE.search(raw)
            if date is not None:  # "exp 04/27 2024-07-23": what precedes a date is judged alone
                raw = raw[: date.start()].rstrip(" /-.(")
            while len(raw) >= 7:
                if phone_shape_ok(raw, text, start):
                    found.append((start, start + len(raw)))
                    break
                # Drop the last group: "020 7946 0018 2 times" or "(555) 123-4567 / 89" keep the phone.
                cut = max(raw.rfind(" "), raw.rfind("/"), raw.rfind("-"), raw.rfind("."))
                if cut <= 0:
                    break
                raw = raw[:cut].rstrip(" /-.(")


__all__ = ["PhoneDetector", "phone_shape_ok"]
