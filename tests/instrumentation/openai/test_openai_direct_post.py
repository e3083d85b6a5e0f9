"""The client's generic ``post(path, body=...)``, called directly as LiteLLM's OpenAI path does: one
record per request, routed to the surface the path names; the caller gets exactly what it got before."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from oai_support import TEXT, chat_kwargs, output_text
from openai._base_client import make_request_options
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.completion import Completion

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


def _post(client: Any, path: str, body: dict[str, Any], *, raw: bool, cast_to: Any, stream_cls: Any) -> Any:
    headers = {"X-Stainless-Raw-Response": "true"} if raw else None
    return client.post(
        path,
        body=body,
        cast_to=cast_to,
        options=make_request_options(extra_headers=headers),
        stream=bool(body.get("stream")),
        stream_cls=stream_cls,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("raw", [False, True], ids=["parsed", "raw"])
async def test_chat_completions_posted_directly_are_recorded_once(
    fake: FakeProvider,
    memory_exporter: lm.exporters.InMemoryExporter,
    is_async: bool,
    raw: bool,
    stream: bool,
) -> None:
    fake.configure(request_id="req_post")
    client = fake.openai_client(async_=is_async)
    body = {**chat_kwargs(), **({"stream": True} if stream else {})}
    stream_cls = (openai.AsyncStream if is_async else openai.Stream)[ChatCompletionChunk]

    async def run() -> Any:
        result = _post(
            client, "/chat/completions", dict(body), raw=raw, cast_to=ChatCompletion, stream_cls=stream_cls
        )
        if is_async:
            result = await result
        if raw and is_async and hasattr(result, "parse"):
            parsed = result.parse()
            result = await parsed if hasattr(parsed, "__await__") else parsed
            raw_done = True
        else:
            raw_done = False
        if raw and not raw_done:
            result = result.parse()
        if stream:
            return [c.model_dump() async for c in result] if is_async else [c.model_dump() for c in result]
        return result.model_dump()

    plain = await run()
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.05)
    watched = await run()
    assert watched == plain  # the caller's view is unchanged (usage chunk the SDK asked for withheld)
    assert lm.flush(5)
    [record] = memory_exporter.calls
    assert record["api"] == "chat.completions.create" and record["stream"] is stream
    assert record["request_model"] == "gpt-4o-mini" and output_text(record) == TEXT
    assert record["usage"]["source"] == "provider" and record["request_id"] == "req_post"
    assert record["input_messages"][0]["parts"][0]["content"] == "Say hello"


async def test_other_paths_run_unmonitored_and_resource_calls_are_not_doubled(
    fake: FakeProvider, records: Any, is_async: bool
) -> None:
    client = fake.openai_client(async_=is_async)
    result = _post(
        client,
        "/completions",
        {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"},
        raw=False,
        cast_to=Completion,
        stream_cls=None,
    )
    if is_async:
        await result
    with pytest.raises(openai.NotFoundError):  # a path we do not record: unmonitored, error unchanged
        moderation = client.post("/moderations", body={"input": "hi"}, cast_to=object)
        if is_async:
            await moderation
    create = client.chat.completions.create(**chat_kwargs())
    if is_async:
        await create
    legacy, chat = records()
    assert legacy["api"] == "completions.create" and legacy["operation"] == "text_completion"
    assert chat["api"] == "chat.completions.create"
