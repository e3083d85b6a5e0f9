"""``@lm.observe`` on sync, async, generator and async generator functions; span records and links."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from core_support import DummyClient, DummyError, RecordingExporter

import llm_monitor_sdk as lm
from llm_monitor_sdk.context import ROOT, current_scope


class Oops(ValueError):
    """A user exception that must come back unchanged."""


def _by_name(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in records if r["kind"] == "span"}


def _flushed(recorder: RecordingExporter) -> list[dict[str, Any]]:
    assert lm.flush(10)
    return recorder.records


def test_sync_function_span(recorder: RecordingExporter) -> None:
    @lm.observe
    def add(a: int, b: int = 2, *, scale: int = 1) -> int:
        return (a + b) * scale

    assert add(1, scale=3) == 9
    (span,) = _flushed(recorder)
    assert span["kind"] == "span"
    assert span["name"].endswith("add")
    assert span["status"] == "ok" and span["error"] is None
    assert span["input"] == {"a": 1, "scale": 3}
    assert span["output"] == 9
    assert len(span["trace_id"]) == 32 and len(span["span_id"]) == 16
    assert span["parent_span_id"] is None
    assert span["latency_ms"] >= 0


def test_sync_exception_reraised_unchanged(recorder: RecordingExporter) -> None:
    error = Oops("bad input 42")

    @lm.observe("validate")
    def validate() -> None:
        raise error

    with pytest.raises(Oops) as info:
        validate()
    assert info.value is error
    (span,) = _flushed(recorder)
    assert span["status"] == "error"
    assert span["error"]["type"].endswith("Oops")
    assert span["error"]["message"] == "bad input 42"
    assert span["output"] is None


async def test_async_function_span(recorder: RecordingExporter) -> None:
    @lm.observe("fetch", user_id="u1", tags=["io"])
    async def fetch(url: str) -> dict[str, str]:
        await asyncio.sleep(0)
        assert current_scope().user_id == "u1"
        return {"url": url}

    assert await fetch("http://x") == {"url": "http://x"}
    assert current_scope() is ROOT
    (span,) = _flushed(recorder)
    assert (span["name"], span["status"], span["user_id"], span["tags"]) == ("fetch", "ok", "u1", ["io"])
    assert span["input"] == {"url": "http://x"}
    assert span["output"] == {"url": "http://x"}


async def test_async_exception_reraised_unchanged(recorder: RecordingExporter) -> None:
    error = Oops("async failure")

    @lm.observe("afail")
    async def afail() -> None:
        await asyncio.sleep(0)
        raise error

    with pytest.raises(Oops) as info:
        await afail()
    assert info.value is error
    (span,) = _flushed(recorder)
    assert span["status"] == "error" and span["error"]["message"] == "async failure"


def test_generator_span_and_no_leak_between_yields(recorder: RecordingExporter) -> None:
    @lm.observe("numbers", user_id="inside", metadata={"m": 1})
    def numbers(n: int):
        for i in range(n):
            scope = current_scope()
            yield i, scope.user_id, scope.span_id is not None
        return "finished"

    with lm.context(user_id="caller"):
        gen = numbers(3)
        seen = []
        for item in gen:
            # Between yields the caller's own scope is in force, not the generator's.
            assert current_scope().user_id == "caller"
            assert current_scope().span_id is None
            seen.append(item)
    assert seen == [(0, "inside", True), (1, "inside", True), (2, "inside", True)]
    (span,) = _flushed(recorder)
    assert span["name"] == "numbers"
    assert span["status"] == "ok"
    assert span["output"] == "finished"
    assert span["input"] == {"n": 3}
    assert span["user_id"] == "inside" and span["metadata"] == {"m": 1}


def test_generator_error_and_send(recorder: RecordingExporter) -> None:
    @lm.observe("echo")
    def echo():
        received = yield "ready"
        while True:
            if received == "stop":
                raise Oops("stopped")
            received = yield f"got {received}"

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("a") == "got a"
    with pytest.raises(Oops, match="stopped"):
        gen.send("stop")
    (span,) = _flushed(recorder)
    assert span["status"] == "error" and span["error"]["message"] == "stopped"


def test_generator_closed_early_is_ok(recorder: RecordingExporter) -> None:
    closed = []

    @lm.observe("endless")
    def endless():
        try:
            while True:
                yield 1
        finally:
            closed.append(True)

    gen = endless()
    next(gen)
    gen.close()
    assert closed == [True]
    (span,) = _flushed(recorder)
    assert span["status"] == "ok" and span["error"] is None


async def test_async_generator_span_and_no_leak(recorder: RecordingExporter) -> None:
    @lm.observe("stream_words", feature="chat")
    async def stream_words(words: list[str]):
        for word in words:
            await asyncio.sleep(0)
            yield word, current_scope().feature

    with lm.context(feature="outer"):
        got = []
        async for item in stream_words(["a", "b"]):
            assert current_scope().feature == "outer"
            got.append(item)
    assert got == [("a", "chat"), ("b", "chat")]
    (span,) = _flushed(recorder)
    assert (span["name"], span["status"], span["feature"]) == ("stream_words", "ok", "chat")
    assert span["input"] == {"words": ["a", "b"]}


async def test_async_generator_exception_reraised(recorder: RecordingExporter) -> None:
    error = Oops("agen broke")

    @lm.observe("agen")
    async def agen():
        yield 1
        raise error

    with pytest.raises(Oops) as info:
        async for _ in agen():
            pass
    assert info.value is error
    (span,) = _flushed(recorder)
    assert span["status"] == "error" and span["error"]["message"] == "agen broke"


def test_nested_observes_link_parent_and_child(recorder: RecordingExporter) -> None:
    @lm.observe("leaf")
    def leaf() -> int:
        return 1

    @lm.observe("middle")
    def middle() -> int:
        return leaf() + leaf()

    @lm.observe("root", tenant_id="acme")
    def root() -> int:
        return middle()

    assert root() == 2
    records = _flushed(recorder)
    spans = _by_name(records)
    leaves = [r for r in records if r["name"] == "leaf"]
    assert len(leaves) == 2 and leaves[0]["span_id"] != leaves[1]["span_id"]
    assert spans["root"]["parent_span_id"] is None
    assert spans["middle"]["parent_span_id"] == spans["root"]["span_id"]
    assert all(leaf["parent_span_id"] == spans["middle"]["span_id"] for leaf in leaves)
    assert {r["trace_id"] for r in records} == {spans["root"]["trace_id"]}
    assert {r["tenant_id"] for r in records} == {"acme"}


async def test_nested_async_observes_in_concurrent_tasks(recorder: RecordingExporter) -> None:
    @lm.observe("task")
    async def task(n: int) -> int:
        await asyncio.sleep(0)
        return n

    @lm.observe("fanout")
    async def fanout() -> list[int]:
        return list(await asyncio.gather(*(task(n) for n in range(5))))

    assert await fanout() == [0, 1, 2, 3, 4]
    records = _flushed(recorder)
    parent = _by_name(records)["fanout"]
    tasks = [r for r in records if r["name"] == "task"]
    assert len(tasks) == 5
    assert all(
        t["parent_span_id"] == parent["span_id"] and t["trace_id"] == parent["trace_id"] for t in tasks
    )


def test_separate_top_level_calls_get_separate_traces(recorder: RecordingExporter) -> None:
    @lm.observe
    def step() -> None:
        pass

    step()
    step()
    first, second = _flushed(recorder)
    assert first["trace_id"] != second["trace_id"]


def test_observe_keywords_and_capture_switches(recorder: RecordingExporter) -> None:
    @lm.observe(
        "secret_op",
        user_id="u9",
        session_id="s9",
        prompt_name="p",
        prompt_version="v2",
        capture_input=False,
        capture_output=False,
    )
    def secret_op(password: str) -> str:
        return password[::-1]

    assert secret_op("hunter2") == "2retnuh"
    (span,) = _flushed(recorder)
    assert span["input"] is None and span["output"] is None
    assert (span["user_id"], span["session_id"], span["prompt_name"], span["prompt_version"]) == (
        "u9",
        "s9",
        "p",
        "v2",
    )


def test_methods_drop_self(recorder: RecordingExporter) -> None:
    class Service:
        @lm.observe
        def run(self, job: str) -> str:
            return job.upper()

    assert Service().run("x") == "X"
    (span,) = _flushed(recorder)
    assert span["input"] == {"job": "x"}
    assert span["name"].endswith("Service.run")


def test_observe_is_transparent_when_not_instrumented() -> None:
    @lm.observe("idle")
    def idle(x: int) -> int:
        return x + 1

    assert lm.get_monitor() is None
    assert idle(1) == 2


def test_llm_call_parent_is_the_observe_span(recorder: RecordingExporter) -> None:
    client = DummyClient()

    @lm.observe("answer", user_id="alice")
    def answer(question: str) -> str:
        response = client.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}], temperature=0.2
        )
        return response["text"]

    assert answer("hi?") == "hello back"
    records = _flushed(recorder)
    span = _by_name(records)["answer"]
    (call,) = [r for r in records if r["kind"] == "llm_call"]
    assert call["parent_span_id"] == span["span_id"]
    assert call["trace_id"] == span["trace_id"]
    assert call["span_id"] != span["span_id"]
    assert call["user_id"] == "alice"
    assert call["api"] == "dummy.create"
    assert call["request_params"] == {"temperature": 0.2}
    assert call["usage"]["total_tokens"] == 15


def test_llm_call_error_is_recorded_and_reraised(recorder: RecordingExporter) -> None:
    with pytest.raises(DummyError, match="provider said no"):
        DummyClient().create(model="gpt-4o-mini", messages=[], fail=True)
    (call,) = _flushed(recorder)
    assert call["status"] == "error"
    assert call["error"]["type"].endswith("DummyError")
    assert call["parent_span_id"] is None


def test_openai_call_parent_is_the_observe_span(fake_provider, memory_exporter) -> None:
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False, flush_interval=0.02)
    client = fake_provider.openai_client()

    @lm.observe("ask")
    def ask() -> str:
        response = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
        )
        return response.choices[0].message.content

    ask()
    assert lm.flush(10)
    span = memory_exporter.spans[0]
    (call,) = memory_exporter.calls
    assert call["parent_span_id"] == span["span_id"]
    assert call["trace_id"] == span["trace_id"]


def test_generator_cleanup_runs_inside_the_span(recorder: RecordingExporter) -> None:
    client = DummyClient()
    seen: list[str | None] = []

    @lm.observe("tokens", user_id="inner")
    def tokens():
        try:
            yield 1
            yield 2
        finally:  # cleanup with an LLM call, run by close(): still part of the span
            seen.append(current_scope().user_id)
            client.create(model="gpt-4o-mini", messages=[])

    with lm.context(user_id="caller"):
        gen = tokens()
        next(gen)
        gen.close()
        assert current_scope().user_id == "caller"
    assert seen == ["inner"]
    records = _flushed(recorder)
    span = _by_name(records)["tokens"]
    (call,) = [r for r in records if r["kind"] == "llm_call"]
    assert call["parent_span_id"] == span["span_id"] and call["user_id"] == "inner"


async def test_async_generator_cleanup_runs_inside_the_span(recorder: RecordingExporter) -> None:
    seen: list[str | None] = []

    @lm.observe("atokens", user_id="inner")
    async def atokens():
        try:
            yield 1
            yield 2
        finally:
            seen.append(current_scope().user_id)

    with lm.context(user_id="caller"):
        agen = atokens()
        assert await agen.__anext__() == 1
        await agen.aclose()
        assert current_scope().user_id == "caller"
    assert seen == ["inner"]
    (span,) = _flushed(recorder)
    assert span["status"] == "ok"
