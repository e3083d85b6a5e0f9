"""Prompt-change events: a ``kind="event"`` record the first time a prompt fingerprint shows up.

Every ``llm_call`` record with system instructions carries ``prompt_fingerprint`` (16 hex digits,
computed after redaction with digit runs collapsed). Per ``(feature, prompt_name)`` this processor
remembers the fingerprints it has seen; a new one gives one record::

    {"kind": "event", "event": {"type": "prompt_changed",
                                "key": {"feature": ..., "prompt_name": ...},
                                "old_fingerprint": <the one seen last for that key, or null>,
                                "new_fingerprint": ...}}

so an edit of a system prompt that nobody announced shows up in the export stream (and in
``llm-monitor report``). The first fingerprint a process sees for a key has ``old_fingerprint``
null; a restarted process reports its prompts again. Going back to a fingerprint already seen is not
a new event.

Memory is bounded: at most ``max_keys`` keys (the least recently used is forgotten and counted) and
``max_fingerprints`` fingerprints per key. A key whose prompt changes on almost every call (a system
prompt with user data or timestamps in it) reaches that cap: it is then muted (one WARNING, further
new fingerprints are only counted in ``suppressed``) rather than flooding the stream.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from ..record import RecordDict

logger = logging.getLogger("llm_monitor_sdk.alerts")

DEFAULT_MAX_KEYS = 1000
DEFAULT_MAX_FINGERPRINTS = 64


class _Key:
    __slots__ = ("last", "muted", "seen")

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.last: str | None = None
        self.muted = False


class PromptChangeProcessor:
    """Emits ``prompt_changed`` events (see the module notes); runs on the export worker."""

    name = "prompt_changes"

    def __init__(
        self, max_keys: int = DEFAULT_MAX_KEYS, max_fingerprints: int = DEFAULT_MAX_FINGERPRINTS
    ) -> None:
        self.max_keys = max(1, max_keys)
        self.max_fingerprints = max(1, max_fingerprints)
        self._keys: OrderedDict[tuple[Any, Any], _Key] = OrderedDict()
        self.events = 0
        self.suppressed = 0
        self.keys_evicted = 0

    def process(self, record: RecordDict) -> list[RecordDict] | None:
        """One ``prompt_changed`` event for a fingerprint not seen before for its key."""
        if record.get("kind") != "llm_call":
            return None
        fingerprint = record.get("prompt_fingerprint")
        if not fingerprint or not isinstance(fingerprint, str):
            return None
        feature, prompt_name = record.get("feature"), record.get("prompt_name")
        key = (feature, prompt_name)
        state = self._keys.get(key)
        if state is None:
            if len(self._keys) >= self.max_keys:
                self._keys.popitem(last=False)
                self.keys_evicted += 1
            state = self._keys[key] = _Key()
        else:
            self._keys.move_to_end(key)
        if fingerprint == state.last:
            return None
        if fingerprint in state.seen:
            state.last = fingerprint
            return None
        if state.muted:
            self.suppressed += 1
            return None
        if len(state.seen) >= self.max_fingerprints:
            state.muted = True
            self.suppressed += 1
            logger.warning(
                "llm-monitor: the system prompt of feature=%r prompt_name=%r changed %d times; "
                "further prompt_changed events for it are suppressed (keep per-call data out of the "
                "system prompt, or set prompt_name per variant)",
                feature,
                prompt_name,
                len(state.seen),
            )
            return None
        old = state.last
        state.seen.add(fingerprint)
        state.last = fingerprint
        self.events += 1
        return [
            {
                "kind": "event",
                "event": {
                    "type": "prompt_changed",
                    "key": {"feature": feature, "prompt_name": prompt_name},
                    "old_fingerprint": old,
                    "new_fingerprint": fingerprint,
                },
                # Linked to the call that first used the new prompt.
                "trace_id": record.get("trace_id"),
                "parent_span_id": record.get("span_id"),
                "started_at": record.get("ended_at"),
                "ended_at": record.get("ended_at"),
            }
        ]

    def stats(self) -> dict[str, Any]:
        """``prompt_changes``: events, suppressed, keys tracked and evicted."""
        return {
            "prompt_changes": {
                "events": self.events,
                "suppressed": self.suppressed,
                "keys": len(self._keys),
                "keys_evicted": self.keys_evicted,
            }
        }


__all__ = ["PromptChangeProcessor"]
