"""Drift between two collections of ``llm_call`` records (``lm.analysis.drift``, ``llm-monitor drift``).

Descriptors per successful call: ``input_tokens``, ``output_tokens``, ``input_chars`` (text of the
system instructions and input messages), ``output_chars`` (text of the output messages) and
``latency_ms``. Each is compared with the *population stability index* over ten bins cut at the
baseline's deciles (empty bins count as a share of 0.0001, so a value range the baseline never
had still counts). The user inputs (text of the latest user message) are compared as word
distributions with the Jensen-Shannon distance (base 2, between 0 and 1) over the words both
samples use at least 20 times together (at most 500; the rest pooled into one "other" word, which keeps two samples of the same
distribution close together however large the vocabulary); *emerging terms* are words at least
five times as frequent in ``current`` as in ``baseline`` (and seen there at least ten times).
``drifted`` is true when any PSI exceeds 0.2 or the distance exceeds 0.1.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

DESCRIPTORS = ("input_tokens", "output_tokens", "input_chars", "output_chars", "latency_ms")
PSI_THRESHOLD = 0.2
JS_THRESHOLD = 0.1
#: Share given to an empty bin (PSI is undefined for zero shares).
EMPTY_SHARE = 1e-4
#: The words compared by the Jensen-Shannon distance: the most frequent ones of both samples.
VOCABULARY_SIZE = 500
EMERGING_RATIO = 5.0
EMERGING_MIN_COUNT = 10
#: Words seen fewer times in both samples together are pooled (see :func:`js_distance`).
MIN_WORD_COUNT = 20
EMERGING_MAX = 20
#: Below this many calls on a side the result carries a ``warning`` (small samples are noisy).
RELIABLE_CALLS = 100

_WORD_PATTERN = r"[^\W\d_]{2,}(?:'[^\W\d_]+)?"
_OTHER = "\x00other"
#: A short list of English function words left out of word distributions (our own list).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "out",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)


def _text_of(messages: Any, roles: tuple[str, ...] | None = None) -> str:
    if not isinstance(messages, list):
        return ""
    texts = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        if roles is not None and message.get("role") not in roles:
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            for part in parts:
                if isinstance(part, dict) and isinstance(part.get("content"), str):
                    texts.append(part["content"])
        elif isinstance(message.get("content"), str):  # a part list given directly
            texts.append(message["content"])
    return "\n".join(texts)


def user_input(record: dict[str, Any]) -> str:
    """Text of the latest user message of a call."""
    messages = record.get("input_messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of([message])
    return ""


def descriptors(record: dict[str, Any]) -> dict[str, float | None]:
    """The drift descriptors of one call (None where the record has no value)."""
    usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
    assert isinstance(usage, dict)

    def number(value: Any) -> float | None:
        if type(value) in (int, float) and math.isfinite(value):
            return float(value)
        return None

    system = record.get("system_instructions")
    inputs = record.get("input_messages")
    outputs = record.get("output_messages")
    has_text = isinstance(inputs, list) or isinstance(system, list)
    input_chars = None
    if has_text:
        system_chars = len(_text_of([{"parts": system}])) if isinstance(system, list) else 0
        input_chars = float(len(_text_of(inputs)) + system_chars)
    return {
        "input_tokens": number(usage.get("input_tokens")),
        "output_tokens": number(usage.get("output_tokens")),
        "input_chars": input_chars,
        "output_chars": float(len(_text_of(outputs))) if isinstance(outputs, list) else None,
        "latency_ms": number(record.get("latency_ms")),
    }


def words(text: str) -> list[str]:
    """Lower-case words of a text (letters only, two or more), without common function words."""
    return [w for w in _word_regex().findall(text.lower()) if w not in STOP_WORDS]


@functools.cache
def _word_regex() -> re.Pattern[str]:
    # Compiled on first use: importing ``lm.analysis`` stays cheap.
    return re.compile(_WORD_PATTERN)


def _deciles(values: Sequence[float]) -> list[float]:
    ordered = sorted(values)
    n = len(ordered)
    edges: list[float] = []
    for k in range(1, 10):
        edge = ordered[max(0, math.ceil(k * n / 10) - 1)]
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def _bin_index(value: float, edges: Sequence[float]) -> int:
    # Bins: (-inf, e1], (e1, e2], ..., (e_last, inf).
    low, high = 0, len(edges)
    while low < high:
        middle = (low + high) // 2
        if value <= edges[middle]:
            high = middle
        else:
            low = middle + 1
    return low


def psi(baseline: Sequence[float], current: Sequence[float]) -> float | None:
    """Population stability index of ``current`` against ``baseline`` (bins at the baseline's deciles)."""
    if not baseline or not current:
        return None
    edges = _deciles(baseline)
    bins = len(edges) + 1
    base_counts = [0] * bins
    cur_counts = [0] * bins
    for value in baseline:
        base_counts[_bin_index(value, edges)] += 1
    for value in current:
        cur_counts[_bin_index(value, edges)] += 1
    total = 0.0
    for b, c in zip(base_counts, cur_counts, strict=True):
        share_b = max(b / len(baseline), EMPTY_SHARE)
        share_c = max(c / len(current), EMPTY_SHARE)
        total += (share_c - share_b) * math.log(share_c / share_b)
    return round(total, 6)


def js_distance(
    baseline: Counter[str], current: Counter[str], vocabulary: int = VOCABULARY_SIZE
) -> float | None:
    """Jensen-Shannon distance (base 2) of two word counts over their ``vocabulary`` most used words."""
    base_total = sum(baseline.values())
    cur_total = sum(current.values())
    if not base_total or not cur_total:
        return None
    combined: dict[str, float] = {w: n / base_total for w, n in baseline.items()}
    for word, count in current.items():
        combined[word] = combined.get(word, 0.0) + count / cur_total
    # Words seen too rarely to estimate their share are pooled into one "other" word: their sampling
    # noise alone would otherwise put two samples of one distribution far apart.
    frequent = [w for w in combined if baseline.get(w, 0) + current.get(w, 0) >= MIN_WORD_COUNT]
    kept = set(sorted(frequent, key=lambda w: (-combined[w], w))[:vocabulary])

    def shares(counts: Counter[str], total: int) -> dict[str, float]:
        out: dict[str, float] = {}
        for word, count in counts.items():
            key = word if word in kept else _OTHER
            out[key] = out.get(key, 0.0) + count / total
        return out

    p = shares(baseline, base_total)
    q = shares(current, cur_total)
    divergence = 0.0
    for word in set(p) | set(q):
        pi, qi = p.get(word, 0.0), q.get(word, 0.0)
        mi = (pi + qi) / 2
        if pi:
            divergence += 0.5 * pi * math.log2(pi / mi)
        if qi:
            divergence += 0.5 * qi * math.log2(qi / mi)
    return round(math.sqrt(max(divergence, 0.0)), 6)


def emerging_terms(baseline: Counter[str], current: Counter[str], limit: int = EMERGING_MAX) -> list[str]:
    """Words much more frequent in ``current`` (ratio of rates >= 5, seen >= 5 times), strongest first."""
    base_total = sum(baseline.values())
    cur_total = sum(current.values())
    if not cur_total:
        return []
    scored = []
    for word, count in current.items():
        if count < EMERGING_MIN_COUNT:
            continue
        rate_c = count / cur_total
        rate_b = (baseline.get(word, 0) + 1) / max(base_total, 1)
        ratio = rate_c / rate_b
        if ratio >= EMERGING_RATIO:
            scored.append((ratio * count, word))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [word for _, word in scored[:limit]]


def _calls(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        if not isinstance(record, dict) or record.get("kind", "llm_call") != "llm_call":
            continue
        status = record.get("status")
        if status not in (None, "ok"):
            continue
        out.append(record)
    return out


def _compare(baseline: list[dict[str, Any]], current: list[dict[str, Any]]) -> dict[str, Any]:
    base_desc = [descriptors(r) for r in baseline]
    cur_desc = [descriptors(r) for r in current]
    result: dict[str, Any] = {"descriptors": {}}
    drifted = False
    for name in DESCRIPTORS:
        b = [d[name] for d in base_desc if d[name] is not None]
        c = [d[name] for d in cur_desc if d[name] is not None]
        value = psi(b, c)  # type: ignore[arg-type]
        result["descriptors"][name] = {
            "psi": value,
            "baseline_mean": round(sum(b) / len(b), 3) if b else None,  # type: ignore[arg-type]
            "current_mean": round(sum(c) / len(c), 3) if c else None,  # type: ignore[arg-type]
        }
        drifted = drifted or (value is not None and value > PSI_THRESHOLD)
    base_words: Counter[str] = Counter()
    cur_words: Counter[str] = Counter()
    for record in baseline:
        base_words.update(words(user_input(record)))
    for record in current:
        cur_words.update(words(user_input(record)))
    distance = js_distance(base_words, cur_words)
    result["vocabulary"] = {"js_distance": distance}
    result["emerging_terms"] = emerging_terms(base_words, cur_words)
    result["drifted"] = drifted or (distance is not None and distance > JS_THRESHOLD)
    result["baseline_records"] = len(baseline)
    result["current_records"] = len(current)
    if min(len(baseline), len(current)) < RELIABLE_CALLS:
        result["warning"] = (
            f"fewer than {RELIABLE_CALLS} calls on a side: PSI and the word distance are noisy on samples this small"
        )
    return result


def drift(
    baseline: Iterable[dict[str, Any]],
    current: Iterable[dict[str, Any]],
    *,
    by: str | None = None,
    min_records: int = 10,
) -> dict[str, Any]:
    """Drift between two collections of records (successful ``llm_call`` records are used).

    Returns ``{"descriptors": {NAME: {"psi", "baseline_mean", "current_mean"}}, "vocabulary":
    {"js_distance"}, "emerging_terms": [...], "drifted": bool}`` plus ``baseline_records`` and
    ``current_records``. ``by="feature"`` (any top-level field) adds ``"groups": {VALUE: {...the same
    shape...}}`` for every value with at least ``min_records`` calls on both sides.
    """
    base = _calls(baseline)
    cur = _calls(current)
    result = _compare(base, cur)
    if by:
        groups: dict[str, Any] = {}
        keys = sorted({str(r.get(by)) for r in base if r.get(by) is not None})
        for key in keys:
            b = [r for r in base if str(r.get(by)) == key]
            c = [r for r in cur if str(r.get(by)) == key]
            if len(b) >= min_records and len(c) >= min_records:
                groups[key] = _compare(b, c)
        result["by"] = by
        result["groups"] = groups
    return result


__all__ = [
    "DESCRIPTORS",
    "JS_THRESHOLD",
    "PSI_THRESHOLD",
    "descriptors",
    "drift",
    "emerging_terms",
    "js_distance",
    "psi",
    "user_input",
    "words",
]


def drift_files(
    paths: Any,
    baseline: Any,
    current: Any,
    *,
    by: str | None = None,
    sample: int = 20000,
    engine: str = "auto",
) -> dict[str, Any]:
    """:func:`drift` between two time ranges of the records of ``paths``.

    ``baseline`` and ``current`` are :class:`~.reader.TimeRange` objects or ``"FROM..TO"`` texts.
    Each side is a deterministic sample of at most ``sample`` successful calls (the same records
    for both engines and every run; see :func:`.reader.sample_calls`).
    """
    from . import reader

    sides = {
        "baseline": baseline if isinstance(baseline, reader.TimeRange) else reader.TimeRange.parse(baseline),
        "current": current if isinstance(current, reader.TimeRange) else reader.TimeRange.parse(current),
    }
    files = reader.expand_paths(paths)
    which = reader.choose_engine(engine, files)
    samples = reader.sample_calls(files, sides, sample, engine=which)
    result = drift(samples["baseline"], samples["current"], by=by)
    result["baseline_range"] = sides["baseline"].describe()
    result["current_range"] = sides["current"].describe()
    return result


__all__ += ["drift_files"]


def report_sides(summary: dict[str, Any], baseline: Any = None) -> dict[str, Any] | str:
    """The report's two sides: the first third of the summary's time buckets and the last third (or
    ``baseline``, a time range, and the whole summarised range); a text saying why not otherwise."""
    from . import reader

    buckets = summary["timeseries"]["buckets"]
    width = summary["timeseries"]["bucket_seconds"] * 1_000_000
    if baseline is not None:
        base = baseline if isinstance(baseline, reader.TimeRange) else reader.TimeRange.parse(baseline)
        requested = summary["range"]
        current = reader.TimeRange(
            reader.parse_time(requested["requested_from"]) if requested.get("requested_from") else None,
            reader.parse_time(requested["requested_to"]) if requested.get("requested_to") else None,
        )
        return {"baseline": base, "current": current}
    if len(buckets) < 2:
        return "The records span one time bucket: too short a range to compare its first and last parts."
    third = max(1, len(buckets) // 3)
    starts = [reader.parse_time(b["start"]) for b in buckets]
    return {
        "baseline": reader.TimeRange(starts[0], starts[third]),
        "current": reader.TimeRange(starts[len(buckets) - third], starts[-1] + width),
    }


def drift_of_samples(
    samples: dict[str, list[dict[str, Any]]], sides: dict[str, Any], by: str | None
) -> dict[str, Any]:
    """:func:`drift` of two sampled sides, with the ranges they cover."""
    result = drift(samples["baseline"], samples["current"], by=by)
    result["baseline_range"] = sides["baseline"].describe()
    result["current_range"] = sides["current"].describe()
    return result


def report_drift(
    files: Sequence[str],
    summary: dict[str, Any],
    *,
    baseline: Any = None,
    sample: int = 2000,
    by: str | None = "feature",
    engine: str = "auto",
) -> dict[str, Any]:
    """The report's drift panel: the first third of the summary's time buckets against the last third
    (or ``baseline``, a time range, against the whole summarised range)."""
    from . import reader

    sides = report_sides(summary, baseline)
    if isinstance(sides, str):
        return {"skipped": sides}
    which = reader.choose_engine(engine, files)
    samples = reader.sample_calls(files, sides, sample, engine=which)
    return drift_of_samples(samples, sides, by)


__all__ += ["drift_of_samples", "report_drift", "report_sides"]
