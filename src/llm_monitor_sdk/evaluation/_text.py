"""Reading the texts evaluators need out of a record (OTel GenAI message shape), once per record.

The heuristics run one after another on the same record object; :func:`view` keeps the last
record's extracted texts so that five evaluators read the messages once. The cache holds a
reference to the record (so an ``id`` cannot be reused while it is cached) and is per thread.
"""

from __future__ import annotations

import json
import threading
from typing import Any

_local = threading.local()


def _part_text(part: Any) -> str | None:
    if type(part) is not dict:
        return part if isinstance(part, str) else None
    kind = part.get("type")
    if kind == "text":
        content = part.get("content")
        return content if isinstance(content, str) else None
    return None


def message_text(message: Any) -> str:
    """The text parts of one message, joined by newlines."""
    if type(message) is not dict:
        return ""
    parts = message.get("parts")
    if not isinstance(parts, list):
        content = message.get("content")
        return content if isinstance(content, str) else ""
    texts = [t for t in map(_part_text, parts) if t]
    return texts[0] if len(texts) == 1 else "\n".join(texts)


def _tool_response_text(part: dict[str, Any]) -> str | None:
    response = part.get("response")
    if response is None:
        return None
    if isinstance(response, str):
        return response
    try:
        return json.dumps(response, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(response)


class RecordView:
    """Texts of one ``llm_call`` record, computed on first use."""

    __slots__ = ("_cache", "record")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self._cache: dict[str, Any] = {}

    def outputs(self) -> list[str]:
        """Text of each output message (one per choice), empty strings included."""
        cached = self._cache.get("outputs")
        if cached is None:
            messages = self.record.get("output_messages")
            cached = [message_text(m) for m in messages] if isinstance(messages, list) else []
            self._cache["outputs"] = cached
        return cached

    def output_text(self) -> str:
        """All output text (every choice), joined by blank lines."""
        cached = self._cache.get("output_text")
        if cached is None:
            outputs = [t for t in self.outputs() if t]
            cached = outputs[0] if len(outputs) == 1 else "\n\n".join(outputs)
            self._cache["output_text"] = cached
        return cached

    def refusal_parts(self) -> list[str]:
        """Provider refusal parts in the output (``{"type": "refusal"}``)."""
        cached = self._cache.get("refusals")
        if cached is None:
            cached = []
            messages = self.record.get("output_messages")
            if isinstance(messages, list):
                for message in messages:
                    parts = message.get("parts") if type(message) is dict else None
                    if isinstance(parts, list):
                        for part in parts:
                            if type(part) is dict and part.get("type") == "refusal":
                                cached.append(str(part.get("content") or "refusal"))
            self._cache["refusals"] = cached
        return cached

    def _split_turns(self) -> None:
        messages = self.record.get("input_messages")
        latest_user: list[str] = []
        tools: list[str] = []
        previous_assistant: str | None = None
        if isinstance(messages, list):
            last_assistant = -1
            for index, message in enumerate(messages):
                if type(message) is dict and message.get("role") == "assistant":
                    last_assistant = index
            if last_assistant >= 0:
                previous_assistant = message_text(messages[last_assistant])
            for message in messages[last_assistant + 1 :]:
                if type(message) is not dict:
                    continue
                role = message.get("role")
                parts = message.get("parts")
                if isinstance(parts, list):
                    for part in parts:
                        if type(part) is dict and part.get("type") == "tool_call_response":
                            text = _tool_response_text(part)
                            if text:
                                tools.append(text)
                if role in ("user", "human", None):
                    text = message_text(message)
                    if text:
                        latest_user.append(text)
                elif role == "tool":
                    text = message_text(message)
                    if text:
                        tools.append(text)
        self._cache["latest_user"] = "\n".join(latest_user)
        self._cache["tools"] = tools
        self._cache["previous_assistant"] = previous_assistant

    def latest_user_text(self) -> str:
        """Text of the user messages after the last assistant message (the latest turn)."""
        if "latest_user" not in self._cache:
            self._split_turns()
        return self._cache["latest_user"]

    def tool_results(self) -> list[str]:
        """Tool results in the latest turn (as text)."""
        if "tools" not in self._cache:
            self._split_turns()
        return self._cache["tools"]

    def previous_assistant_text(self) -> str | None:
        """Text of the assistant message the latest user turn answers; ``None`` when there is none."""
        if "previous_assistant" not in self._cache:
            self._split_turns()
        return self._cache["previous_assistant"]

    def sources(self) -> list[str]:
        """Contents of the record's ``retrieval_sources`` (empty when there are none)."""
        cached = self._cache.get("sources")
        if cached is None:
            cached = []
            sources = self.record.get("retrieval_sources")
            if isinstance(sources, list):
                for source in sources:
                    if type(source) is dict:
                        content = source.get("content")
                        if isinstance(content, str) and content:
                            cached.append(content)
                    elif isinstance(source, str) and source:
                        cached.append(source)
            self._cache["sources"] = cached
        return cached


def view(record: dict[str, Any]) -> RecordView:
    """The :class:`RecordView` of ``record`` (the same object for consecutive calls on this thread)."""
    cached = getattr(_local, "view", None)
    if cached is not None and cached.record is record:
        return cached
    fresh = RecordView(record)
    _local.view = fresh
    return fresh


def release() -> None:
    """Drop this thread's cached view (so the pool does not keep a record alive after its task)."""
    _local.view = None


__all__ = ["RecordView", "message_text", "release", "view"]
