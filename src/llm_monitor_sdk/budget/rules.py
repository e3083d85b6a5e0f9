"""Budget rules: the ``BudgetRule`` value type and the ``LLM_MONITOR_BUDGETS`` parser.

Grammar (CONTRACT.md): rules separated by ``;``, each ``SCOPE[=KEY]:WINDOW=USD[:soft=FRACTION]``, e.g.
``global:daily=100; user:daily=2:soft=0.5; tenant=acme:monthly=500``. Every malformed rule is a
``ValueError`` that names the variable, quotes the rule and says what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_SOFT", "SCOPES", "WINDOWS", "BudgetRule", "coerce_rules", "parse_rules"]

SCOPES: tuple[str, ...] = ("global", "user", "tenant", "feature", "model")
WINDOWS: tuple[str, ...] = ("hourly", "daily", "weekly", "monthly", "total")
DEFAULT_SOFT = 0.8
# Amounts are counted in integer nano-dollars so that sums are exact (0.001 * 50 == 0.05, always).
NANO_PER_USD = 1_000_000_000
# A key may not contain the grammar's separators, so every rule can be written back as text.
_FORBIDDEN_KEY_CHARS = frozenset(";:=")
_MAX_LIMIT_USD = 1e9


def usd_to_nano(usd: float) -> int:
    """USD to integer nano-dollars, rounded to the nearest unit."""
    return round(usd * NANO_PER_USD)


def nano_to_usd(nano: int) -> float:
    """Integer nano-dollars back to USD."""
    return nano / NANO_PER_USD


def _fmt_number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """One budget limit: ``scope`` (and optionally one ``key``) over a ``window``.

    ``key=None`` applies the limit to every key of the scope separately (every user gets ``limit_usd``);
    a ``key`` applies it to that key alone. ``global`` takes no key. ``soft`` is the fraction of the limit
    at which a soft alert fires once per window.

    Example: ``BudgetRule(scope="user", key=None, window="daily", limit_usd=2.0, soft=0.8)``.
    """

    scope: str
    key: str | None
    window: str
    limit_usd: float
    soft: float = DEFAULT_SOFT

    def __post_init__(self) -> None:
        problem = _rule_problem(self.scope, self.key, self.window, self.limit_usd, self.soft)
        if problem:
            raise ValueError(f"budget rule {self._describe()}: {problem}")
        # Normalise numbers to float so equal rules compare and hash equal (2 vs 2.0).
        object.__setattr__(self, "limit_usd", float(self.limit_usd))
        object.__setattr__(self, "soft", float(self.soft))

    def _describe(self) -> str:
        return (
            f"BudgetRule(scope={self.scope!r}, key={self.key!r}, window={self.window!r}, "
            f"limit_usd={self.limit_usd!r}, soft={self.soft!r})"
        )

    @property
    def identity(self) -> str:
        """What the ledgers count under: ``SCOPE[=KEY]:WINDOW``; the limit is not part of it, so raising a
        limit keeps the spend already counted."""
        target = self.scope if self.key is None else f"{self.scope}={self.key}"
        return f"{target}:{self.window}"

    @property
    def limit_nano(self) -> int:
        """The limit in integer nano-dollars."""
        return usd_to_nano(self.limit_usd)

    @property
    def soft_nano(self) -> int:
        """The soft-alert threshold in integer nano-dollars."""
        return usd_to_nano(self.limit_usd * self.soft)

    def __str__(self) -> str:
        text = f"{self.identity}={_fmt_number(self.limit_usd)}"
        if self.soft != DEFAULT_SOFT:
            text += f":soft={_fmt_number(self.soft)}"
        return text


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rule_problem(scope: Any, key: Any, window: Any, limit: Any, soft: Any) -> str | None:
    """Why these fields do not make a valid rule, or ``None`` when they do."""
    if scope not in SCOPES:
        return f"unknown scope {scope!r} (expected one of {', '.join(SCOPES)})"
    if key is not None:
        if scope == "global":
            return "'global' takes no key (write 'global:WINDOW=USD')"
        if not isinstance(key, str) or not key.strip():
            return "the key is empty (write 'SCOPE:WINDOW=USD' to apply the limit to every key)"
        if key != key.strip():
            return f"the key {key!r} has surrounding whitespace"
        bad = sorted(_FORBIDDEN_KEY_CHARS.intersection(key))
        if bad:
            return f"the key {key!r} contains {' '.join(repr(c) for c in bad)}, which the grammar reserves"
    if window not in WINDOWS:
        return f"unknown window {window!r} (expected one of {', '.join(WINDOWS)})"
    if not _is_real(limit) or not math.isfinite(limit):
        return f"the limit {limit!r} is not a finite number of USD"
    if limit < 0:
        return f"the limit {limit!r} is negative"
    if limit > _MAX_LIMIT_USD:
        return f"the limit {limit!r} is above the supported maximum of {_MAX_LIMIT_USD:.0f} USD"
    if not _is_real(soft) or not math.isfinite(soft) or not 0 < soft <= 1:
        return f"soft={soft!r} must be a fraction in (0, 1]"
    return None


def _parse_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    return value


def _parse_one(rule: str) -> BudgetRule:
    """Parse one rule (already stripped, non-empty); raises ``ValueError`` with the reason only."""
    head, sep, rest = rule.partition(":")
    if not sep:
        raise ValueError("missing ':' between the scope and the window (expected SCOPE[=KEY]:WINDOW=USD)")
    scope, key_eq, key = (part.strip() for part in head.partition("="))
    scope = scope.lower()
    if not scope:
        raise ValueError("missing scope before ':'")
    if key_eq and not key:
        raise ValueError(f"'{scope}=' has an empty key")
    parts = [part.strip() for part in rest.split(":")]
    if any(not part for part in parts):
        raise ValueError("empty part between ':' separators")
    window, eq, amount = (part.strip() for part in parts[0].partition("="))
    window = window.lower()
    if not eq:
        raise ValueError(f"missing '=USD' after the window {window!r}")
    if not amount:
        raise ValueError(f"missing amount after '{window}='")
    limit = _parse_number(amount.removeprefix("$"), "the limit")
    soft: float = DEFAULT_SOFT
    seen: set[str] = set()
    for option in parts[1:]:
        name, eq, value = (part.strip() for part in option.partition("="))
        name = name.lower()
        if name != "soft":
            raise ValueError(f"unknown option {option!r} (the only option is soft=FRACTION)")
        if name in seen:
            raise ValueError("soft is given twice")
        seen.add(name)
        if not eq or not value:
            raise ValueError("soft needs a value, e.g. soft=0.8")
        soft = _parse_number(value, "soft")
    rule_key = key if key_eq else None
    problem = _rule_problem(scope, rule_key, window, limit, soft)
    if problem:
        raise ValueError(problem)
    return BudgetRule(scope=scope, key=rule_key, window=window, limit_usd=limit, soft=soft)


def _check_duplicates(rules: Iterable[tuple[str, BudgetRule]], variable: str) -> None:
    seen: dict[str, str] = {}
    for text, rule in rules:
        if rule.identity in seen:
            raise ValueError(
                f"{variable}: rules {seen[rule.identity]!r} and {text!r} both limit "
                f"{rule.identity!r}; keep one"
            )
        seen[rule.identity] = text


def parse_rules(text: str, variable: str = "LLM_MONITOR_BUDGETS") -> list[BudgetRule]:
    """Parse ``SCOPE[=KEY]:WINDOW=USD[:soft=FRACTION]`` rules separated by ``;``.

    An empty or blank string gives no rules. A trailing ``;`` is allowed; any other empty rule, unknown
    scope or window, bad number, ``global=KEY``, soft outside (0, 1] or two rules for the same
    ``SCOPE[=KEY]:WINDOW`` raises ``ValueError`` naming ``variable`` and quoting the rule.
    """
    if not isinstance(text, str):
        raise ValueError(f"{variable}: expected a string of rules, got {type(text).__name__}")
    segments = text.split(";")
    if segments and not segments[-1].strip():
        segments.pop()  # one trailing ';' is harmless
    if not segments:
        return []
    parsed: list[tuple[str, BudgetRule]] = []
    for index, segment in enumerate(segments, start=1):
        rule_text = segment.strip()
        if not rule_text:
            raise ValueError(
                f"{variable}: rule #{index} is empty in {text!r} (two ';' in a row or a leading ';')"
            )
        try:
            parsed.append((rule_text, _parse_one(rule_text)))
        except ValueError as exc:
            raise ValueError(f"{variable}: rule {rule_text!r}: {exc}") from None
    _check_duplicates(parsed, variable)
    return [rule for _, rule in parsed]


def coerce_rules(
    rules: str | BudgetRule | Iterable[str | BudgetRule | Mapping[str, Any]] | None,
    variable: str = "budgets",
) -> list[BudgetRule]:
    """Accept what ``instrument(budgets=...)`` takes and return validated rules.

    ``rules`` may be ``None``, a rule string (``parse_rules`` grammar), one ``BudgetRule``, or an iterable
    of ``BudgetRule`` objects, rule strings and dicts of ``BudgetRule`` fields.
    """
    if rules is None:
        return []
    if isinstance(rules, str):
        return parse_rules(rules, variable)
    if isinstance(rules, BudgetRule):
        return [rules]
    if isinstance(rules, Mapping) or not isinstance(rules, Iterable):
        raise ValueError(
            f"{variable}: expected a rule string or a list of BudgetRule, got {type(rules).__name__}"
        )
    collected: list[tuple[str, BudgetRule]] = []
    for item in rules:
        if isinstance(item, BudgetRule):
            collected.append((str(item), item))
        elif isinstance(item, str):
            collected.extend((str(rule), rule) for rule in parse_rules(item, variable))
        elif isinstance(item, Mapping):
            try:
                rule = BudgetRule(**dict(item))
            except TypeError as exc:
                raise ValueError(f"{variable}: rule {dict(item)!r}: {exc}") from None
            except ValueError as exc:
                raise ValueError(f"{variable}: {exc}") from None
            collected.append((str(rule), rule))
        else:
            raise ValueError(f"{variable}: {item!r} is not a BudgetRule, a rule string or a dict")
    _check_duplicates(collected, variable)
    return [rule for _, rule in collected]
