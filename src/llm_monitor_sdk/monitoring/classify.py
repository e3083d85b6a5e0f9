"""What the alert metrics read from a record: population, error category, content filtering, groups.

The record fields ``error.category`` and ``safety`` are filled by the record builder. Records made
before those fields existed (or by other producers) are classified here from what they do carry, in
one place: :func:`error_category` derives a provisional category from the HTTP status and the
exception's class name, and :func:`content_filtered` from the finish reasons. When the fields are
present they always win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Error categories of the contract (``error.category``).
ERROR_CATEGORIES = (
    "timeout",
    "connection",
    "rate_limit",
    "server",
    "client",
    "content_filter",
    "cancelled",
    "other",
)
#: Categories that count towards ``consecutive_errors`` (the provider is down or unreachable).
DOWN_CATEGORIES = frozenset({"timeout", "connection", "server"})
#: The ``feature`` of every LLM-as-a-judge call (contract); such calls never count in alert metrics.
JUDGE_FEATURE = "llm-monitor-judge"
#: The metadata key that marks a judge call.
JUDGE_METADATA_KEY = "llm_monitor.judge"

# Finish reasons that mean a provider's content filter stopped the output (OpenAI/Azure
# ``content_filter``, Gemini safety reasons, Anthropic's ``refusal`` stop reason).
_FILTER_REASONS = frozenset(
    {"content_filter", "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "refusal"}
)

#: ``by=`` dimension -> the record fields read for it, first non-empty wins.
GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    "provider": ("provider",),
    "model": ("request_model", "response_model"),
    "feature": ("feature",),
    "tenant": ("tenant_id",),
    "user": ("user_id",),
    "prompt_name": ("prompt_name",),
    "variant": ("variant",),
}


def is_judge_call(record: Mapping[str, Any]) -> bool:
    """True for an LLM-as-a-judge call (``feature="llm-monitor-judge"`` or the judge metadata key)."""
    if record.get("feature") == JUDGE_FEATURE:
        return True
    metadata = record.get("metadata")
    return isinstance(metadata, Mapping) and JUDGE_METADATA_KEY in metadata


def _category_from_type(type_name: str, status: Any) -> str:
    # Provisional classification (until every record carries ``error.category``): the status code
    # first, then words in the exception's qualified class name. ``openai.APITimeoutError`` is a
    # subclass of ``APIConnectionError`` but its name says timeout, so timeouts are checked first.
    if isinstance(status, int) and not isinstance(status, bool):
        if status in (408, 504):
            return "timeout"
        if status == 429:
            return "rate_limit"
        if status >= 500:
            return "server"
        if 400 <= status < 500:
            return "client"
    name = type_name.rsplit(".", 1)[-1].lower()
    if "timeout" in name or "timedout" in name or "deadline" in name:
        return "timeout"
    if "cancel" in name:
        return "cancelled"
    if "ratelimit" in name or "resourceexhausted" in name:
        return "rate_limit"
    if "contentfilter" in name or "safety" in name or "blockedprompt" in name:
        return "content_filter"
    if (
        "connect" in name
        or "protocol" in name
        or "network" in name
        or "readerror" in name
        or "writeerror" in name
        or "brokenpipe" in name
        or "unavailable" in name
    ):
        return "connection"
    if "server" in name or "overloaded" in name or "internal" in name:
        return "server"
    return "other"


def error_category(record: Mapping[str, Any]) -> str | None:
    """The error category of a failed call (``None`` unless ``status == "error"``).

    ``error.category`` when the record has it; otherwise derived from ``error.status_code`` (408/504
    timeout, 429 rate_limit, 5xx server, other 4xx client) and the exception's class name (timeout,
    cancelled, rate limit, content filter, connection/protocol/network, server/overloaded), else
    ``other``.
    """
    if record.get("status") != "error":
        return None
    error = record.get("error")
    if not isinstance(error, Mapping):
        return "other"
    category = error.get("category")
    if isinstance(category, str) and category:
        return category
    return _category_from_type(str(error.get("type") or ""), error.get("status_code"))


def content_filtered(record: Mapping[str, Any], category: str | None = None) -> bool:
    """True when a provider content filter blocked or cut the call.

    ``safety.content_filtered`` when the record has it, an error of category ``content_filter``, or
    (for records without ``safety``) a content-filter finish reason.
    """
    if category == "content_filter":
        return True
    safety = record.get("safety")
    if isinstance(safety, Mapping) and "content_filtered" in safety:
        return bool(safety.get("content_filtered"))
    reasons = record.get("finish_reasons")
    if reasons:
        for reason in reasons:
            if reason in _FILTER_REASONS:
                return True
    return False


def group_value(record: Mapping[str, Any], by: str) -> str | None:
    """The record's value for a ``by=`` dimension (``None`` when it has none)."""
    for field in GROUP_FIELDS[by]:
        value = record.get(field)
        if value is not None and value != "":
            return str(value)
    return None


__all__ = [
    "DOWN_CATEGORIES",
    "ERROR_CATEGORIES",
    "GROUP_FIELDS",
    "JUDGE_FEATURE",
    "JUDGE_METADATA_KEY",
    "content_filtered",
    "error_category",
    "group_value",
    "is_judge_call",
]
