"""Context: ``context()`` / ``@observe`` attributes and trace links, across threads and tasks; snapshots."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from oai_support import PROMPT, chat_kwargs

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider


async def test_records_carry_context_attributes(fake: FakeProvider, is_async: bool, records: Any) -> None:
    client = fake.openai_client(async_=is_async)
    with lm.context(
        user_id="u1",
        tenant_id="acme",
        session_id="s1",
        feature="summarize",
        tags=["beta"],
        metadata={"plan": "pro"},
        prompt_name="greet",
        prompt_version="3",
    ):
        if is_async:
            stream = await client.chat.completions.create(**chat_kwargs(), stream=True)
            async for _ in stream:
                pass
        else:
            for _ in client.chat.completions.create(**chat_kwargs(), stream=True):
                pass
    [record] = records()
    assert (record["user_id"], record["tenant_id"], record["session_id"], record["feature"]) == (
        "u1",
        "acme",
        "s1",
        "summarize",
    )
    assert record["tags"] == ["beta"] and record["metadata"] == {"plan": "pro"}
    assert (record["prompt_name"], record["prompt_version"]) == ("greet", "3")


async def test_stream_read_outside_the_block_keeps_the_calls_context(
    fake: FakeProvider, records: Any
) -> None:
    client = fake.openai_client()
    with lm.context(user_id="caller"):
        stream = client.chat.completions.create(**chat_kwargs(), stream=True)
    with lm.context(user_id="someone-else"):
        list(stream)
    [record] = records()
    assert record["user_id"] == "caller"


async def test_observe_links_calls_to_the_span(fake: FakeProvider, monitor: Any, records: Any) -> None:
    client = fake.openai_client(async_=True)

    @lm.observe(name="answer", user_id="u7")
    async def answer() -> str:
        first = await client.chat.completions.create(**chat_kwargs())
        await client.responses.create(model="gpt-4.1-mini", input="again")
        return str(first.choices[0].message.content)

    await answer()
    chat, responses = records()
    [span] = [r for r in monitor.records if r["kind"] == "span"]
    for record in (chat, responses):
        assert record["trace_id"] == span["trace_id"] and record["parent_span_id"] == span["span_id"]
        assert record["user_id"] == "u7"
    assert chat["span_id"] != responses["span_id"]


async def test_context_follows_work_into_threads(fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client()
    with lm.context(tenant_id="pool"), lm.ContextThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: client.chat.completions.create(**chat_kwargs()), range(2)))
    with lm.context(tenant_id="bound"):
        worker = threading.Thread(
            target=lm.bind_context(
                lambda: client.embeddings.create(model="text-embedding-3-small", input="x")
            )
        )
    worker.start()
    worker.join()
    tenants = sorted(r["tenant_id"] for r in records())
    assert tenants == ["bound", "pool", "pool"]


async def test_context_per_asyncio_task(fake: FakeProvider, records: Any) -> None:
    client = fake.openai_client(async_=True)

    async def one(user: str) -> None:
        with lm.context(user_id=user):
            await asyncio.sleep(0)  # interleave the tasks
            stream = await client.chat.completions.create(**chat_kwargs(), stream=True)
            async for _ in stream:
                await asyncio.sleep(0)

    await asyncio.gather(*(one(f"user{i}") for i in range(4)))
    assert sorted(r["user_id"] for r in records()) == [f"user{i}" for i in range(4)]


async def test_caller_mutating_its_request_after_the_call_changes_nothing(
    fake: FakeProvider, records: Any
) -> None:
    client = fake.openai_client()
    kwargs = chat_kwargs()
    messages = kwargs["messages"]
    reply = client.chat.completions.create(**kwargs)
    messages.append({"role": "assistant", "content": reply.choices[0].message.content})  # chat loops do this
    messages.append({"role": "user", "content": "And again?"})
    stream = client.chat.completions.create(**kwargs, stream=True)
    messages.append({"role": "user", "content": "mutated while streaming"})
    list(stream)
    items: list[Any] = [{"role": "user", "content": PROMPT}]
    client.responses.create(model="gpt-4.1-mini", input=items)
    items.append({"role": "user", "content": "later"})
    first, second, third = records()
    assert len(first["input_messages"]) == 1 and first["input_messages"][0]["parts"][0]["content"] == PROMPT
    assert [m["role"] for m in second["input_messages"]] == ["user", "assistant", "user"]
    assert len(third["input_messages"]) == 1
