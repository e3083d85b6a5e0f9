"""The fake provider's Gemini surface, driven by the real ``google-genai`` SDK (server and in-process)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from llm_monitor_sdk.testing import FakeProvider, fake_headers, sdk_http_module

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

MODEL = "gemini-2.5-flash"


def _cfg(**knobs: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(http_options=types.HttpOptions(headers=fake_headers(**knobs)))


def test_generate_content(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(input_tokens=10, output_tokens=3, cached_tokens=4, reasoning_tokens=7)
    client = fake_provider.genai_client(in_process=in_process)
    r = client.models.generate_content(model=MODEL, contents="hi")
    assert r.text == "Hello!" and r.candidates[0].finish_reason == types.FinishReason.STOP
    u = r.usage_metadata
    assert (u.prompt_token_count, u.candidates_token_count, u.cached_content_token_count) == (10, 3, 4)
    assert (u.thoughts_token_count, u.total_token_count) == (7, 20)
    assert r.model_version == MODEL
    assert r.response_id == fake_provider.last_request.request_id
    assert fake_provider.last_request.operation == "generateContent"


def test_stream_running_usage_and_final_finish_reason(fake_provider: FakeProvider, in_process: bool) -> None:
    fake_provider.configure(text="abcdefgh", chunks=4, output_tokens=8)
    client = fake_provider.genai_client(in_process=in_process)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    assert [c.text for c in chunks] == ["ab", "cd", "ef", "gh"]
    running = [c.usage_metadata.candidates_token_count for c in chunks]
    assert running == sorted(running) and running[-1] == 8
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert fake_provider.last_request.query == "alt=sse"


def test_api_versions(fake_provider: FakeProvider, in_process: bool) -> None:
    for version in ("v1", "v1beta"):
        client = fake_provider.genai_client(in_process=in_process, api_version=version)
        assert client.models.generate_content(model=MODEL, contents="hi").text == "Hello!"
        assert fake_provider.last_request.path == f"/{version}/models/{MODEL}:generateContent"


def test_embeddings(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.genai_client(in_process=in_process)
    one = client.models.embed_content(model="gemini-embedding-001", contents="a")
    many = client.models.embed_content(
        model="gemini-embedding-001",
        contents=["a", "b", "c"],
        config=types.EmbedContentConfig(output_dimensionality=5),
    )
    assert one.embeddings[0].values == [0.1, 0.2, 0.3]
    assert len(many.embeddings) == 3 and len(many.embeddings[2].values) == 5


def test_vertex_express_paths(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.genai_client(in_process=in_process, vertexai=True, api_key="k")
    assert client.models.generate_content(model=MODEL, contents="hi").text == "Hello!"
    assert fake_provider.last_request.path == f"/v1beta1/publishers/google/models/{MODEL}:generateContent"
    emb = client.models.embed_content(model="text-embedding-005", contents=["a", "b"])
    assert [len(e.values) for e in emb.embeddings] == [3, 3]
    assert fake_provider.last_request.operation == "predict"


def test_vertex_project_path_and_count_tokens_over_raw_http(fake_provider: FakeProvider) -> None:
    url = (
        f"{fake_provider.url}/v1/projects/p1/locations/us-central1/publishers/google/models/"
        f"{MODEL}:generateContent"
    )
    req = urllib.request.Request(
        url, data=b'{"contents": []}', method="POST", headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = json.load(resp)
    assert body["candidates"][0]["content"]["parts"] == [{"text": "Hello!"}]
    client = fake_provider.genai_client()
    assert client.models.count_tokens(model=MODEL, contents="hi").total_tokens == 12


def test_stream_without_alt_sse_is_a_json_array(fake_provider: FakeProvider) -> None:
    url = f"{fake_provider.url}/v1beta/models/{MODEL}:streamGenerateContent"
    req = urllib.request.Request(url, data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        chunks = json.load(resp)
    assert [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks] == ["Hel", "lo!"]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_thinking_tool_calls_and_finish_override(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.genai_client(in_process=in_process)
    cfg = _cfg(
        thinking="hmm", tool_calls=[{"name": "lookup", "arguments": {"q": "x"}}], finish_reason="SAFETY"
    )
    r = client.models.generate_content(model=MODEL, contents="hi", config=cfg)
    parts = r.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text == "hmm"
    assert r.function_calls[0].name == "lookup" and r.function_calls[0].args == {"q": "x"}
    assert r.candidates[0].finish_reason == types.FinishReason.SAFETY
    chunks = list(client.models.generate_content_stream(model=MODEL, contents="hi", config=cfg))
    assert chunks[-1].function_calls[0].name == "lookup"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.SAFETY


def test_usage_absent(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.genai_client(in_process=in_process)
    r = client.models.generate_content(model=MODEL, contents="hi", config=_cfg(usage=False))
    assert r.usage_metadata is None and r.text == "Hello!"


@pytest.mark.parametrize(
    ("status", "exc", "grpc"),
    [
        (400, errors.ClientError, "INVALID_ARGUMENT"),
        (401, errors.ClientError, "UNAUTHENTICATED"),
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
    ],
)
def test_errors(fake_provider: FakeProvider, in_process: bool, status: int, exc: type, grpc: str) -> None:
    client = fake_provider.genai_client(in_process=in_process)
    fake_provider.fail_next(status, message="quota")
    with pytest.raises(exc) as info:
        client.models.generate_content(model=MODEL, contents="hi")
    assert (info.value.code, info.value.status, info.value.message) == (status, grpc, "quota")


def test_cut_stream(fake_provider: FakeProvider, in_process: bool) -> None:
    hx = sdk_http_module("google.genai")
    fake_provider.configure(text="abcdef", chunks=6)
    client = fake_provider.genai_client(in_process=in_process)
    seen = []
    with pytest.raises(hx.TransportError):
        for chunk in client.models.generate_content_stream(
            model=MODEL, contents="hi", config=_cfg(cut_after=2)
        ):
            seen.append(chunk.text)
    assert seen == ["a", "b"]


async def test_async_generate_stream_and_error(fake_provider: FakeProvider, in_process: bool) -> None:
    client = fake_provider.genai_client(in_process=in_process)
    r = await client.aio.models.generate_content(model=MODEL, contents="hi")
    assert r.text == "Hello!"
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
    chunks = [c async for c in stream]
    assert "".join(c.text for c in chunks) == "Hello!" and chunks[-1].usage_metadata.total_token_count == 14
    with pytest.raises(errors.ClientError):
        await client.aio.models.generate_content(model=MODEL, contents="hi", config=_cfg(status=429))
