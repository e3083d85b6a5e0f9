"""One shared pass that finds the number-like regions of a string for the digit-based detectors.

Cards, SSNs, phone numbers, IPv4 addresses and IBANs all contain a run of at least six characters of
digits and separators. Finding those runs once, and letting each detector run its precise pattern
only inside them, costs one regex pass per string instead of five. The last result is cached by
string identity because the detectors run one after another on the same string.
"""

from __future__ import annotations

import re

# The scan runs on a one-byte-per-character image of the string in which every ASCII digit is "0",
# every separator " .()/-" is "." and everything else is " ". A pattern that starts with the literal
# "0" lets the regex engine jump from digit to digit, about 2.5 times faster than a "\d" pattern on
# the string itself. Encoding with "replace" keeps one byte per character, so offsets match. Runs
# are not capped in length: a long run is one window, scanned whole by each detector.
_IMAGE = bytes(
    ord("0") if chr(b).isdigit() and b < 128 else ord(".") if chr(b) in " .()/-" else ord(" ") for b in range(256)
)
_RUN = re.compile(rb"0[0.]{4,}0")

Windows = list[tuple[int, int]]
#: ``(start, end, digits, dots)`` of a numeric run or of a window of merged runs (the largest
#: digit and dot counts of one run in it).
Run = tuple[int, int, int, int]
#: ``(text, runs, windows by (before, after), (most digits in one run, a run with 3+ dots))``
_Entry = tuple[str, list[Run], dict[tuple[int, int], list[Run]], tuple[int, bool]]
_cache: _Entry = ("", [], {}, (0, False))


def _entry(text: str) -> _Entry:
    global _cache
    entry = _cache
    if entry[0] is not text:
        image = text.encode("latin-1", "replace").translate(_IMAGE)
        runs: list[Run] = []
        profile = (0, False)
        spans = [m.span() for m in _RUN.finditer(image)]
        if spans:
            # A match of any digit type lies inside one run (the detectors' digit and separator
            # characters are exactly the run's), so these counts tell which types can match where.
            runs = [(lo, hi, image.count(b"0", lo, hi), text.count(".", lo, hi)) for lo, hi in spans]
            profile = (max(r[2] for r in runs), any(r[3] >= 3 for r in runs))
        entry = (text, runs, {}, profile)
        _cache = entry  # one assignment: a racing thread sees an old or a new entry, never a mix
    return entry


def run_profile(text: str) -> tuple[int, bool]:
    """``(most digits in one numeric run, whether a run holds 3 or more dots)``; ``(0, False)`` without runs.

    The engine uses it to skip detectors that cannot match: a card needs 13 digits in one run, an SSN
    9, a phone number 8, an IPv4 address three dots.
    """
    return _entry(text)[3]


def numeric_runs(text: str) -> Windows:
    """``(start, end)`` of each run of ASCII digits and the separators `` .()/-`` (at least 6 characters,
    a digit at both ends)."""
    return [(lo, hi) for lo, hi, _, _ in _entry(text)[1]]


def run_windows(text: str, before: int, after: int) -> list[Run]:
    """The numeric runs widened by ``before``/``after`` characters and merged where they overlap, as
    ``(start, end, digits, dots)``: a detector skips the windows whose runs are too small for it."""
    _, runs, widened, _ = _entry(text)
    if not runs:
        return runs
    windows = widened.get((before, after))
    if windows is None:
        windows = widened[before, after] = _widen(runs, len(text), before, after)
    return windows


def _widen(runs: list[Run], size: int, before: int, after: int) -> list[Run]:
    windows: list[Run] = []
    for start, end, digits, dots in runs:
        lo, hi = max(0, start - before), min(size, end + after)
        if windows and lo <= windows[-1][1]:
            plo, _, pdigits, pdots = windows[-1]
            windows[-1] = (plo, hi, max(digits, pdigits), max(dots, pdots))
        else:
            windows.append((lo, hi, digits, dots))
    return windows


__all__ = ["numeric_runs", "run_profile", "run_windows"]
