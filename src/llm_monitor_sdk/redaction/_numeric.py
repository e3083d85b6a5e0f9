"""One shared pass over a string for the digit-based detectors: its class image and number-like runs.

Cards, SSNs, phone numbers, IPv4 addresses and IBANs all contain a run of at least six characters of
digits and separators. Finding those runs once, and letting each detector run its precise pattern
only inside them, costs one regex pass per string instead of five. The same pass keeps the string's
class image, on which the engine's gates and the detectors look up the shapes a type needs (an SSN's
``000.00.0000``, an IBAN's ``AA00``, a phone number's opening groups) instead of scanning the text
for them. The last result is cached by string identity because the detectors run one after another
on the same string.
"""

from __future__ import annotations

import re

# The scan runs on a one-byte-per-character image of the string in which every ASCII digit is "0",
# every separator " .()/-" is ".", every ASCII capital is "A" and everything else is " ". A pattern
# that starts with the literal "0" lets the regex engine jump from digit to digit, about 2.5 times
# faster than a "\d" pattern on the string itself. Encoding with "replace" keeps one byte per
# character, so offsets match. Runs are not capped in length: a long run is one window, scanned whole
# by each detector.
_IMAGE = bytes(
    ord("0") if chr(b).isdigit() and b < 128
    else ord(".") if chr(b) in " .()/-"
    else ord("A") if 65 <= b <= 90
    else ord(" ")
    for b in range(256)
)  # fmt: skip
_RUN = re.compile(rb"0[0.]{4,}0")
# Shapes a whole type needs, as byte literals on the image (one C-level substring test each, within a
# run or near one): every dashed or spaced SSN is "000.00.0000" and a bare one nine digits in a row;
# every IBAN opens with its country code and check digits, "AA00".
_SSN_SHAPES = (b"000.00.0000", b"000000000")
_IBAN_SHAPE = b"AA00"

#: ``(start, end, digits, dots)`` of a numeric run or of a window of merged runs (the largest
#: digit and dot counts of one run in it).
Run = tuple[int, int, int, int]
#: What the engine's gates read: most digits in one run, a run with 3+ dots, an SSN shape, an IBAN shape.
Profile = tuple[int, bool, bool, bool]
_EMPTY: Profile = (0, False, False, False)
#: ``[text, image, runs, windows by (before, after), profile or None until asked for]``
_Entry = list
_cache: _Entry = ["", b"", [], {}, _EMPTY]
_NO_RUNS: list[Run] = []


def _entry(text: str) -> _Entry:
    global _cache
    entry = _cache
    if entry[0] is not text:
        image = text.encode("latin-1", "replace").translate(_IMAGE)
        # Half of all prompts hold no digit at all: one memchr settles those, and the others are
        # scanned from their first digit. A match of any digit type lies inside one run (the
        # detectors' digit and separator characters are exactly the run's), so the digit and dot
        # counts tell which types can match where.
        first = image.find(b"0")
        if first < 0:
            entry = [text, image, _NO_RUNS, {}, _EMPTY]
        else:
            count = text.count
            runs = [
                (m.start(), m.end(), m.group().count(b"0"), count(".", m.start(), m.end()))
                for m in _RUN.finditer(image, first)
            ]
            entry = [text, image, runs, {}, None if runs else _EMPTY]
        _cache = entry  # one assignment: a racing thread sees an old or a new entry, never a mix
    return entry


def _profile(entry: _Entry) -> Profile:
    # Only the pure path's gates read the profile: it is worked out on first use.
    _, image, runs, _, _ = entry
    most = 0
    dotted = ssn = iban = False
    for lo, hi, digits, dots in runs:
        if digits > most:
            most = digits
        if dots >= 3:
            dotted = True
        if not ssn and digits >= 9:
            shape = image[lo:hi]
            ssn = _SSN_SHAPES[0] in shape or _SSN_SHAPES[1] in shape
        # An IBAN lies in a run's window (24 characters before it, 40 after: see IBANDetector).
        if not iban:
            iban = image.find(_IBAN_SHAPE, max(0, lo - 24), hi + 40) >= 0
    profile = (most, dotted, ssn, iban)
    entry[4] = profile  # the same value whoever computes it
    return profile


def image_of(text: str) -> bytes:
    """The class image of ``text``: ``"0"`` per ASCII digit, ``"."`` per separator `` .()/-``, ``"A"``
    per ASCII capital, ``" "`` for anything else; one byte per character, so offsets are shared."""
    entry = _cache
    return entry[1] if entry[0] is text else _entry(text)[1]


def run_profile(text: str) -> Profile:
    """``(most digits in one numeric run, whether a run holds 3 or more dots, whether an SSN shape
    occurs, whether an IBAN shape occurs)``; ``(0, False, False, False)`` without runs.

    The engine uses it to skip detectors that cannot match: a card needs 13 digits in one run, a phone
    number 8, an IPv4 address three dots, an SSN ``000-00-0000`` or nine digits, an IBAN ``AA00``.
    """
    entry = _cache
    if entry[0] is not text:
        entry = _entry(text)
    profile = entry[4]
    return profile if profile is not None else _profile(entry)


def run_windows(text: str, before: int, after: int) -> list[Run]:
    """The numeric runs widened by ``before``/``after`` characters and merged where they overlap, as
    ``(start, end, digits, dots)``: a detector skips the windows whose runs are too small for it."""
    entry = _cache
    if entry[0] is not text:
        entry = _entry(text)
    runs, widened = entry[2], entry[3]
    if not runs:
        return runs
    windows = widened.get((before, after))
    if windows is None:
        windows = widened[before, after] = _widen(runs, len(text), before, after)
    return windows


def _widen(runs: list[Run], size: int, before: int, after: int) -> list[Run]:
    windows: list[Run] = []
    for start, end, digits, dots in runs:
        lo = start - before if start > before else 0
        hi = end + after if end + after < size else size
        if windows and lo <= windows[-1][1]:
            plo, _, pdigits, pdots = windows[-1]
            windows[-1] = (plo, hi, digits if digits > pdigits else pdigits, dots if dots > pdots else pdots)
        else:
            windows.append((lo, hi, digits, dots))
    return windows


__all__ = ["image_of", "run_profile", "run_windows"]
