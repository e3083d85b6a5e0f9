"""Redaction settings and the parsers that ``config.py`` uses for the ``LLM_MONITOR_REDACT_*`` variables.

Formats (every error is a ``ValueError`` that names the variable and the bad value):

* ``LLM_MONITOR_REDACT_ENTITIES``: empty or ``all`` for every built-in type; a comma list to enable only
  those (``EMAIL_ADDRESS,CREDIT_CARD``); or a comma list of ``-NAME`` to enable all but those
  (``-PHONE_NUMBER,-IP_ADDRESS``). Names are case-insensitive.
* ``LLM_MONITOR_REDACT_STRATEGY``: comma list of ``ENTITY=strategy`` (``EMAIL_ADDRESS=hash,CREDIT_CARD=partial``);
  a bare strategy (``hash``) sets the default for every type not named, also written ``*=hash``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ._base import Detector, RegexDetector
from .strategies import STRATEGIES

#: Every built-in entity type, in the order the engine prefers them when matches overlap.
BUILTIN_ENTITIES: tuple[str, ...] = (
    "SECRET",
    "IBAN_CODE",
    "CREDIT_CARD",
    "US_SSN",
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "PHONE_NUMBER",
)

#: The strategy-table key for "every type not named".
ALL_TYPES = "*"


def _fail(variable: str, text: str, why: str) -> ValueError:
    return ValueError(f"{variable}={text!r}: {why}")


def parse_entities(text: str, variable: str, *, known: Iterable[str] = ()) -> set[str] | None:
    """Parse an entity list; ``None`` means every type. ``known`` adds custom detector names."""
    valid = set(BUILTIN_ENTITIES) | set(known)
    items = [item.strip().upper() for item in text.split(",") if item.strip()]
    if not items or items == ["ALL"]:
        return None
    negated = [item.startswith("-") for item in items]
    if any(negated) and not all(negated):
        raise _fail(
            variable, text, "mix of NAME and -NAME entries; list the types to keep or the ones to drop"
        )
    names = [item.lstrip("-").strip() for item in items]
    unknown = sorted(set(names) - valid)
    if unknown:
        raise _fail(
            variable, text, f"unknown entity type(s) {', '.join(unknown)}; known: {', '.join(sorted(valid))}"
        )
    if all(negated):
        return valid - set(names)
    return set(names)


def parse_strategies(text: str, variable: str, *, known: Iterable[str] = ()) -> dict[str, str]:
    """Parse ``ENTITY=strategy`` pairs (and an optional bare default strategy) into a table."""
    valid = set(BUILTIN_ENTITIES) | set(known) | {ALL_TYPES}
    table: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        entity, sep, strategy = item.partition("=")
        if not sep:
            entity, strategy = ALL_TYPES, item
        entity, strategy = entity.strip().upper(), strategy.strip().lower()
        if entity not in valid:
            raise _fail(
                variable,
                text,
                f"unknown entity type {entity!r}; known: {', '.join(sorted(valid - {ALL_TYPES}))}",
            )
        if strategy not in STRATEGIES:
            raise _fail(
                variable,
                text,
                f"unknown strategy {strategy!r} for {entity}; use one of {', '.join(STRATEGIES)}",
            )
        table[entity] = strategy
    return table


def parse_accelerator(text: str, variable: str) -> bool | None:
    """Parse an accelerator setting: ``auto`` or empty is ``None`` (use it when installed), ``on``
    (``true``, ``1``, ``yes``) is ``True`` (require it), ``off`` (``false``, ``0``, ``no``) is ``False``."""
    value = text.strip().lower()
    if value in ("", "auto"):
        return None
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    raise _fail(variable, text, "expected auto, on or off")


CustomDetector = Detector | tuple[str, str]


@dataclass
class RedactionConfig:
    """How records are redacted.

    Attributes:
        enabled: ``False`` leaves every record untouched (``LLM_MONITOR_REDACT=false``).
        entities: built-in types to detect; ``None`` for all of them. Custom detectors always run.
        strategies: entity type → ``mask`` | ``hash`` | ``partial`` | ``drop``; the key ``"*"`` sets the
            default for types not named (``mask`` otherwise).
        key: HMAC key for ``hash`` and ``hash_user_id`` (``LLM_MONITOR_REDACT_KEY``); when unset a random
            per-process key is generated and a warning logged, so hashes only group within one process.
        hash_user_id: replace ``user_id`` with its keyed hash.
        custom_detectors: extra detectors: objects with ``entity`` and ``find(text)`` (see
            :class:`Detector`), :class:`RegexDetector` instances, or ``(ENTITY_NAME, regex)`` pairs.
        accelerator: the compiled prefilter of the ``fast`` extra. ``None`` (default): used when it is
            installed; ``False``: always the pure-Python path; ``True``: required (``ValueError`` when
            missing). Findings are the same either way; only the speed differs.
    """

    enabled: bool = True
    entities: set[str] | None = None
    strategies: dict[str, str] = field(default_factory=dict)
    key: str | bytes | None = None
    hash_user_id: bool = False
    custom_detectors: list[CustomDetector] = field(default_factory=list)
    accelerator: bool | None = None

    @classmethod
    def coerce(cls, value: Any) -> RedactionConfig:
        """Build a config from what ``instrument(redact=...)`` accepts.

        ``None`` or ``True``: the defaults; ``False``: disabled; a :class:`RedactionConfig`: itself; a
        mapping of field names (``entities`` and ``strategies`` may also be strings in the environment
        variable formats). Anything else is a ``ValueError`` naming ``redact``.
        """
        if value is None or value is True:
            return cls()
        if value is False:
            return cls(enabled=False)
        if isinstance(value, RedactionConfig):
            return value
        if isinstance(value, Mapping):
            names = {f.name for f in fields(cls)}
            unknown = sorted(str(k) for k in value if k not in names)
            if unknown:
                raise ValueError(
                    f"redact: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}"
                )
            kwargs = dict(value)
            custom = kwargs.get("custom_detectors") or []
            if isinstance(custom, Mapping):  # {"EMPLOYEE_ID": r"EMP-\d{6}"}
                custom = list(custom.items())
            kwargs["custom_detectors"] = list(custom)
            known = [_custom_entity(d) for d in kwargs["custom_detectors"]]
            if isinstance(kwargs.get("entities"), str):
                kwargs["entities"] = parse_entities(kwargs["entities"], "redact.entities", known=known)
            elif kwargs.get("entities") is not None:
                kwargs["entities"] = {str(e).upper() for e in kwargs["entities"]}
            if isinstance(kwargs.get("strategies"), str):
                kwargs["strategies"] = parse_strategies(
                    kwargs["strategies"], "redact.strategies", known=known
                )
            return cls(**kwargs)
        raise ValueError(
            f"redact: expected True, False, a RedactionConfig or a dict, got {type(value).__name__}"
        )


def _custom_entity(detector: Any) -> str:
    if isinstance(detector, tuple):
        return str(detector[0]).upper() if detector else ""
    return str(getattr(detector, "entity", ""))


def make_detector(item: Any) -> Detector:
    """Turn one ``custom_detectors`` entry into a :class:`Detector`, or raise ``ValueError``."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
        return RegexDetector(str(item[0]), item[1])
    if isinstance(getattr(item, "entity", None), str) and callable(getattr(item, "find", None)):
        return item
    raise ValueError(
        f"custom detector {item!r}: expected an object with .entity and .find(text), a RegexDetector, "
        "or a (NAME, regex) pair"
    )


__all__ = [
    "ALL_TYPES",
    "BUILTIN_ENTITIES",
    "RedactionConfig",
    "make_detector",
    "parse_accelerator",
    "parse_entities",
    "parse_strategies",
]
