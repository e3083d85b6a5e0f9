"""``lm.feedback()``: human feedback on a call or a trace, exported as a ``kind="feedback"`` record.

Validation happens on the caller's thread (a bad argument is a ``ValueError`` right away, also when
monitoring is off); the record is a small dict handed to the export worker without waiting. The
call's own record may have been exported already or may still be on its way: the feedback names it
by ids (``target``), and readers join on them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .. import _clock, _runtime
from .._convert import to_jsonable
from .._guard import guard

#: Longest ``comment`` kept (longer ones are cut with a marker).
MAX_COMMENT_CHARS = 10_000
_ID_LIMIT = 512


def _id(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"feedback {what} must be a non-empty str, not {value!r}")
    if len(value) > _ID_LIMIT:
        raise ValueError(f"feedback {what} is longer than {_ID_LIMIT} characters")
    return value


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"feedback {what} must be a str or None, not {type(value).__name__}")
    return value


def feedback(
    *,
    trace_id: str | None = None,
    response_id: str | None = None,
    record_id: str | None = None,
    name: str = "user_rating",
    score: float | None = None,
    thumbs: bool | None = None,
    label: str | None = None,
    comment: str | None = None,
    user_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Record human feedback on a call or a trace.

    Name the target with ``response_id`` (the provider's id, e.g. ``resp.id``), ``record_id`` (a
    record's id) and/or ``trace_id`` (``lm.current_trace_id()`` while the request runs). Give a
    ``score`` in [0, 1], ``thumbs`` (``True``/``False`` is a score of 1.0/0.0) and/or a ``label``;
    ``comment``, ``user_id`` (who gave the feedback) and ``metadata`` are optional. A score of 0.5 or
    more counts as a pass in ``lm.stats()["feedback"][name]["fail_rate"]``.

    Raises ``ValueError`` when no target id is given, when none of score, thumbs and label is, or for
    a malformed value. Safe from any thread; does nothing (after checking the arguments) when
    monitoring is off.
    """
    trace_id = _id(trace_id, "trace_id")
    response_id = _id(response_id, "response_id")
    record_id = _id(record_id, "record_id")
    if trace_id is None and response_id is None and record_id is None:
        raise ValueError("feedback needs a target: trace_id, response_id or record_id")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"feedback name must be a non-empty str, not {name!r}")
    if thumbs is not None and not isinstance(thumbs, bool):
        raise ValueError(f"feedback thumbs must be True, False or None, not {thumbs!r}")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
            raise ValueError(f"feedback score must be a finite number from 0.0 to 1.0, not {score!r}")
        if not 0.0 <= score <= 1.0:
            raise ValueError(
                f"feedback score must be from 0.0 to 1.0, not {score!r} (scale ratings first, e.g. (stars - 1) / 4)"
            )
        if thumbs is not None and float(score) != (1.0 if thumbs else 0.0):
            raise ValueError(f"feedback thumbs={thumbs} contradicts score={score!r}; give one of them")
    label = _text(label, "label")
    if score is None and thumbs is None and label is None:
        raise ValueError("feedback needs a score, thumbs or label")
    comment = _text(comment, "comment")
    user_id = _text(user_id, "user_id")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ValueError(f"feedback metadata must be a mapping, not {type(metadata).__name__}")
    monitor = _runtime.active
    if monitor is None:
        return None
    with guard("feedback.submit"):
        _submit(
            monitor, trace_id, response_id, record_id, name, score, thumbs, label, comment, user_id, metadata
        )
    return None


def _submit(
    monitor: Any,
    trace_id: str | None,
    response_id: str | None,
    record_id: str | None,
    name: str,
    score: float | None,
    thumbs: bool | None,
    label: str | None,
    comment: str | None,
    user_id: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    if thumbs is not None:
        score = 1.0 if thumbs else 0.0
    value = float(score) if score is not None else None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        comment = comment[:MAX_COMMENT_CHARS] + f"...<truncated {len(comment) - MAX_COMMENT_CHARS} chars>"
    from .._records import iso

    now = iso(_clock.now())
    record: dict[str, Any] = {
        "schema_version": 1,
        "kind": "feedback",
        "started_at": now,
        "ended_at": now,
        "target": {"record_id": record_id, "response_id": response_id, "trace_id": trace_id},
        "evaluation": {
            "name": name,
            "score": value,
            "passed": (value >= 0.5) if value is not None else None,
            "label": label,
            "explanation": None,
            "source": "human",
        },
        "comment": comment,
    }
    if trace_id is not None:
        record["trace_id"] = trace_id
    if user_id is not None:
        record["user_id"] = user_id
    if metadata:
        record["metadata"] = to_jsonable(dict(metadata))
    monitor.submit_record(record)


__all__ = ["MAX_COMMENT_CHARS", "feedback"]
