"""google-genai: error categories and safety (issue 12), plain and streamed, sync and async."""

from __future__ import annotations

from typing import Any

import pytest
from genai_support import MODEL, calls, run
from google.genai import errors


@pytest.mark.parametrize(
    ("status", "category"),
    [(400, "client"), (404, "client"), (429, "rate_limit"), (500, "server"), (503, "server")],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_status_errors_get_a_category(
    fake: Any, exporter: Any, client: Any, status: int, category: str, stream: bool
) -> None:
    fake.fail_next(status)
    with pytest.raises(errors.APIError):
        run(client, "models", False, stream)
    [record] = calls(exporter)
    assert record["error"]["status_code"] == status and record["error"]["category"] == category


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_connection_refused_is_a_connection_error(exporter: Any, is_async: bool) -> None:
    from google import genai
    from google.genai import types

    dead = genai.Client(api_key="k", http_options=types.HttpOptions(base_url="http://127.0.0.1:9"))
    with pytest.raises(Exception):  # the HTTP library's own connection error, whichever it is
        run(dead, "models", is_async, False)
    [record] = calls(exporter)
    assert record["error"]["category"] == "connection"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(
    ("reason", "filtered"),
    [("SAFETY", True), ("PROHIBITED_CONTENT", True), ("BLOCKLIST", True), ("SPII", True), ("STOP", False)],
)
def test_safety_finish_reasons(
    fake: Any, exporter: Any, client: Any, reason: str, filtered: bool, stream: bool
) -> None:
    fake.configure(finish_reason=reason)
    run(client, "models", False, stream)
    [record] = calls(exporter)
    assert record["safety"] == {"content_filtered": filtered, "refusal": False}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("reason", ["SAFETY", "OTHER", "BLOCKLIST"])
def test_blocked_prompt_without_candidates_is_content_filtered(
    exporter: Any, canned: Any, reason: str, stream: bool
) -> None:
    def reply(stream: bool) -> dict[str, Any]:
        return {
            "promptFeedback": {"blockReason": reason},
            "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
            "modelVersion": MODEL,
        }

    run(canned.serving(reply), "models", False, stream)
    [record] = calls(exporter)
    assert record["safety"] == {"content_filtered": True, "refusal": False}
