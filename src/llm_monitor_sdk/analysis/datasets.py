"""Regression datasets from past calls (``llm-monitor dataset export``).

Each example is one ``{"input", "reference", "metadata"}`` object:

- ``input``: ``{"system_instructions": [...], "input_messages": [...]}`` exactly as the record holds
  them (the OpenTelemetry GenAI message shape), so a task can replay the call;
- ``reference``: the recorded output text (text parts of the output messages, joined);
- ``metadata``: ids (``record_id``, ``trace_id``, ``span_id``, ``response_id``, ``request_id``),
  ``provider``, ``model``, ``request_model``, ``request_params``, ``feature``, ``prompt_name``,
  ``prompt_version``, ``prompt_fingerprint``, ``variant``, ``tenant_id``, ``user_id``, ``session_id``,
  ``tags``, ``started_at`` and, when feedback was asked for, the call's mean ``feedback`` score.

Text is copied as recorded: what redaction replaced stays replaced. Calls without captured content
(``LLM_MONITOR_CAPTURE_CONTENT=false``) have nothing to replay and are left out (and counted).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from . import reader
from .reader import ALL_TIME, ReadStats, TimeRange

_METADATA_FIELDS = (
    "record_id",
    "trace_id",
    "span_id",
    "response_id",
    "request_id",
    "provider",
    "request_model",
    "request_params",
    "feature",
    "prompt_name",
    "prompt_version",
    "prompt_fingerprint",
    "variant",
    "tenant_id",
    "user_id",
    "session_id",
    "tags",
    "started_at",
)


def parse_filters(items: Iterable[str] | Mapping[str, Any]) -> dict[str, list[str]]:
    """``KEY=VALUE`` texts (or a mapping) as ``{key: [accepted values]}``; a repeated key accepts any."""
    if isinstance(items, Mapping):
        return {
            key: [str(v) for v in (value if isinstance(value, list | tuple | set) else [value])]
            for key, value in items.items()
        }
    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"not a filter: {item!r} (expected KEY=VALUE, e.g. feature=summarize)")
        filters.setdefault(key.strip(), []).append(value)
    return filters


def _as_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _field(record: dict[str, Any], key: str) -> list[Any]:
    """Values a filter key names: a top-level field, a dotted path, or ``model`` (response or request)."""
    if key == "model":
        return [record.get("response_model"), record.get("request_model")]
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, dict):
            return [None]
        value = value.get(part)
    if isinstance(value, list):  # tags=prod matches a record tagged "prod"
        return list(value) or [None]
    return [value]


def matches(record: dict[str, Any], filters: Mapping[str, list[str]]) -> bool:
    """Whether ``record`` has, for every filter key, one of the accepted values."""
    for key, accepted in filters.items():
        if not any(_as_text(value) in accepted for value in _field(record, key)):
            return False
    return True


def output_text(record: dict[str, Any]) -> str | None:
    """The text of a call's output messages, joined; None when it recorded none."""
    messages = record.get("output_messages")
    if not isinstance(messages, list):
        return None
    texts = []
    for message in messages:
        parts = message.get("parts") if isinstance(message, dict) else None
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("content"), str):
                texts.append(part["content"])
    return "\n".join(texts) if texts else None


def example(record: dict[str, Any], feedback: float | None = None) -> dict[str, Any]:
    """The dataset example of one ``llm_call`` record."""
    metadata = {key: record.get(key) for key in _METADATA_FIELDS}
    metadata["model"] = record.get("response_model") or record.get("request_model")
    if feedback is not None:
        metadata["feedback"] = feedback
    return {
        "input": {
            "system_instructions": record.get("system_instructions") or [],
            "input_messages": record.get("input_messages") or [],
        },
        "reference": output_text(record),
        "metadata": metadata,
    }


def _feedback_scores(
    files: list[str], time_range: TimeRange, name: str | None, stats: ReadStats
) -> dict[tuple[str, str], list[float]]:
    scores: dict[tuple[str, str], list[float]] = {}
    for _, record in reader.iter_timed(files, ALL_TIME, stats, files=files):
        if record.get("kind") != "feedback":
            continue
        evaluation = record.get("evaluation") if isinstance(record.get("evaluation"), dict) else {}
        assert isinstance(evaluation, dict)
        if name is not None and evaluation.get("name") != name:
            continue
        score = evaluation.get("score")
        if type(score) not in (int, float):
            passed = evaluation.get("passed")
            if not isinstance(passed, bool):
                continue
            score = 1.0 if passed else 0.0
        target = record.get("target") if isinstance(record.get("target"), dict) else {}
        assert isinstance(target, dict)
        # The most specific id names what was judged: a record, else a response, else a whole trace.
        for key in ("record_id", "response_id", "trace_id"):
            if isinstance(target.get(key), str) and target[key]:
                scores.setdefault((key, target[key]), []).append(float(score or 0.0))
                break
    return scores


def _call_feedback(record: dict[str, Any], scores: dict[tuple[str, str], list[float]]) -> float | None:
    for key in ("record_id", "response_id", "trace_id"):
        value = record.get(key)
        if isinstance(value, str) and (key, value) in scores:
            found = scores[(key, value)]
            return sum(found) / len(found)
    return None


def _sample_key(seed: int, record: dict[str, Any]) -> bytes:
    identity = record.get("record_id") or json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(f"{seed}:{identity}".encode()).digest()[:8]


def dataset_examples(
    paths: Any,
    *,
    filters: Iterable[str] | Mapping[str, Any] = (),
    since: str | float | None = None,
    start: str | None = None,
    end: str | None = None,
    time_range: TimeRange | None = None,
    min_feedback: float | None = None,
    feedback_name: str | None = None,
    sample: int | None = None,
    seed: int = 0,
    stats: ReadStats | None = None,
    counts: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Dataset examples from the ``llm_call`` records of ``paths`` (rotated and ``.gz`` files included).

    ``filters`` (``["feature=summarize", "model=gpt-4o-mini"]`` or a mapping) keep calls whose
    top-level field (or dotted path; ``model`` is the response or request model) has one of the
    given values; without a ``status`` filter only successful calls are kept. ``min_feedback``
    keeps calls whose feedback (``kind="feedback"`` records aimed at the call, its response or its
    trace; named ``feedback_name`` when given) averages at least that score. ``sample`` keeps a
    seeded uniform sample of that many calls (the same for the same ``seed``, whatever the file
    order). Examples come in time order. ``counts`` (if given) receives ``matched``,
    ``without_content`` and ``written``.
    """
    window = time_range or TimeRange.build(since, start, end)
    wanted = parse_filters(filters)
    if "status" not in wanted:
        wanted["status"] = ["ok"]
    if sample is not None and sample < 0:
        raise ValueError(f"sample must be >= 0, got {sample}")
    stats = stats if stats is not None else ReadStats()
    files = reader.expand_paths(paths)
    scores = _feedback_scores(files, window, feedback_name, ReadStats()) if min_feedback is not None else {}
    tally = counts if counts is not None else {}
    tally.update(matched=0, without_content=0, written=0)
    chosen: list[tuple[bytes, int, int, dict[str, Any]]] = []
    order = 0
    for tus, record in reader.iter_timed(files, window, stats, files=files):
        if record.get("kind") != "llm_call" or not matches(record, wanted):
            continue
        score = _call_feedback(record, scores) if scores or min_feedback is not None else None
        if min_feedback is not None and (score is None or score < min_feedback):
            continue
        tally["matched"] += 1
        if not isinstance(record.get("input_messages"), list) and not isinstance(
            record.get("system_instructions"), list
        ):
            tally["without_content"] += 1
            continue
        order += 1
        item = example(record, score)
        if sample is None:
            chosen.append((b"", order, tus, item))
            continue
        # Keep the ``sample`` smallest keys: a heap on the inverted key has the largest kept key on top.
        key = bytes(255 - b for b in _sample_key(seed, record))
        if len(chosen) < sample:
            heapq.heappush(chosen, (key, order, tus, item))
        elif sample and key > chosen[0][0]:
            heapq.heapreplace(chosen, (key, order, tus, item))
    result = [entry[3] for entry in sorted(chosen, key=lambda entry: (entry[2], entry[1]))]
    tally["written"] = len(result)
    return result


def export_dataset(
    paths: Any,
    output: str | os.PathLike[str] | IO[str] | None = None,
    **options: Any,
) -> int:
    """Write :func:`dataset_examples` as JSON lines to ``output`` (a path, a text file, or stdout).

    Returns how many examples were written. Takes the same keyword options.
    """
    examples = dataset_examples(paths, **options)
    if output is None or output == "-":
        _write(sys.stdout, examples)
    elif isinstance(output, str | os.PathLike):
        target = os.fspath(output)
        parent = os.path.dirname(os.path.abspath(target))
        os.makedirs(parent, exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            _write(handle, examples)
    else:
        _write(output, examples)
    return len(examples)


def _write(handle: IO[str], examples: Iterable[dict[str, Any]]) -> None:
    for item in examples:
        handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def iter_dataset(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The examples of a dataset file written by :func:`export_dataset`."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


__all__ = [
    "dataset_examples",
    "example",
    "export_dataset",
    "iter_dataset",
    "matches",
    "output_text",
    "parse_filters",
]
