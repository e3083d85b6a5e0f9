"""``models.embed_content``: one record per call; Gemini API (usage estimated), Vertex AI (token counts)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from genai_support import calls
from google.genai import errors, types

EMBED_MODEL = "text-embedding-004"


def _embed(client: Any, contents: Any, is_async: bool, config: Any = None) -> Any:
    if is_async:
        coroutine = client.aio.models.embed_content(model=EMBED_MODEL, contents=contents, config=config)
        return asyncio.run(coroutine)
    return client.models.embed_content(model=EMBED_MODEL, contents=contents, config=config)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("contents", ["one text", ["first", "second"]], ids=["str", "list"])
@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_embed_record(
    fake: Any, start_monitor: Any, shared_clients: dict[str, Any], backend: str, contents: Any, is_async: bool
) -> None:
    client = shared_clients[backend]
    config = types.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_DOCUMENT")
    fake.configure(request_id="req-embed")
    baseline = _embed(client, contents, is_async, config)
    exporter = start_monitor()

    response = _embed(client, contents, is_async, config)

    assert response.model_dump() == baseline.model_dump()
    [record] = calls(exporter)
    texts = [contents] if isinstance(contents, str) else contents
    assert record["provider"] == ("gcp.vertex_ai" if backend == "vertex" else "gcp.gemini")
    assert record["operation"] == "embeddings" and record["api"] == "models.embed_content"
    assert record["request_model"] == EMBED_MODEL and record["status"] == "ok"
    assert record["input_messages"] == [
        {"role": "user", "parts": [{"type": "text", "content": text} for text in texts]}
    ]
    assert record["request_params"] == {
        "output_dimensionality": 4,
        "task_type": "RETRIEVAL_DOCUMENT",
        "embedding_dimensions": 4,
    }
    assert record["request_id"] == "req-embed"
    assert record["output_messages"] is None
    usage = record["usage"]
    if backend == "vertex":  # the fake reports 12 tokens per embedded item, as Vertex statistics do
        assert usage == {
            "input_tokens": 12 * len(texts),
            "output_tokens": 0,
            "total_tokens": 12 * len(texts),
            "cache_read_input_tokens": None,
            "cache_write_input_tokens": None,
            "reasoning_output_tokens": None,
            "source": "provider",
        }
    else:  # the Gemini API's embedContent has no usage: estimated
        assert usage["source"] == "estimated" and usage["input_tokens"] > 0 and usage["output_tokens"] == 0


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_embed_error(fake: Any, exporter: Any, client: Any, is_async: bool) -> None:
    fake.fail_next(429)

    with pytest.raises(errors.ClientError) as caught:
        _embed(client, "text", is_async)

    [record] = calls(exporter)
    assert caught.value.code == 429
    assert record["status"] == "error" and record["operation"] == "embeddings"
    assert record["error"]["type"] == "google.genai.errors.ClientError"
    assert record["error"]["status_code"] == 429
    assert record["usage"] is None
