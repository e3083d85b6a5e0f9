"""The redaction engine: walks one record dict, redacts every captured string, counts what it found.

Runs on the export worker, once per record, before any exporter sees it. Which fields are content:

* ``system_instructions``, ``input_messages``, ``output_messages``: every value of every message and
  part (text, tool-call ``arguments`` as a string or nested object, tool ``response``, reasoning, ...)
  except the structural keys ``type``, ``role``, ``id``, ``name``, ``finish_reason``, ``mime_type``;
* ``input``, ``output`` (spans), ``metadata``, ``request_params``, ``tags``: every string at any depth
  (dict keys are left alone, values are redacted);
* ``retrieval_sources`` (each source's ``content``; ``id`` kept) and ``reference`` on ``llm_call``;
* ``evaluation.label``, ``evaluation.explanation`` (and a ``comment`` in it) and ``comment`` on
  ``feedback``/``evaluation`` records; ``guardrail.reason``; every string of an ``event`` but its
  ``type``, grouping ``key``, context fields and fingerprints;
* ``error.message``; and ``user_id`` when ``hash_user_id`` is on.

Ids, timestamps, numbers, model names, ``provider`` and the rest are never touched.

With the accelerator (``_prefilter``, the ``fast`` extra) one compiled pass over each string decides
which built-in detectors run; the findings are the same as without it.

Fail closed: a detector that raises is disabled for the life of this redactor (counted in
``stats["detector_errors"]``) and the string it failed on becomes ``<REDACTION_FAILED>``; an unexpected
error while walking a field replaces that whole field with a placeholder of the same type. The record
is always returned, never with the raw value.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import weakref
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import _forksafe
from .._convert import to_jsonable
from . import _prefilter as _pf
from ._base import Detector
from .config import ALL_TYPES, BUILTIN_ENTITIES, RedactionConfig, make_detector
from .strategies import DEFAULT_STRATEGY, STRATEGIES, dropped, keyed_hash, normalize, partial

if TYPE_CHECKING:
    from ._numeric import Profile

logger = logging.getLogger("llm_monitor_sdk.redaction")

FAILED = "<REDACTION_FAILED>"
#: Count key in ``record["redactions"]`` for strings or fields replaced because redaction failed.
FAILED_ENTITY = "REDACTION_FAILED"

_ALWAYS, _AT, _IP, _SSN, _IBAN = 0, -1, -2, -3, -4


class _Builtins:
    """The built-in detector classes and their gates, imported on first use.

    Importing the detector modules compiles ~40 regular expressions (~50 ms on a slow core), so it
    happens when the first record is redacted, on the export worker, not at ``instrument()`` time.
    """

    __slots__ = ("conditions", "factories", "gates", "run_profile", "types")

    def __init__(self) -> None:
        from ._numeric import run_profile
        from .detectors import CreditCardDetector, EmailDetector, IBANDetector, IPAddressDetector, SSNDetector
        from .phone import PhoneDetector
        from .secrets import SecretDetector

        self.factories: dict[str, Callable[[], Detector]] = {
            "SECRET": SecretDetector,
            "IBAN_CODE": IBANDetector,
            "CREDIT_CARD": CreditCardDetector,
            "US_SSN": SSNDetector,
            "EMAIL_ADDRESS": EmailDetector,
            "IP_ADDRESS": IPAddressDetector,
            "PHONE_NUMBER": PhoneDetector,
        }
        self.types = frozenset(self.factories.values())
        # What a built-in detector needs in a string before it can match anything. Checking this once
        # per string in the engine spares the detectors (and their generators) on the many strings
        # without it. Positive gates are the digits a match needs in one numeric run; the others read
        # the shapes of ``_numeric.run_profile``.
        self.gates: dict[type, int] = {
            CreditCardDetector: 13,
            SSNDetector: _SSN,  # "000-00-0000" or nine digits in a row
            PhoneDetector: 8,  # every accepted shape has 8 or more digits
            IBANDetector: _IBAN,  # country code and check digits: "AA00"
            IPAddressDetector: _IP,  # IPv4: a run with three dots; IPv6 holds ":"
            EmailDetector: _AT,
        }
        self.run_profile: Callable[[str], Profile] = run_profile
        # With the accelerator: the prefilter bits of which one must be set before the detector runs
        # (``_prefilter._CONDITIONS``). ``SECRET`` gets the bits themselves: the rule families to try.
        self.conditions: dict[type, int] = {
            SecretDetector: _pf.SECRET_ANY,
            IBANDetector: _pf.IBAN,
            CreditCardDetector: _pf.CARD,
            SSNDetector: _pf.SSN,
            EmailDetector: _pf.EMAIL,
            IPAddressDetector: _pf.IPV4 | _pf.IPV6,
            PhoneDetector: _pf.PHONE,
        }


_builtins_loaded: _Builtins | None = None
_builtins_lock = threading.Lock()


def _builtins() -> _Builtins:
    global _builtins_loaded
    if _builtins_loaded is None:
        with _builtins_lock:
            if _builtins_loaded is None:
                _builtins_loaded = _Builtins()
    return _builtins_loaded


def __getattr__(name: str) -> Any:
    # ``_BUILTIN_FACTORIES`` stays importable (tests use it) without loading the detectors at import.
    if name == "_BUILTIN_FACTORIES":
        return _builtins().factories
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_MESSAGE_FIELDS = ("system_instructions", "input_messages", "output_messages")
_VALUE_FIELDS = ("input", "output", "metadata", "request_params", "tags")
_STRUCTURAL_KEYS = frozenset({"type", "role", "id", "name", "finish_reason", "mime_type", "modality"})
# The other kinds of record: the object holding their text and the keys of it that are content
# (``None``: the whole object but ``_EVENT_KEPT``).
_KIND_FIELDS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("evaluation", ("explanation", "label", "comment")),
    ("guardrail", ("reason",)),
    ("event", None),
)
# Values kept when a failed evaluation or guardrail object is replaced (numbers, flags and None are
# kept too; every other value becomes the placeholder).
_KIND_KEPT = frozenset({"name", "source", "stage"})
# Event keys never redacted: the type, the context fields an event is keyed by, fingerprints.
_EVENT_KEPT = frozenset({"type", "key", "feature", "prompt_name", "prompt_version", "variant"})
_SCALARS = (int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)

# Every built-in match of under 48 characters holds one of these characters (keys, digits, "@", "::",
# "key=") or "Bearer"/"Basic" or one of the token openings below, so short labels and tags skip the
# seven detectors. A character class
# rather than one alternation: the regex engine scans a class about five times faster.
_SHORT_TRIGGER = re.compile(r"[0-9@:=_-]")
# The tokens that need none of them: AWS key ids and Google keys (AKIA + 16 of [A-Z2-7] holds no digit
# one time in 28) and JWTs, whose three parts may be letters only.
_SHORT_TOKEN = re.compile(r"A(?:KIA|SIA|BIA|CCA|Iza)")


# The scan cache: every scanned string, up to this many characters in all, each entry also charged a
# fixed amount for the dict slot and the string object (so a flood of short unique ids stays bounded).
_CACHE_MAX_CHARS = 8 * 2**20
_CACHE_ENTRY_COST = 160  # bytes: the string object, the dict slot, the spans
_MISSING: Any = object()
# What most strings hold: one shared, never-mutated empty list, so a cached clean string costs no list.
_NO_SPANS: list[tuple[int, int, str]] = []

_process_key: bytes | None = None
_process_key_lock = threading.Lock()


def process_key() -> bytes:
    """The random per-process HMAC key used when no ``key`` is configured (warns once)."""
    global _process_key
    with _process_key_lock:
        if _process_key is None:
            _process_key = os.urandom(32)
            logger.warning(
                "LLM_MONITOR_REDACT_KEY is not set: hashed values use a random per-process key and will "
                "not match across processes or restarts"
            )
        return _process_key


class _Pass:
    """Per-record state: match counts and the mask numbers given out so far."""

    __slots__ = ("counts", "numbers")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.numbers: dict[str, dict[str, int]] = {}


class Redactor:
    """Redacts record dicts in place. Build one with :func:`build_redactor`; use from one thread.

    ``stats`` holds process-lifetime counters: ``records``, ``redactions`` (matches replaced),
    ``detector_errors``, ``detectors_disabled`` and ``fields_failed``. ``builtin`` names built-in entity
    types whose detectors are created (and their regexes compiled) on first use, after ``detectors``.
    ``accelerator=True`` puts the compiled prefilter of the ``fast`` extra in front of the built-in
    detectors (same findings, fewer detector runs); without the extra installed it has no effect.
    """

    def __init__(
        self,
        detectors: list[Detector],
        *,
        strategies: Mapping[str, str] | None = None,
        key: bytes | None = None,
        hash_user_id: bool = False,
        enabled: bool = True,
        builtin: Sequence[str] = (),
        accelerator: bool = False,
    ) -> None:
        self.enabled = enabled
        self._accelerate = accelerator
        self._prefilter: _pf.Prefilter | None = None
        self._fast_plan: tuple[tuple[int, Detector, int], ...] = ()
        self._cache: dict[str, list[tuple[int, int, str]]] = {}
        self._cache_chars = 0
        self._detectors: tuple[Detector, ...] = tuple(detectors)
        self._pending = tuple(builtin)
        self._plan: tuple[tuple[int, Detector, int], ...] = ()
        self._builtin_only = False
        self._run_profile: Callable[[str], Profile] | None = None
        self._ready = False
        self._ready_lock = threading.Lock()
        _redactors.add(self)
        table = dict(strategies or {})
        self._default = table.pop(ALL_TYPES, DEFAULT_STRATEGY)
        self._strategies = table
        self._key = key
        self._hash_user_id = hash_user_id
        self.stats: dict[str, int] = {
            "records": 0,
            "redactions": 0,
            "detector_errors": 0,
            "detectors_disabled": 0,
            "fields_failed": 0,
        }

    @property
    def entities(self) -> list[str]:
        """The entity types still detected, in priority order."""
        self._ensure_ready()
        return [d.entity for d in self._detectors]

    @property
    def accelerated(self) -> bool:
        """True when the compiled prefilter runs in front of the built-in detectors."""
        self._ensure_ready()
        return self._prefilter is not None

    def _ensure_ready(self) -> None:
        # Built-in detectors are created on first use: on the export worker, not at instrument() time.
        # Everything is built into locals and published at the end, so a thread that stops half-way
        # (a fork in the child) leaves the redactor as it was, ready to be set up again.
        if self._ready:
            return
        with _forksafe.critical(), self._ready_lock:
            if self._ready:
                return
            builtins = _builtins()
            detectors = (*self._detectors, *(builtins.factories[e]() for e in self._pending))
            prefilter = _pf.build() if self._accelerate else None
            self._detectors = detectors
            self._pending = ()
            self._plan = _plan(detectors)
            self._fast_plan = _fast_plan(detectors)
            self._builtin_only = all(type(d) in builtins.types for d in detectors)
            self._run_profile = builtins.run_profile
            self._prefilter = prefilter
            self._ready = True

    def strategy_for(self, entity: str) -> str:
        """The strategy applied to ``entity``."""
        return self._strategies.get(entity, self._default)

    # -- records ---------------------------------------------------------------------------------

    def redact_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Redact every captured string of ``record`` in place, set ``record["redactions"]``, return it."""
        if not self.enabled:
            return record
        if not self._ready:
            self._ensure_ready()
        self.stats["records"] += 1
        state = _Pass()
        # One try per field (fail closed field by field), written out here rather than in a helper:
        # this runs for every field of every record.
        get = record.get
        message_like, walk = self._message_like, self._walk
        for name in _MESSAGE_FIELDS:
            value = get(name)
            if value:
                try:
                    if type(value) is list:
                        for i, item in enumerate(value):
                            if type(item) is dict:
                                message_like(item, state)
                            else:
                                value[i] = walk(item, state)
                    else:
                        record[name] = walk(value, state)
                except Exception:
                    record[name] = self._field_failed(name, state)
        for name in _VALUE_FIELDS:
            value = get(name)
            if value:
                try:
                    record[name] = walk(value, state)
                except Exception:
                    record[name] = self._field_failed(name, state)
        error = get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            try:
                error["message"] = self._text(error["message"], state)
            except Exception:
                error["message"] = self._field_failed("error", state)
        kind = get("kind")
        if kind == "llm_call" or kind is None:
            sources = get("retrieval_sources")
            if sources:
                try:
                    if type(sources) is list:
                        for i, item in enumerate(sources):
                            if type(item) is dict:
                                message_like(item, state)  # "content" (and any other text); "id" kept
                            else:
                                sources[i] = walk(item, state)
                    else:
                        record["retrieval_sources"] = walk(sources, state)
                except Exception:
                    record["retrieval_sources"] = self._field_failed("retrieval_sources", state)
            reference = get("reference")
            if reference:
                try:
                    record["reference"] = walk(reference, state)
                except Exception:
                    record["reference"] = self._field_failed("reference", state)
        elif kind != "span":
            self._other_kinds(record, state)
        if self._hash_user_id and isinstance(record.get("user_id"), str):
            record["user_id"] = keyed_hash(self._key or process_key(), record["user_id"])
        if state.counts:
            merged = dict(record.get("redactions") or {})
            replaced = 0
            for entity, n in state.counts.items():
                merged[entity] = merged.get(entity, 0) + n
                if entity != FAILED_ENTITY:
                    replaced += n
            record["redactions"] = merged
            self.stats["redactions"] += replaced
        elif "redactions" not in record:
            record["redactions"] = {}
        return record

    def redact_text(self, text: str) -> str:
        """Redact one string on its own (mask numbers start at 1 for each call)."""
        if not self.enabled:
            return text
        self._ensure_ready()
        return self._text(text, _Pass())

    def _other_kinds(self, record: dict[str, Any], state: _Pass) -> None:
        # feedback and evaluation: the judgement's text; guardrail: its reason; event: every string
        # but the event's type, the context fields it is keyed by and fingerprints.
        for name, keys in _KIND_FIELDS:
            obj = record.get(name)
            if type(obj) is not dict:
                continue
            try:
                if keys is None:
                    self._walk_event(obj, state)
                    continue
                for key in keys:
                    value = obj.get(key)
                    if value and type(value) not in _SCALAR_TYPES:
                        obj[key] = self._walk(value, state)
            except Exception:
                record[name] = self._field_failed(name, state, obj)
        comment = record.get("comment")
        if comment and type(comment) not in _SCALAR_TYPES:
            try:
                record["comment"] = self._walk(comment, state)
            except Exception:
                record["comment"] = self._field_failed("comment", state)

    def _walk_event(self, obj: dict[str, Any], state: _Pass) -> None:
        for k, v in obj.items():
            if type(v) in _SCALAR_TYPES or k in _EVENT_KEPT or (type(k) is str and k.endswith("fingerprint")):
                continue
            if type(v) is dict:
                self._walk_event(v, state)
            elif type(v) is list:
                for i, item in enumerate(v):
                    if type(item) is dict:
                        self._walk_event(item, state)
                    else:
                        v[i] = self._walk(item, state)
            else:
                obj[k] = self._walk(v, state)

    def _field_failed(self, name: str, state: _Pass, original: Any = None) -> Any:
        # Never export a field we could not finish: replace it whole, keep its type valid.
        self.stats["fields_failed"] += 1
        state.counts[FAILED_ENTITY] = state.counts.get(FAILED_ENTITY, 0) + 1
        logger.warning("redaction of field %r failed; field replaced", name, exc_info=True)
        return _failed_field(name, original)

    def _message_like(self, obj: dict[str, Any], state: _Pass) -> dict[str, Any]:
        # A message ({"role", "parts"}) or a part ({"type", "content" | "arguments" | "response"}).
        text = self._text
        for k, v in obj.items():
            tv = type(v)
            if tv is str:
                if k not in _STRUCTURAL_KEYS:
                    new = text(v, state)
                    if new is not v:
                        obj[k] = new
            elif k == "parts" and tv is list:
                for i, part in enumerate(v):
                    v[i] = self._message_like(part, state) if type(part) is dict else self._walk(part, state)
            elif tv not in _SCALAR_TYPES:
                new = self._walk(v, state)
                if new is not v:
                    obj[k] = new
        return obj

    def _walk(self, value: Any, state: _Pass) -> Any:
        # Exact-type checks first: JSON-ready records hold only these, and ``type(x) is`` is the
        # cheapest test. Subclasses and other objects take the general path below.
        tv = type(value)
        if tv is str:
            return self._text(value, state)
        if tv is dict:
            for k, v in value.items():
                tv = type(v)
                if tv in _SCALAR_TYPES:
                    continue
                new = self._text(v, state) if tv is str else self._walk(v, state)
                if new is not v:
                    value[k] = new  # same key: allowed while iterating
            return value
        if tv is list:
            for i, v in enumerate(value):
                tv = type(v)
                if tv in _SCALAR_TYPES:
                    continue
                new = self._text(v, state) if tv is str else self._walk(v, state)
                if new is not v:
                    value[i] = new
            return value
        if tv in _SCALAR_TYPES:
            return value
        return self._walk_other(value, state)

    def _walk_other(self, value: Any, state: _Pass) -> Any:
        if isinstance(value, str):
            return self._text(value, state)
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, dict):
            for k, v in value.items():
                new = self._walk(v, state)
                if new is not v:
                    value[k] = new
            return value
        if isinstance(value, list):
            for i, v in enumerate(value):
                new = self._walk(v, state)
                if new is not v:
                    value[i] = new
            return value
        if isinstance(value, tuple | set | frozenset):
            return [self._walk(v, state) for v in value]
        if isinstance(value, bytes | bytearray):
            return self._text(bytes(value).decode("utf-8", "replace"), state)
        # Not JSON-ready (a datetime, a dataclass, an object): convert it as record building and the
        # encoder do (ISO 8601, fields, repr; a marker when even that fails), then redact the result.
        converted = to_jsonable(value)
        if type(converted) in _SCALAR_TYPES:
            return converted
        return self._walk(converted, state)

    # -- strings ---------------------------------------------------------------------------------

    def _text(self, text: str, state: _Pass) -> str:
        size = len(text)
        if size < 3:
            return text
        if (
            size < 48
            and self._builtin_only
            and _SHORT_TRIGGER.search(text) is None
            and "earer" not in text
            and "asic" not in text
            and "eyJ" not in text
            and ("A" not in text or _SHORT_TOKEN.search(text) is None)
        ):
            return text
        spans = self._cache.get(text, _MISSING)
        if spans is _MISSING:
            spans = self._scan(text)
            if spans is not None:
                self._remember(text, spans)
        if spans is None:
            state.counts[FAILED_ENTITY] = state.counts.get(FAILED_ENTITY, 0) + 1
            return FAILED
        if not spans:
            return text
        counts = state.counts
        pieces: list[str] = []
        drop: list[str] = []
        pos = 0
        for start, end, entity in spans:
            counts[entity] = counts.get(entity, 0) + 1
            strategy = self._strategies.get(entity, self._default)
            if strategy == "drop":
                drop.append(entity)
                continue
            pieces.append(text[pos:start])
            pieces.append(self._replacement(entity, text[start:end], strategy, state))
            pos = end
        if drop:
            return dropped(drop)
        pieces.append(text[pos:])
        return "".join(pieces)

    def clear_cache(self) -> None:
        """Forget the matches remembered for repeated strings (benchmarks measure cold scans with it)."""
        self._cache.clear()
        self._cache_chars = 0

    def _remember(self, text: str, spans: list[tuple[int, int, str]]) -> None:
        # Chat apps resend the same system prompt and the whole history on every turn, and records
        # repeat the same dates, ids and tool arguments: the matches found in a string are kept
        # (bounded by total size) so repeated text is scanned once. Only the spans are cached;
        # placeholders are numbered per record as usual.
        cost = len(text) + _CACHE_ENTRY_COST
        if self._cache_chars + cost > _CACHE_MAX_CHARS:
            self._cache.clear()
            self._cache_chars = 0
        self._cache[text] = spans
        self._cache_chars += cost

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """The ``(start, end, entity)`` matches the redactor would replace in ``text``, without replacing.

        A detector that raises is disabled (as during redaction) and an empty list is returned.
        """
        self._ensure_ready()
        return self._scan(text) or []

    def _scan(self, text: str) -> list[tuple[int, int, str]] | None:
        """Non-overlapping matches sorted by start, or ``None`` when a detector failed."""
        if self._prefilter is not None:
            return self._scan_prefiltered(text, self._prefilter.scan(text))
        found: list[tuple[int, int, int, str]] = []
        size = len(text)
        profile = None
        for rank, detector, gate in self._plan:
            if gate:
                if gate == _AT:
                    if "@" not in text:
                        continue
                else:
                    if profile is None:
                        profile = self._run_profile(text)  # type: ignore[misc]  # set by _ensure_ready
                    if gate > 0:
                        if profile[0] < gate:
                            continue
                    elif gate == _IP:
                        if not profile[1] and ":" not in text:
                            continue
                    elif not profile[2 if gate == _SSN else 3]:
                        continue
            try:
                for start, end in detector.find(text):
                    if not (type(start) is int and type(end) is int and 0 <= start < end <= size):
                        raise ValueError(f"detector returned an invalid span ({start!r}, {end!r})")
                    found.append((rank, start, -end, detector.entity))
            except Exception:
                self._disable(detector)
                return None
        return _resolve(found)

    def _scan_prefiltered(self, text: str, mask: int) -> list[tuple[int, int, str]] | None:
        # The accelerated path: a built-in detector runs only when the prefilter found its condition
        # in the string (``need`` is 0 for custom detectors: they always run). ``SECRET`` is told which
        # of its rule families to try.
        if not mask and self._builtin_only:
            return _NO_SPANS
        found: list[tuple[int, int, int, str]] = []
        size = len(text)
        for rank, detector, need in self._fast_plan:
            if need and not mask & need:
                continue
            try:
                spans = detector.find_parts(text, mask) if need == _pf.SECRET_ANY else detector.find(text)  # type: ignore[attr-defined]
                for start, end in spans:
                    if not (type(start) is int and type(end) is int and 0 <= start < end <= size):
                        raise ValueError(f"detector returned an invalid span ({start!r}, {end!r})")
                    found.append((rank, start, -end, detector.entity))
            except Exception:
                self._disable(detector)
                return None
        return _resolve(found)

    def _disable(self, detector: Detector) -> None:
        self.stats["detector_errors"] += 1
        self.stats["detectors_disabled"] += 1
        self._detectors = tuple(d for d in self._detectors if d is not detector)
        self._plan = _plan(self._detectors)
        self._fast_plan = _fast_plan(self._detectors)
        self._cache.clear()  # cached spans came from a detector set that no longer exists
        self._cache_chars = 0
        logger.warning(
            "redaction detector %s (%r) raised and is disabled; the string was replaced with %s",
            detector.entity, detector, FAILED, exc_info=True,
        )  # fmt: skip

    def _replacement(self, entity: str, value: str, strategy: str, state: _Pass) -> str:
        if strategy == "hash":
            return f"<{entity}:{keyed_hash(self._key or process_key(), normalize(entity, value))}>"
        if strategy == "partial":
            return partial(entity, value)
        numbers = state.numbers.setdefault(entity, {})
        norm = normalize(entity, value)
        n = numbers.get(norm)
        if n is None:
            n = numbers[norm] = len(numbers) + 1
        return f"<{entity}_{n}>"


def _resolve(found: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """``(rank, start, -end, entity)`` matches to non-overlapping ``(start, end, entity)`` by start."""
    if not found:
        return _NO_SPANS
    if len(found) > 1:
        found.sort()
    # Higher-priority detectors win overlaps (a URL password over the email it resembles). ``kept``
    # stays sorted by start, so one bisect finds the only neighbours that could overlap.
    kept: list[tuple[int, int, str]] = []
    for _, start, neg_end, entity in found:
        end = -neg_end  # sorted longest first among equal starts
        i = bisect_left(kept, (start,))
        if (i and kept[i - 1][1] > start) or (i < len(kept) and kept[i][0] < end):
            continue
        kept.insert(i, (start, end, entity))
    return kept


_redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A fork copies only the thread that called it: a lock that another thread held at that moment
    # (the lazy set-up of the detectors, of a redactor, of the hash key) would stay held in the child
    # forever and hang its first redaction. The child gets fresh locks; what they guard is published
    # in one assignment, so it is either complete or set up again.
    global _builtins_lock, _process_key_lock
    _builtins_lock = threading.Lock()
    _process_key_lock = threading.Lock()
    for redactor in list(_redactors):
        redactor._ready_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _plan(detectors: tuple[Detector, ...]) -> tuple[tuple[int, Detector, int], ...]:
    # Ranks are positions in the full list, so priorities survive a disabled detector.
    gates = _builtins().gates
    return tuple((rank, d, gates.get(type(d), _ALWAYS)) for rank, d in enumerate(detectors))


def _fast_plan(detectors: tuple[Detector, ...]) -> tuple[tuple[int, Detector, int], ...]:
    conditions = _builtins().conditions
    return tuple((rank, d, conditions.get(type(d), 0)) for rank, d in enumerate(detectors))


def _failed_field(name: str, original: Any = None) -> Any:
    if name in _MESSAGE_FIELDS:
        part = {"type": "text", "content": FAILED}
        return [part] if name == "system_instructions" else [{"role": "redacted", "parts": [part]}]
    if name in ("metadata", "request_params"):
        return {"redaction": FAILED}
    if name == "tags":
        return [FAILED]
    if name == "retrieval_sources":
        return [{"id": None, "content": FAILED}]
    if name in ("evaluation", "guardrail", "event") and type(original) is dict:
        # Keep the object's shape (and its structural values: names, scores, flags, the event type);
        # every text value that could hold what failed becomes the placeholder.
        kept = _EVENT_KEPT if name == "event" else _KIND_KEPT
        return {k: v if k in kept or type(v) in _SCALAR_TYPES else FAILED for k, v in original.items()}
    return FAILED


def build_redactor(
    config: RedactionConfig | None = None, *, source: Mapping[str, str] | None = None
) -> Redactor:
    """Validate ``config`` and build its :class:`Redactor`.

    Args:
        config: the settings (``None``: defaults). Anything :meth:`RedactionConfig.coerce` accepts works.
        source: where ``entities`` and ``strategies`` came from, e.g.
            ``{"entities": "LLM_MONITOR_REDACT_ENTITIES", "strategies": "LLM_MONITOR_REDACT_STRATEGY"}``,
            so that a ``ValueError`` names the variable the user must fix.

    Raises:
        ValueError: an unknown entity type or strategy, a malformed custom detector, or an accelerator
            that is required (``accelerator=True``) but missing.
    """
    cfg = config if isinstance(config, RedactionConfig) else RedactionConfig.coerce(config)
    src = dict(source or {})
    if not cfg.enabled:
        return Redactor([], enabled=False)
    custom = [make_detector(item) for item in cfg.custom_detectors]
    known = set(BUILTIN_ENTITIES) | {d.entity for d in custom}

    ent_var = src.get("entities", "redact.entities")
    if cfg.entities is not None:
        unknown = sorted(str(e) for e in set(cfg.entities) - known)
        if unknown:
            raise ValueError(
                f"{ent_var}: unknown entity type(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
    strat_var = src.get("strategies", "redact.strategies")
    for entity, strategy in cfg.strategies.items():
        if entity != ALL_TYPES and entity not in known:
            raise ValueError(
                f"{strat_var}: unknown entity type {entity!r}; known: {', '.join(sorted(known))}"
            )
        if strategy not in STRATEGIES:
            raise ValueError(
                f"{strat_var}: unknown strategy {strategy!r} for {entity}; use one of {', '.join(STRATEGIES)}"
            )

    enabled = BUILTIN_ENTITIES if cfg.entities is None else [e for e in BUILTIN_ENTITIES if e in cfg.entities]
    key = cfg.key.encode() if isinstance(cfg.key, str) else cfg.key
    if not key and (cfg.hash_user_id or "hash" in cfg.strategies.values()):
        key = process_key()
    accelerator = _pf.resolve(cfg.accelerator)
    # Everything above can reject the configuration; the built-in detectors (and the accelerator's
    # database) compile on first use.
    return Redactor(
        custom,
        strategies=cfg.strategies,
        key=key or None,
        hash_user_id=cfg.hash_user_id,
        builtin=enabled,
        accelerator=accelerator,
    )


__all__ = ["FAILED", "FAILED_ENTITY", "Redactor", "build_redactor", "process_key"]
