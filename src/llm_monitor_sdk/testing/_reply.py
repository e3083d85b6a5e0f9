"""One fake HTTP reply, transport-neutral: the socket server and the mock transport both play it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(slots=True)
class Reply:
    """What to send back: a JSON body, or a list of pre-encoded SSE events played one by one.

    ``terminator`` (e.g. OpenAI's ``data: [DONE]``) is sent after the events unless the stream is
    cut. ``drop`` means: close the connection without any reply.
    """

    status: int
    headers: dict[str, str]
    body: bytes = b""
    events: list[bytes] | None = None
    terminator: bytes = b""
    delay: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None
    drop: bool = False
    #: Parsed JSON request body, for the request log.
    request_json: Any = field(default=None, repr=False)

    @property
    def is_stream(self) -> bool:
        """True for an SSE reply."""
        return self.events is not None

    def stream_parts(self) -> list[bytes]:
        """The byte parts a stream sends, in order (without the terminator when cut)."""
        events = self.events or []
        if self.cut_after is not None:
            return events[: self.cut_after]
        return [*events, self.terminator] if self.terminator else list(events)


def json_reply(obj: Any, headers: dict[str, str], status: int = 200) -> Reply:
    """A JSON reply with the given extra headers."""
    headers["content-type"] = JSON_TYPE
    return Reply(status=status, headers=headers, body=_dumps(obj).encode())


def sse_reply(events: Iterable[bytes], headers: dict[str, str], terminator: bytes = b"") -> Reply:
    """An SSE reply from pre-encoded events."""
    headers["content-type"] = SSE_TYPE
    headers["cache-control"] = "no-cache"
    return Reply(status=200, headers=headers, events=list(events), terminator=terminator)


def sse_data(obj: Any, sep: str = "\n\n") -> bytes:
    """``data: <json>`` event (OpenAI chat/completions and Gemini style, no event name)."""
    return f"data: {_dumps(obj)}{sep}".encode()


def sse_named(obj: dict[str, Any]) -> bytes:
    """``event: <type>`` plus ``data: <json>`` (Anthropic and OpenAI Responses style)."""
    return f"event: {obj['type']}\ndata: {_dumps(obj)}\n\n".encode()


def dumps(obj: Any) -> str:
    """Compact JSON text (used for tool-call argument strings)."""
    return _dumps(obj)
