"""``lm.context``: isolation across threads and asyncio tasks, nesting, restore, thread-pool helpers."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.context import ROOT, current_scope


def test_threads_never_see_each_others_context() -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    seen: dict[int, list[str | None]] = {}

    def work(n: int) -> None:
        observed: list[str | None] = []
        with lm.context(user_id=f"user-{n}", tenant_id=f"t-{n}"):
            for _ in range(3):
                barrier.wait(10)  # every thread is inside its block at the same time
                observed.append(current_scope().user_id)
                observed.append(current_scope().tenant_id)
        observed.append(current_scope().user_id)
        seen[n] = observed

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen == {n: [f"user-{n}", f"t-{n}"] * 3 + [None] for n in range(workers)}


async def test_asyncio_tasks_never_see_each_others_context() -> None:
    tasks = 20
    everyone_inside = asyncio.Event()
    inside = 0

    async def work(n: int) -> list[str | None]:
        nonlocal inside
        observed: list[str | None] = []
        async with lm.context(user_id=f"user-{n}", tags=[f"tag-{n}"]):
            inside += 1
            if inside == tasks:
                everyone_inside.set()
            await everyone_inside.wait()
            for _ in range(3):
                await asyncio.sleep(0)
                observed.append(current_scope().user_id)
                observed.extend(current_scope().tags)
        observed.append(current_scope().user_id)
        return observed

    with lm.context(user_id="parent"):
        results = await asyncio.gather(*(work(n) for n in range(tasks)))
        assert current_scope().user_id == "parent"
    assert results == [[f"user-{n}", f"tag-{n}"] * 3 + ["parent"] for n in range(tasks)]


def test_nested_scopes_merge_inner_wins() -> None:
    with lm.context(
        user_id="alice", tenant_id="acme", tags=["a", "b"], metadata={"plan": "pro", "region": "eu"}
    ):
        with lm.context(
            user_id="bob",
            tags=["b", "c"],
            metadata={"region": "us", "ab": 1},
            prompt_name="summarize",
            prompt_version="3",
        ) as inner:
            assert inner is current_scope()
            assert inner.user_id == "bob"
            assert inner.tenant_id == "acme"
            assert inner.tags == ("a", "b", "c")
            assert dict(inner.metadata) == {"plan": "pro", "region": "us", "ab": 1}
            assert (inner.prompt_name, inner.prompt_version) == ("summarize", "3")
        outer = current_scope()
        assert outer.user_id == "alice"
        assert outer.tags == ("a", "b")
        assert dict(outer.metadata) == {"plan": "pro", "region": "eu"}
        assert outer.prompt_name is None
    assert current_scope() is ROOT


def test_restored_on_exception() -> None:
    class Boom(Exception):
        pass

    with lm.context(user_id="outer"):
        with pytest.raises(Boom), lm.context(user_id="inner", feature="f"):
            raise Boom
        assert current_scope().user_id == "outer"
        assert current_scope().feature is None
    assert current_scope() is ROOT


async def test_async_with_restored_on_exception() -> None:
    with pytest.raises(KeyError):
        async with lm.context(session_id="s1"):
            await asyncio.sleep(0)
            raise KeyError("x")
    assert current_scope() is ROOT


def test_same_context_object_can_be_reentered() -> None:
    ctx = lm.context(user_id="u")
    with ctx:
        with ctx:
            assert current_scope().user_id == "u"
        assert current_scope().user_id == "u"
    assert current_scope() is ROOT


def test_plain_thread_pool_does_not_carry_context() -> None:
    # The control experiment: without the helpers the worker thread sees nothing.
    with ThreadPoolExecutor(max_workers=2) as pool, lm.context(user_id="alice"):
        assert pool.submit(lambda: current_scope().user_id).result(10) is None


def test_bind_context_carries_context_into_a_pool() -> None:
    def who(suffix: str) -> str:
        scope = current_scope()
        return f"{scope.user_id}/{scope.tenant_id}/{dict(scope.metadata)}{suffix}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        with lm.context(user_id="alice", tenant_id="acme", metadata={"k": 1}):
            bound = lm.bind_context(who)
        # The binding is a snapshot taken when bind_context ran, not when the task runs.
        with lm.context(user_id="mallory"):
            assert pool.submit(bound, "!").result(10) == "alice/acme/{'k': 1}!"
    assert bound.__name__ == "who"


def test_context_thread_pool_executor_submit_and_map() -> None:
    with lm.ContextThreadPoolExecutor(max_workers=3) as pool:
        with lm.context(user_id="alice"):
            futures = [pool.submit(lambda n: (n, current_scope().user_id), n) for n in range(5)]
            mapped = list(pool.map(lambda n: (n, current_scope().user_id), range(5)))
        with lm.context(user_id="bob"):
            later = pool.submit(lambda: current_scope().user_id).result(10)
    assert [f.result(10) for f in futures] == [(n, "alice") for n in range(5)]
    assert mapped == [(n, "alice") for n in range(5)]
    assert later == "bob"


def test_observe_span_links_through_context_pool(recorder) -> None:
    @lm.observe("child")
    def child() -> None:
        pass

    @lm.observe("parent")
    def parent() -> None:
        with lm.ContextThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(child) for _ in range(3)]:
                future.result(10)

    parent()
    assert lm.flush(10)
    spans = {r["name"]: r for r in recorder.records if r["name"] == "parent"}
    children = [r for r in recorder.records if r["name"] == "child"]
    assert len(children) == 3
    assert all(c["parent_span_id"] == spans["parent"]["span_id"] for c in children)
    assert all(c["trace_id"] == spans["parent"]["trace_id"] for c in children)


def test_context_as_decorator_on_every_function_kind() -> None:
    ctx = lm.context(user_id="deco", tags="t")

    @ctx
    def plain() -> str | None:
        return current_scope().user_id

    @ctx
    async def coro() -> str | None:
        await asyncio.sleep(0)
        return current_scope().user_id

    @ctx
    def gen():
        yield current_scope().user_id
        yield current_scope().tags

    @ctx
    async def agen():
        yield current_scope().user_id
        await asyncio.sleep(0)
        yield current_scope().tags

    async def collect() -> list[object]:
        return [item async for item in agen()]

    assert plain() == "deco"
    assert asyncio.run(coro()) == "deco"
    assert list(gen()) == ["deco", ("t",)]
    assert asyncio.run(collect()) == ["deco", ("t",)]
    assert current_scope() is ROOT
    assert plain.__name__ == "plain"


def test_metadata_that_is_not_a_mapping_is_kept_under_a_key_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with lm.context(metadata={"a": 1}), lm.context(metadata=["not", "a"]) as scope:  # type: ignore[arg-type]
        assert dict(scope.metadata) == {"a": 1, "metadata": ["not", "a"]}
    assert current_scope() is ROOT
    assert "context metadata must be a mapping, not list" in caplog.text
