"""Records from JSONL files: the one place that knows how the files are laid out.

- **Paths**: files, directories (every ``*.jsonl`` file in them), globs; for each file its rotated
  siblings ``FILE.1`` ... ``FILE.N`` and their ``.gz`` forms are read too, oldest first.
- **Time filters**: :class:`TimeRange` from ``since`` (``"24h"``, relative to now), ``start``/``end``
  (ISO dates or times, UTC when no offset is given) or ``"FROM..TO"``. A record's time is its
  ``started_at`` (else ``ended_at``).
- **Tolerance**: blank lines are ignored; a line that is not JSON, JSON that is not an object, an
  unknown or missing ``kind`` and a record without a readable time are skipped and counted; an
  unfinished last line (a writer is still appending, or crashed mid-line) is counted apart; records
  of a newer ``schema_version`` are read (fields are only ever added) and counted; fields a record
  lacks or holds in the wrong type are read as missing (``status`` defaults to ``error`` when an
  ``error`` object is present, else ``ok``) and counted. :class:`ReadStats` keeps the counts and
  gives the one summary line the command line prints on stderr.
- **Two engines, one answer**: a streaming pure-Python reader (constant memory, any input) and,
  when DuckDB is installed (``pip install -e '.[report]'``), a DuckDB table of the same
  normalised columns for large inputs. :data:`COLUMNS` lists every column once; :func:`normalize`
  is its Python definition and ``_DUCK_COLUMNS`` its SQL one, side by side. (DuckDB reads lines of
  up to 32 MB; a longer line counts as not JSON there. The SDK caps record content far below that.)
- **Following**: :func:`follow` yields records appended to a file, across rotation and truncation.
"""

from __future__ import annotations

import glob as _glob
import gzip
import heapq
import json
import math
import os
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import _clock
from ..record import SCHEMA_VERSION

#: Every ``kind`` a record may have; others are skipped and counted.
KINDS = ("llm_call", "span", "feedback", "evaluation", "alert", "guardrail", "event")
STATUSES = ("ok", "error", "blocked")
#: Finish reasons that mean a provider's content filter stopped the output.
CONTENT_FILTER_REASONS = ("content_filter", "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII")
#: Inputs at least this large (bytes on disk, all files) go to DuckDB when it is installed.
DUCKDB_THRESHOLD_BYTES = 8 * 2**20

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_ROTATED = re.compile(r"^(?P<base>.+?)(?:\.(?P<n>\d+))?(?P<gz>\.gz)?$")
_HEX15 = re.compile(r"[0-9a-fA-F]{15}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

try:  # orjson is ~4x faster on records (optional ``fast`` extra)
    import orjson as _orjson

    _loads: Callable[[bytes], Any] = _orjson.loads
except ImportError:  # pragma: no cover - exercised where orjson is missing

    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    def _loads(data: bytes) -> Any:
        return json.loads(data, parse_constant=_reject_constant)


# ---------------------------------------------------------------------------------------------------------
# Paths


def _has_magic(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _rotation_key(path: str) -> tuple[str, int]:
    # Oldest first: FILE.5.gz, FILE.4, ..., FILE.1, FILE (a plain FILE.gz sorts with FILE).
    match = _ROTATED.match(os.path.basename(path))
    assert match is not None
    number = int(match.group("n")) if match.group("n") else 0
    return os.path.join(os.path.dirname(path), match.group("base")), -number


def _siblings(path: str) -> list[str]:
    """``path`` and its rotated files ``path.N`` / ``path.N.gz`` / ``path.gz``."""
    found = [path] if os.path.isfile(path) else []
    escaped = _glob.escape(path)
    for candidate in _glob.glob(escaped + ".*"):
        suffix = candidate[len(path) :]
        if re.fullmatch(r"\.\d+(\.gz)?|\.gz", suffix) and os.path.isfile(candidate):
            found.append(candidate)
    return found


def _is_rotated_name(path: str) -> bool:
    return bool(re.search(r"\.\d+(\.gz)?$|\.gz$", path))


def expand_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    """Every file to read for ``paths``, oldest first within each rotated set.

    A file brings its rotated siblings; a directory brings every ``*.jsonl`` file in it (with theirs);
    a glob brings what it matches (with theirs). A path that names nothing raises
    ``FileNotFoundError``; a glob that matches nothing gives no files.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    found: dict[str, str] = {}
    for item in items:
        text = os.fspath(item)
        if os.path.isdir(text):
            candidates = [
                p
                for p in _glob.glob(os.path.join(_glob.escape(text), "*"))
                if os.path.isfile(p) and re.search(r"\.jsonl(\.\d+)?(\.gz)?$", p)
            ]
        elif _has_magic(text):
            candidates = [p for p in _glob.glob(text) if os.path.isfile(p)]
        elif os.path.isfile(text) or _siblings(text):
            candidates = [text]
        else:
            raise FileNotFoundError(f"no such file: {text}")
        for candidate in candidates:
            group = [candidate] if _is_rotated_name(candidate) else _siblings(candidate)
            for path in group:
                found.setdefault(os.path.realpath(path), path)
    return sorted(found.values(), key=_rotation_key)


# ---------------------------------------------------------------------------------------------------------
# Time


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"5m"``, ``"24h"``, ``"7d"``, ``"2w"``; ``ValueError`` otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r} (expected a number and s, m, h, d or w, e.g. 24h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _iso_us(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return (moment - _EPOCH) // _US
    except OverflowError:  # pragma: no cover - years beyond datetime's range
        return None


def parse_time(text: str) -> int:
    """Microseconds since the epoch of an ISO date or time (UTC unless it carries an offset)."""
    value = _iso_us(text.strip()) if isinstance(text, str) else None
    if value is None:
        raise ValueError(f"not an ISO date or time: {text!r} (e.g. 2026-12-01 or 2026-12-01T08:30:00Z)")
    return value


def format_us(value: int | None) -> str | None:
    """ISO 8601 UTC text of a time in microseconds since the epoch."""
    if value is None:
        return None
    return (_EPOCH + timedelta(microseconds=value)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class TimeRange:
    """Records with ``start_us <= time < end_us`` (either end open when None)."""

    start_us: int | None = None
    end_us: int | None = None

    def __post_init__(self) -> None:
        if self.start_us is not None and self.end_us is not None and self.end_us <= self.start_us:
            raise ValueError(f"empty time range: {format_us(self.start_us)} .. {format_us(self.end_us)}")

    @classmethod
    def build(
        cls,
        since: str | float | None = None,
        start: str | None = None,
        end: str | None = None,
        *,
        now: float | None = None,
    ) -> TimeRange:
        """From ``since`` (a duration text or seconds: the last so much, up to now), ``start``/``end``."""
        start_us = parse_time(start) if start else None
        end_us = parse_time(end) if end else None
        if since is not None and since != "":
            seconds = parse_duration(since) if isinstance(since, str) else float(since)
            moment = _clock.now() if now is None else now
            since_us = int((moment - seconds) * 1e6)
            start_us = since_us if start_us is None else max(start_us, since_us)
        return cls(start_us, end_us)

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        """``"FROM..TO"`` (either side may be empty for an open end)."""
        if ".." not in (text or ""):
            raise ValueError(f"not a time range: {text!r} (expected FROM..TO, e.g. 2026-12-01..2026-12-02)")
        left, right = text.split("..", 1)
        return cls(parse_time(left) if left.strip() else None, parse_time(right) if right.strip() else None)

    @property
    def bounded(self) -> bool:
        """Whether either end is set."""
        return self.start_us is not None or self.end_us is not None

    def contains(self, us: int) -> bool:
        """Whether a time (µs since the epoch) is inside."""
        return (self.start_us is None or us >= self.start_us) and (self.end_us is None or us < self.end_us)

    def sql(self, column: str = "tus") -> str:
        """The same test as a SQL condition."""
        parts = []
        if self.start_us is not None:
            parts.append(f"{column} >= {int(self.start_us)}")
        if self.end_us is not None:
            parts.append(f"{column} < {int(self.end_us)}")
        return " AND ".join(parts) or "TRUE"

    def describe(self) -> str:
        """``FROM .. TO`` for people."""
        return f"{format_us(self.start_us) or 'start'} .. {format_us(self.end_us) or 'end'}"


ALL_TIME = TimeRange()


# ---------------------------------------------------------------------------------------------------------
# Counts of what was read, skipped and defaulted

_SKIP_TEXT = {
    "not_json": "not JSON",
    "torn_line": "an unfinished last line",
    "not_object": "not a JSON object",
    "unknown_kind": "unknown or missing kind",
    "no_time": "no readable started_at/ended_at",
}
_NOTE_TEXT = {
    "newer_schema": "of a newer schema version (read as version 1)",
    "status_defaulted": "without a valid status (defaulted)",
    "latency_missing": "calls without a valid latency_ms",
}


@dataclass
class ReadStats:
    """What a read saw: files, lines, records kept, records outside the time range, skips and notes."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    records: int = 0
    filtered_out: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    engine: str = "python"

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the ``source`` part of a summary)."""
        return {
            "engine": self.engine,
            "files": list(self.files),
            "lines": self.lines,
            "records": self.records,
            "outside_time_range": self.filtered_out,
            "skipped": dict(sorted(self.skipped.items())),
            "notes": dict(sorted(self.notes.items())),
        }

    @property
    def skipped_total(self) -> int:
        """Lines skipped for any reason."""
        return sum(self.skipped.values())

    def summary_line(self) -> str:
        """One line for stderr: what was read, what was skipped and why, what was defaulted."""
        text = f"llm-monitor: read {self.records:,} records from {len(self.files)} file(s)"
        if self.filtered_out:
            text += f" ({self.filtered_out:,} outside the time range)"
        if self.skipped:
            reasons = ", ".join(f"{n:,} {_SKIP_TEXT.get(k, k)}" for k, n in sorted(self.skipped.items()))
            text += f"; skipped {self.skipped_total:,} line(s): {reasons}"
        if self.notes:
            notes = ", ".join(f"{n:,} {_NOTE_TEXT.get(k, k)}" for k, n in sorted(self.notes.items()))
            text += f"; {notes}"
        return text

    @property
    def noteworthy(self) -> bool:
        """Whether anything was skipped or defaulted (then the summary line is worth printing)."""
        return bool(self.skipped or self.notes)


# ---------------------------------------------------------------------------------------------------------
# Lines and records (pure Python)


def _open_binary(path: str) -> Any:
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def iter_lines(path: str) -> Iterator[tuple[bytes, bool]]:
    """``(line, torn)`` for each non-blank line; ``torn`` marks an unfinished last line of a plain file."""
    compressed = path.endswith(".gz")
    with _open_binary(path) as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                if line.strip():
                    yield line, not compressed
                return
            if line.strip():
                yield line, False


def parse_line(line: bytes, torn: bool, stats: ReadStats) -> tuple[int, dict[str, Any]] | None:
    """``(time_us, record)`` of one line, or None (counted in ``stats``) when it is not a record."""
    stats.lines += 1
    try:
        record = _loads(line)
    except ValueError:
        stats.skipped["torn_line" if torn else "not_json"] += 1
        return None
    if not isinstance(record, dict):
        stats.skipped["not_object"] += 1
        return None
    if _str(record.get("kind")) not in KINDS:
        stats.skipped["unknown_kind"] += 1
        return None
    tus = record_time_us(record)
    if tus is None:
        stats.skipped["no_time"] += 1
        return None
    version = _num(record.get("schema_version"))
    if version is not None and version > SCHEMA_VERSION:
        stats.notes["newer_schema"] += 1
    return tus, record


def record_time_us(record: dict[str, Any]) -> int | None:
    """A record's time: ``started_at``, else ``ended_at``, in µs since the epoch (None if neither reads)."""
    for key in ("started_at", "ended_at"):
        value = record.get(key)
        if isinstance(value, str):
            us = _iso_us(value)
            if us is not None:
                return us
    return None


def iter_timed(
    paths: str | Iterable[str],
    time_range: TimeRange = ALL_TIME,
    stats: ReadStats | None = None,
    *,
    files: Sequence[str] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(time_us, record)`` for every record of every file, in file order, inside ``time_range``."""
    stats = stats if stats is not None else ReadStats()
    chosen = list(files) if files is not None else expand_paths(paths)
    stats.files = chosen
    check = time_range.bounded
    for path in chosen:
        for line, torn in iter_lines(path):
            parsed = parse_line(line, torn, stats)
            if parsed is None:
                continue
            if check and not time_range.contains(parsed[0]):
                stats.filtered_out += 1
                continue
            stats.records += 1
            yield parsed


def iter_records(
    paths: str | Iterable[str],
    *,
    time_range: TimeRange = ALL_TIME,
    kinds: Iterable[str] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record (dict) of ``paths`` inside ``time_range``, of the given ``kinds`` (default all)."""
    wanted = set(kinds) if kinds is not None else None
    for _, record in iter_timed(paths, time_range, stats):
        if wanted is None or record.get("kind") in wanted:
            yield record


# ---------------------------------------------------------------------------------------------------------
# Normalised columns: one row per record, the same in Python and in DuckDB


def _str(value: Any) -> str | None:
    # What DuckDB's json_extract_string gives for the same JSON value.
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _num(value: Any) -> float | None:
    if type(value) is int or type(value) is float:
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _obj(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def sample_hash(record_id: Any) -> int | None:
    """The deterministic sampling key of a record: its id's first 15 hex digits as a number."""
    if isinstance(record_id, str) and _HEX15.fullmatch(record_id, 0, 15):
        return int(record_id[:15], 16)
    return None


def error_category(error: Any) -> str:
    """``error.category``, or one derived from the status code and type for records without it."""
    if not isinstance(error, dict):
        return "other"
    category = _str(error.get("category"))
    if category:
        return category
    code = _num(error.get("status_code"))
    kind = (_str(error.get("type")) or "").lower()
    if code == 429:
        return "rate_limit"
    if "timeout" in kind:
        return "timeout"
    if "connection" in kind:
        return "connection"
    if code is not None and code >= 500:
        return "server"
    if code is not None and code >= 400:
        return "client"
    if "cancel" in kind:
        return "cancelled"
    return "other"


#: The normalised columns (Python: :func:`normalize`; SQL: ``_DUCK_COLUMNS``).
COLUMNS = [
    "tus",
    "kind",
    "record_id",
    "trace_id",
    "session",
    "status",
    "err_type",
    "err_cat",
    "err_code",
    "err_msg",
    "latency",
    "ttft",
    "in_tok",
    "out_tok",
    "tot_tok",
    "cache_read",
    "cache_write",
    "reasoning",
    "cost",
    "provider",
    "model",
    "feature",
    "tenant",
    "user",
    "prompt_name",
    "prompt_version",
    "fingerprint",
    "variant",
    "service",
    "content_filtered",
    "refusal",
    "stream",
    "ev_name",
    "ev_score",
    "ev_passed",
    "ev_source",
    "gr_name",
    "gr_stage",
    "gr_blocked",
    "gr_latency",
    "h",
    "status_defaulted",
]


_EMPTY_ROW: dict[str, Any] = dict.fromkeys(COLUMNS)
_EMPTY_ROW.update(
    content_filtered=False, refusal=False, stream=False, gr_blocked=False, status_defaulted=False
)


def normalize(tus: int, record: dict[str, Any]) -> dict[str, Any]:
    """The normalised row of one record (the Python definition of :data:`COLUMNS`)."""
    get = record.get
    kind = get("kind")
    row = _EMPTY_ROW.copy()
    row["tus"] = tus
    row["kind"] = kind
    row["record_id"] = record_id = _str(get("record_id"))
    row["trace_id"] = _str(get("trace_id"))
    row["session"] = _str(get("session_id"))
    row["provider"] = _str(get("provider"))
    row["model"] = (_str(get("response_model")) or None) or (_str(get("request_model")) or None)
    row["feature"] = _str(get("feature"))
    row["tenant"] = _str(get("tenant_id"))
    row["user"] = _str(get("user_id"))
    row["prompt_name"] = _str(get("prompt_name"))
    row["prompt_version"] = _str(get("prompt_version"))
    row["fingerprint"] = _str(get("prompt_fingerprint"))
    row["variant"] = _str(get("variant"))
    row["service"] = _str(get("service_name"))
    row["latency"] = _num(get("latency_ms"))
    row["ttft"] = _num(get("ttft_ms"))
    row["cost"] = _num(get("cost_usd"))
    row["stream"] = get("stream") is True
    row["h"] = sample_hash(record_id)
    error = get("error")
    err = error if isinstance(error, dict) else {}
    raw_status = _str(get("status"))
    status = raw_status if raw_status in STATUSES else ("error" if err is error else "ok")
    row["status"] = status
    row["err_code"] = _num(err.get("status_code"))
    row["err_msg"] = _str(err.get("message"))
    category = None
    if status == "error":
        row["err_type"] = _str(err.get("type"))
        row["err_cat"] = category = error_category(error)
    if kind == "llm_call":
        row["status_defaulted"] = raw_status not in STATUSES
    usage = get("usage")
    if usage and isinstance(usage, dict):
        row["in_tok"] = _num(usage.get("input_tokens"))
        row["out_tok"] = _num(usage.get("output_tokens"))
        row["tot_tok"] = _num(usage.get("total_tokens"))
        row["cache_read"] = _num(usage.get("cache_read_input_tokens"))
        row["cache_write"] = _num(usage.get("cache_write_input_tokens"))
        row["reasoning"] = _num(usage.get("reasoning_output_tokens"))
    safety = _obj(record, "safety")
    reasons = get("finish_reasons")
    reasons = [r for r in reasons if type(r) is str] if isinstance(reasons, list) and reasons else ()
    row["content_filtered"] = (
        safety.get("content_filtered") is True
        or category == "content_filter"
        or any(r in CONTENT_FILTER_REASONS for r in reasons)
    )
    row["refusal"] = safety.get("refusal") is True or "refusal" in reasons
    evaluation = get("evaluation")
    if isinstance(evaluation, dict):
        passed = evaluation.get("passed")
        row["ev_name"] = _str(evaluation.get("name"))
        row["ev_score"] = _num(evaluation.get("score"))
        row["ev_passed"] = passed if isinstance(passed, bool) else None
        row["ev_source"] = _str(evaluation.get("source"))
    guardrail = get("guardrail")
    if isinstance(guardrail, dict):
        row["gr_name"] = _str(guardrail.get("name"))
        row["gr_stage"] = _str(guardrail.get("stage"))
        row["gr_blocked"] = guardrail.get("blocked") is True
        row["gr_latency"] = _num(guardrail.get("latency_ms"))
    return row


def note_defaults(row: dict[str, Any], stats: ReadStats) -> None:
    """Count what :func:`normalize` had to default on an ``llm_call`` row."""
    if row["kind"] != "llm_call":
        return
    if row["status_defaulted"]:
        stats.notes["status_defaulted"] += 1
    if row["latency"] is None and row["status"] != "blocked":
        stats.notes["latency_missing"] += 1


def iter_rows(
    paths: str | Iterable[str],
    time_range: TimeRange = ALL_TIME,
    stats: ReadStats | None = None,
    *,
    files: Sequence[str] | None = None,
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(row, record)`` pairs: the normalised row and the record it came from."""
    stats = stats if stats is not None else ReadStats()
    for tus, record in iter_timed(paths, time_range, stats, files=files):
        row = normalize(tus, record)
        note_defaults(row, stats)
        yield row, record


# ---------------------------------------------------------------------------------------------------------
# DuckDB: the same rows as a table

_S = [
    "$.kind",
    "$.record_id",
    "$.trace_id",
    "$.session_id",
    "$.status",
    "$.error.type",
    "$.error.category",
    "$.error.message",
    "$.provider",
    "$.response_model",
    "$.request_model",
    "$.feature",
    "$.tenant_id",
    "$.user_id",
    "$.prompt_name",
    "$.prompt_version",
    "$.prompt_fingerprint",
    "$.variant",
    "$.service_name",
    "$.evaluation.name",
    "$.evaluation.source",
    "$.guardrail.name",
    "$.guardrail.stage",
    "$.started_at",
    "$.ended_at",
]
_N = [
    "$.latency_ms",
    "$.ttft_ms",
    "$.usage.input_tokens",
    "$.usage.output_tokens",
    "$.usage.total_tokens",
    "$.usage.cache_read_input_tokens",
    "$.usage.cache_write_input_tokens",
    "$.usage.reasoning_output_tokens",
    "$.cost_usd",
    "$.error.status_code",
    "$.safety.content_filtered",
    "$.safety.refusal",
    "$.stream",
    "$.evaluation.score",
    "$.evaluation.passed",
    "$.guardrail.blocked",
    "$.guardrail.latency_ms",
    "$.schema_version",
    "$.error",
    "$.finish_reasons",
]


def _s(path: str) -> str:
    return f"s[{_S.index(path) + 1}]"


def _n(path: str) -> str:
    # The JSON text of a number casts to DOUBLE; that of a string (quoted), bool or null does not.
    value = f"TRY_CAST(n[{_N.index(path) + 1}]::VARCHAR AS DOUBLE)"
    return f"(CASE WHEN isfinite({value}) THEN {value} END)"


def _text(path: str) -> str:
    return f"n[{_N.index(path) + 1}]::VARCHAR"


def _true(path: str) -> str:
    return f"coalesce({_text(path)} = 'true', false)"


_CATEGORY = f"""CASE
    WHEN coalesce({_s("$.error.category")}, '') <> '' THEN {_s("$.error.category")}
    WHEN {_n("$.error.status_code")} = 429 THEN 'rate_limit'
    WHEN contains(lower(coalesce({_s("$.error.type")}, '')), 'timeout') THEN 'timeout'
    WHEN contains(lower(coalesce({_s("$.error.type")}, '')), 'connection') THEN 'connection'
    WHEN {_n("$.error.status_code")} >= 500 THEN 'server'
    WHEN {_n("$.error.status_code")} >= 400 THEN 'client'
    WHEN contains(lower(coalesce({_s("$.error.type")}, '')), 'cancel') THEN 'cancelled'
    ELSE 'other' END"""
_STATUS = (
    f"CASE WHEN {_s('$.status')} IN ('ok', 'error', 'blocked') THEN {_s('$.status')} "
    f"WHEN starts_with({_text('$.error')}, '{{') THEN 'error' ELSE 'ok' END"
)
_REASONS = f"coalesce({_text('$.finish_reasons')}, '')"
_DUCK_COLUMNS = {
    "kind": _s("$.kind"),
    "record_id": _s("$.record_id"),
    "trace_id": _s("$.trace_id"),
    "session": _s("$.session_id"),
    "status": "status",
    "err_type": f"CASE WHEN status = 'error' THEN {_s('$.error.type')} END",
    "err_cat": "err_cat",
    "err_code": _n("$.error.status_code"),
    "err_msg": _s("$.error.message"),
    "latency": _n("$.latency_ms"),
    "ttft": _n("$.ttft_ms"),
    "in_tok": _n("$.usage.input_tokens"),
    "out_tok": _n("$.usage.output_tokens"),
    "tot_tok": _n("$.usage.total_tokens"),
    "cache_read": _n("$.usage.cache_read_input_tokens"),
    "cache_write": _n("$.usage.cache_write_input_tokens"),
    "reasoning": _n("$.usage.reasoning_output_tokens"),
    "cost": _n("$.cost_usd"),
    "provider": _s("$.provider"),
    "model": f"coalesce(nullif({_s('$.response_model')}, ''), nullif({_s('$.request_model')}, ''))",
    "feature": _s("$.feature"),
    "tenant": _s("$.tenant_id"),
    "user": _s("$.user_id"),
    "prompt_name": _s("$.prompt_name"),
    "prompt_version": _s("$.prompt_version"),
    "fingerprint": _s("$.prompt_fingerprint"),
    "variant": _s("$.variant"),
    "service": _s("$.service_name"),
    "content_filtered": f"({_true('$.safety.content_filtered')} OR coalesce(err_cat = 'content_filter', false) OR "
    + " OR ".join(f"contains({_REASONS}, '\"{reason}\"')" for reason in CONTENT_FILTER_REASONS)
    + ")",
    "refusal": f"({_true('$.safety.refusal')} OR contains({_REASONS}, '\"refusal\"'))",
    "stream": _true("$.stream"),
    "ev_name": _s("$.evaluation.name"),
    "ev_score": _n("$.evaluation.score"),
    "ev_passed": f"CASE WHEN {_text('$.evaluation.passed')} IN ('true', 'false') "
    f"THEN {_text('$.evaluation.passed')} = 'true' END",
    "ev_source": _s("$.evaluation.source"),
    "gr_name": _s("$.guardrail.name"),
    "gr_stage": _s("$.guardrail.stage"),
    "gr_blocked": _true("$.guardrail.blocked"),
    "gr_latency": _n("$.guardrail.latency_ms"),
    "h": f"CASE WHEN length({_s('$.record_id')}) >= 15 AND NOT contains(left({_s('$.record_id')}, 15), '_') "
    f"THEN TRY_CAST('0x' || left({_s('$.record_id')}, 15) AS BIGINT) END",
    "status_defaulted": f"(kind_ok AND {_s('$.kind')} = 'llm_call' AND "
    f"coalesce({_s('$.status')} NOT IN ('ok', 'error', 'blocked'), true))",
}
_TIME = f"epoch_us(coalesce(TRY_CAST({_s('$.started_at')} AS TIMESTAMPTZ), TRY_CAST({_s('$.ended_at')} AS TIMESTAMPTZ)))"


def duckdb_available() -> bool:
    """Whether DuckDB can be imported."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def choose_engine(engine: str, files: Sequence[str]) -> str:
    """``"duckdb"`` or ``"python"`` for ``engine`` (``auto``, ``duckdb`` or ``python``)."""
    if engine not in ("auto", "duckdb", "python"):
        raise ValueError(f"unknown engine {engine!r}; expected auto, duckdb or python")
    if engine == "python":
        return "python"
    if engine == "duckdb":
        from ._extras import require

        require("duckdb", "the DuckDB engine")
        return "duckdb"
    if not duckdb_available():
        return "python"
    size = 0
    for path in files:
        try:
            size += os.path.getsize(path) * (8 if path.endswith(".gz") else 1)
        except OSError:
            pass
    return "duckdb" if size >= DUCKDB_THRESHOLD_BYTES else "python"


def torn_tail(path: str) -> bool:
    """Whether a plain file ends with an unfinished line that is not JSON (compressed files: never)."""
    if path.endswith(".gz"):
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if size == 0:
                return False
            position, tail = size, b""
            while position > 0:
                step = min(65536, position)
                position -= step
                handle.seek(position)
                tail = handle.read(step) + tail
                if tail.endswith(b"\n"):
                    return False
                if b"\n" in tail[:-1] or position == 0:
                    break
    except OSError:
        return False
    last = tail[tail.rfind(b"\n") + 1 :]
    if not last.strip():
        return False
    try:
        _loads(last)
    except ValueError:
        return True
    return False


def duckdb_connect() -> Any:
    """A fresh in-memory DuckDB connection in UTC."""
    import duckdb

    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    # Rows may be stored in any order (every query sorts what it needs): less memory on large inputs.
    connection.execute("SET preserve_insertion_order = false")
    connection.execute("SET enable_progress_bar = false")
    return connection


def _source_sql(extra: str = "") -> str:
    return (
        "SELECT json AS j" + extra + " FROM read_json_objects(?, format = 'newline_delimited', "
        "ignore_errors = true, maximum_object_size = 33554432)"
    )


def load_duckdb(
    files: Sequence[str],
    time_range: TimeRange = ALL_TIME,
    stats: ReadStats | None = None,
    *,
    connection: Any = None,
    table: str = "rows",
    keep_below: int | None = None,
) -> Any:
    """Read ``files`` into DuckDB table ``table`` of :data:`COLUMNS` (records inside ``time_range``).

    Alert and event records also keep their JSON text (column ``j``) for the few panels that list
    them, and so do calls whose sampling key is below ``keep_below`` (see :func:`sample_from_duckdb`).
    Fills ``stats`` exactly as the Python reader would. Returns the connection.
    """
    stats = stats if stats is not None else ReadStats()
    stats.engine = "duckdb"
    stats.files = list(files)
    connection = connection or duckdb_connect()
    if not files:
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT "
            + ", ".join(f"NULL::{_sql_type(c)} AS {_q(c)}" for c in COLUMNS)
            + ", NULL::VARCHAR AS j WHERE false"
        )
        return connection
    columns = ",\n    ".join(f"{expr} AS {_q(name)}" for name, expr in _DUCK_COLUMNS.items())
    keep = ""
    if keep_below is not None:
        keep = (
            f"OR ({_s('$.kind')} = 'llm_call' AND coalesce({_DUCK_COLUMNS['h']} < {int(keep_below)}, false))"
        )
    kinds = ", ".join(f"'{k}'" for k in KINDS)
    connection.execute(
        f"""
CREATE OR REPLACE TEMP TABLE _raw_{table} AS
WITH src AS ({_source_sql()}),
x AS (
  SELECT j, CASE WHEN j IS NULL THEN NULL WHEN starts_with(j::VARCHAR, '{{') THEN 'OBJECT' ELSE 'OTHER' END AS jt,
    json_extract_string(j, {_S!r}) AS s, json_extract(j, {_N!r}) AS n FROM src
),
y AS (
  SELECT *, coalesce(jt = 'OBJECT' AND {_s("$.kind")} IN ({kinds}), false) AS kind_ok, {_TIME} AS tus FROM x
),
z AS (
  SELECT *, {_STATUS} AS status FROM y
),
w AS (
  SELECT *, CASE WHEN status = 'error' THEN {_CATEGORY} END AS err_cat FROM z
)
SELECT
    CASE WHEN j IS NULL THEN 'not_json' WHEN jt <> 'OBJECT' THEN 'not_object'
         WHEN NOT kind_ok THEN 'unknown_kind' WHEN tus IS NULL THEN 'no_time' END AS issue,
    coalesce({_n("$.schema_version")} > {SCHEMA_VERSION}, false) AS newer,
    tus,
    {columns},
    CASE WHEN {_s("$.kind")} IN ('alert', 'event') {keep} THEN j::VARCHAR END AS j
FROM w
""",
        [list(files)],
    )
    issues = dict(connection.execute(f"SELECT issue, count(*) FROM _raw_{table} GROUP BY issue").fetchall())
    stats.lines = sum(issues.values())
    torn = sum(torn_tail(path) for path in files)
    for issue, count in issues.items():
        if issue is None:
            continue
        if issue == "not_json" and torn:
            stats.skipped["torn_line"] += min(torn, count)
            count -= min(torn, count)
        if count:
            stats.skipped[issue] += count
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * EXCLUDE (issue, newer) FROM _raw_{table} "
        f"WHERE issue IS NULL AND {time_range.sql()}"
    )
    (newer,) = connection.execute(
        f"SELECT count(*) FILTER (WHERE newer) FROM _raw_{table} WHERE issue IS NULL"
    ).fetchone()
    (inside, total, defaulted, no_latency) = connection.execute(
        f"""SELECT count(*), (SELECT count(*) FROM _raw_{table} WHERE issue IS NULL),
        count(*) FILTER (WHERE status_defaulted),
        count(*) FILTER (WHERE kind = 'llm_call' AND latency IS NULL AND status <> 'blocked') FROM {table}"""
    ).fetchone()
    stats.records += inside
    stats.filtered_out += total - inside
    if newer:
        stats.notes["newer_schema"] += newer
    if defaulted:
        stats.notes["status_defaulted"] += defaulted
    if no_latency:
        stats.notes["latency_missing"] += no_latency
    return connection


def _q(name: str) -> str:
    return f'"{name}"'


def _sql_type(column: str) -> str:
    if column in ("tus", "h"):
        return "BIGINT"
    if column in ("content_filtered", "refusal", "stream", "ev_passed", "gr_blocked", "status_defaulted"):
        return "BOOLEAN"
    if column in [
        "err_code",
        "latency",
        "ttft",
        "in_tok",
        "out_tok",
        "tot_tok",
        "cache_read",
        "cache_write",
        "reasoning",
        "cost",
        "ev_score",
        "gr_latency",
    ]:
        return "DOUBLE"
    return "VARCHAR"


# ---------------------------------------------------------------------------------------------------------
# Deterministic samples (drift): the k records with the smallest sampling key, per side


def sample_calls(
    files: Sequence[str],
    sides: dict[str, TimeRange],
    k: int,
    *,
    engine: str = "python",
    where: Callable[[dict[str, Any]], bool] | None = None,
    stats: ReadStats | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per side, the (at most) ``k`` successful ``llm_call`` records with the smallest sampling key.

    The key is the record id's first 15 hex digits (ids are random, so this is a uniform sample,
    the same for both engines and for every run). Records without a hex id are never sampled.
    ``where`` (Python engine only) narrows the population further.
    """
    if engine == "duckdb" and where is None:
        return _duck_sample(files, sides, k)
    heaps: dict[str, list[tuple[int, int, dict[str, Any]]]] = {name: [] for name in sides}
    counter = 0
    for tus, record in iter_timed(files, ALL_TIME, stats if stats is not None else ReadStats(), files=files):
        if record.get("kind") != "llm_call":
            continue
        status = _str(record.get("status"))
        if status not in STATUSES:
            status = "error" if isinstance(record.get("error"), dict) else "ok"
        if status != "ok":
            continue
        key = sample_hash(record.get("record_id"))
        if key is None:
            continue
        for name, side in sides.items():
            if not side.contains(tus):
                continue
            if where is not None and not where(record):
                continue
            heap = heaps[name]
            counter += 1
            item = (-key, counter, record)
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif -key > heap[0][0]:
                heapq.heapreplace(heap, item)
    return {name: [item[2] for item in sorted(heap, key=lambda i: -i[0])] for name, heap in heaps.items()}


#: Sampling keys are below this bound (15 hex digits).
SAMPLE_KEY_SPACE = 16**15


def keep_below_for(files: Sequence[str], k: int, parts: int = 3, margin: float = 4.0) -> int:
    """A sampling-key bound under which each of ``parts`` equal parts of the input likely holds ``k``
    calls (estimated from the files' sizes, ``margin`` times over)."""
    size = 0
    for path in files:
        try:
            size += os.path.getsize(path) * (8 if path.endswith(".gz") else 1)
        except OSError:
            pass
    estimated_records = max(size / 1000, 1)
    share = min(1.0, margin * k * parts / estimated_records)
    return int(share * SAMPLE_KEY_SPACE)


def sample_from_duckdb(
    connection: Any,
    files: Sequence[str],
    sides: dict[str, TimeRange],
    k: int,
    keep_below: int,
    *,
    table: str = "rows",
) -> dict[str, list[dict[str, Any]]]:
    """:func:`sample_calls` from a table :func:`load_duckdb` made with ``keep_below``, without reading
    the files again when every side's ``k`` smallest keys are among the kept ones (otherwise the
    files are read again for that side). The result is the same either way."""
    result: dict[str, list[dict[str, Any]]] = {}
    for name, side in sides.items():
        where = f"kind = 'llm_call' AND status = 'ok' AND h IS NOT NULL AND {side.sql()}"
        below, total = connection.execute(
            f"SELECT count(*) FILTER (WHERE h < {int(keep_below)}), count(*) FROM _raw_{table} "
            f"WHERE issue IS NULL AND {where}"
        ).fetchone()
        if below >= min(k, total):
            (chosen,) = connection.execute(
                f"SELECT min_by(j, h, {int(k)}) FROM _raw_{table} WHERE issue IS NULL AND {where} "
                f"AND h < {int(keep_below)}"
            ).fetchone()
            records = [_loads(text.encode()) for text in chosen or []]
            result[name] = sorted(records, key=lambda r: sample_hash(r.get("record_id")) or 0)
        else:
            result[name] = _duck_sample(files, {name: side}, k)[name]
    return result


def _duck_sample(
    files: Sequence[str], sides: dict[str, TimeRange], k: int
) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    if not files or not sides or k <= 0:
        return result
    connection = duckdb_connect()
    # A record may fall in several sides (overlapping ranges): one query per side keeps that exact.
    for name, side in sides.items():
        (chosen,) = connection.execute(
            f"""
WITH src AS ({_source_sql()}),
x AS (SELECT j, json_extract_string(j, {_S!r}) AS s, json_extract(j, {_N!r}) AS n FROM src
      WHERE starts_with(j::VARCHAR, '{{')),
y AS (SELECT j, {_TIME} AS tus, {_STATUS} AS status, {_DUCK_COLUMNS["h"]} AS h FROM x
      WHERE {_s("$.kind")} = 'llm_call')
SELECT min_by(j::VARCHAR, h, {int(k)}) FROM y WHERE status = 'ok' AND h IS NOT NULL AND tus IS NOT NULL
  AND {side.sql()}
""",
            [list(files)],
        ).fetchone()
        records = [_loads(text.encode()) for text in chosen or []]
        result[name] = sorted(records, key=lambda r: sample_hash(r.get("record_id")) or 0)
    return result


# ---------------------------------------------------------------------------------------------------------
# Following a file across rotation


def _stat_id(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_dev


def last_records(
    paths: str | Iterable[str],
    count: int,
    *,
    accept: Callable[[dict[str, Any]], bool] | None = None,
    stats: ReadStats | None = None,
    positions: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The last ``count`` records (that ``accept`` keeps) of ``paths``, oldest first.

    ``positions`` (if given) receives, per plain file read, the offset after its last whole line:
    where :func:`follow` should go on so that nothing is shown twice or missed.
    """
    stats = stats if stats is not None else ReadStats()
    files = expand_paths(paths)
    stats.files = files
    kept: deque[dict[str, Any]] = deque(maxlen=count)
    # Newest file first; older files only while fewer than ``count`` records were found.
    chunks: list[list[dict[str, Any]]] = []
    found = 0
    for path in reversed(files):
        chunk: deque[dict[str, Any]] = deque(maxlen=max(count, 1))
        consumed = 0
        with _open_binary(path) as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # unfinished: follow() reads it once it ends
                consumed += len(line)
                if line.strip() and count > 0:
                    parsed = parse_line(line, False, stats)
                    if parsed is not None and (accept is None or accept(parsed[1])):
                        chunk.append(parsed[1])
        if positions is not None and not path.endswith(".gz"):
            positions[path] = consumed
        chunks.append(list(chunk) if count > 0 else [])
        found += len(chunk)
        if found >= count:
            break
    for chunk in reversed(chunks):
        kept.extend(chunk)
    stats.records += len(kept)
    return list(kept)


def follow(
    path: str,
    *,
    from_start: bool = False,
    offset: int | None = None,
    poll: float = 0.25,
    stop: Callable[[], bool] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Records appended to ``path`` from now on (or from its start), across rotation and truncation.

    When the file is rotated away (``path`` names a new file), the rest of the old file is read
    first, then the new file from its start; a file cut shorter is read again from its start. An
    unfinished line waits for its end. ``offset`` starts at that byte of the current file instead of
    its end (or start). Stops when ``stop()`` is true (checked between polls).
    """
    stats = stats if stats is not None else ReadStats()
    handle = None
    identity = None
    pending = b""

    def open_current(at_end: bool) -> None:
        nonlocal handle, identity, pending
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            handle, identity = None, None
            return
        identity = os.fstat(handle.fileno()).st_ino, os.fstat(handle.fileno()).st_dev
        pending = b""
        if at_end:
            handle.seek(0, os.SEEK_END)

    def drain() -> Iterator[dict[str, Any]]:
        nonlocal pending
        assert handle is not None
        while True:
            chunk = handle.read(65536)
            if not chunk:
                return
            data = pending + chunk
            lines = data.split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.strip():
                    parsed = parse_line(line, False, stats)
                    if parsed is not None:
                        stats.records += 1
                        yield parsed[1]

    open_current(at_end=not from_start and offset is None)
    if handle is not None and offset is not None:
        handle.seek(min(offset, os.fstat(handle.fileno()).st_size))
    try:
        while stop is None or not stop():
            if handle is None:
                open_current(at_end=False)
            if handle is not None:
                yield from drain()
                current = _stat_id(path)
                if current != identity:
                    yield from drain()  # what was written to the old file before it was rotated
                    handle.close()
                    open_current(at_end=False)
                    continue
                try:
                    if os.stat(path).st_size < handle.tell():
                        handle.seek(0)  # truncated in place
                        pending = b""
                        continue
                except OSError:
                    pass
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()


__all__ = [
    "ALL_TIME",
    "COLUMNS",
    "KINDS",
    "ReadStats",
    "TimeRange",
    "choose_engine",
    "duckdb_available",
    "error_category",
    "expand_paths",
    "follow",
    "format_us",
    "iter_lines",
    "iter_records",
    "iter_rows",
    "iter_timed",
    "last_records",
    "load_duckdb",
    "normalize",
    "parse_duration",
    "parse_time",
    "record_time_us",
    "sample_calls",
    "sample_from_duckdb",
    "sample_hash",
    "torn_tail",
]
