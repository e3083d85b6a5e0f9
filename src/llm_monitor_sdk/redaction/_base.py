"""The detector seam: what the redaction engine needs from anything that finds sensitive text.

A detector has an ``entity`` name (upper case, e.g. ``EMAIL_ADDRESS``) and a ``find(text)`` method
that yields ``(start, end)`` character spans. The engine resolves overlaps between detectors, applies
the strategy configured for the entity and counts the matches. Detectors run on the export worker
thread only, one string at a time; a detector that raises is disabled for the rest of the process
and the string it failed on is replaced as a whole (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, runtime_checkable

Span = tuple[int, int]

_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")


def check_entity_name(name: str) -> str:
    """Return ``name`` if it is a valid entity name (``UPPER_SNAKE_CASE``), else raise ``ValueError``."""
    if not isinstance(name, str) or not _ENTITY_NAME.match(name):
        raise ValueError(f"entity name must be UPPER_SNAKE_CASE (like EMAIL_ADDRESS), got {name!r}")
    return name


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def ascii_lower(text: str) -> str:
    """``text`` lower-cased with its offsets kept: ``str.lower`` lengthens a few non-ASCII letters
    ("İ" becomes two characters), which would shift every position found in the lowered copy."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


@runtime_checkable
class Detector(Protocol):
    """Anything that finds one entity type in a string."""

    entity: str

    def find(self, text: str) -> Iterable[Span]:
        """Yield ``(start, end)`` spans of ``text`` that hold the entity."""
        ...


class RegexDetector:
    """A user detector made of a name and a regular expression, with an optional validator.

    Args:
        entity: the entity name used for counts and placeholders, e.g. ``"EMPLOYEE_ID"``.
        pattern: a regular expression (string or compiled).
        group: which group of each match is redacted (``0``: the whole match). Use a group to keep
            a label and redact only the value, as in ``r"emp(?:loyee)? id: (\\w+)"`` with ``group=1``.
        validator: called with the matched text; the match is kept only when it returns true.
        flags: ``re`` flags used when ``pattern`` is a string.
        prefilter: a substring that every match contains; strings without it are skipped cheaply.
    """

    def __init__(
        self,
        entity: str,
        pattern: str | re.Pattern[str],
        *,
        group: int | str = 0,
        validator: Callable[[str], bool] | None = None,
        flags: int = 0,
        prefilter: str | None = None,
    ) -> None:
        self.entity = check_entity_name(entity)
        try:
            self.pattern = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
        except re.error as exc:
            raise ValueError(f"detector {entity}: invalid regular expression: {exc}") from None
        self.group = group
        self.validator = validator
        self.prefilter = prefilter

    def find(self, text: str) -> Iterator[Span]:
        """Yield the spans of every (validated) match of the pattern's ``group``."""
        if self.prefilter is not None and self.prefilter not in text:
            return
        for match in self.pattern.finditer(text):
            start, end = match.span(self.group)
            if start < 0 or start == end:
                continue
            if self.validator is None or self.validator(text[start:end]):
                yield start, end

    def __repr__(self) -> str:
        return f"RegexDetector({self.entity!r}, {self.pattern.pattern!r})"


__all__ = ["Detector", "RegexDetector", "Span", "ascii_lower", "check_entity_name"]
