"""lm.guardrail: records, block rates, latency percentiles, trace links, exceptions unchanged."""

from __future__ import annotations

import asyncio
import time

import pytest
from eval_support import feedback, guardrail, instrument

import llm_monitor_sdk as lm


class Refused(Exception):
    pass


def test_guardrail_records_and_block_rate() -> None:
    monitored = instrument(None)
    for i in range(10):
        with guardrail("pii_filter") as g:
            if i % 4 == 0:
                g.block("email address")
    with guardrail("toxicity", stage="output"):
        time.sleep(0.02)
    monitored.drain()
    records = monitored.records("guardrail")
    assert len(records) == 11
    blocked = [r for r in records if r["guardrail"]["blocked"]]
    assert len(blocked) == 3
    assert blocked[0]["guardrail"] == {
        "name": "pii_filter",
        "stage": "input",
        "blocked": True,
        "reason": "email address",
        "latency_ms": blocked[0]["guardrail"]["latency_ms"],
    }
    slow = next(r for r in records if r["guardrail"]["name"] == "toxicity")
    assert slow["guardrail"]["stage"] == "output" and slow["guardrail"]["latency_ms"] >= 19.0
    assert slow["guardrail"]["reason"] is None and slow["guardrail"]["blocked"] is False
    stats = lm.stats()["guardrails"]
    assert stats["pii_filter"]["count"] == 10 and stats["pii_filter"]["block_rate"] == 0.3
    assert stats["toxicity"]["block_rate"] == 0.0
    assert stats["toxicity"]["latency_ms"]["p50"] >= 19.0
    assert set(stats["pii_filter"]["latency_ms"]) == {"p50", "p90", "p99"}


def test_guardrail_joins_the_current_trace_and_span() -> None:
    monitored = instrument(None)

    @lm.observe("handler", tenant_id="acme")
    def handler() -> tuple[str, str]:
        with guardrail("jailbreak") as g:
            pass
        return g.trace_id, g.record_id

    trace_id, record_id = handler()
    monitored.drain()
    span = monitored.records("span")[0]
    (record,) = monitored.records("guardrail")
    assert record["trace_id"] == trace_id == span["trace_id"]
    assert record["parent_span_id"] == span["span_id"]
    assert record["record_id"] == record_id
    assert record["tenant_id"] == "acme"


def test_a_false_positive_is_feedback_on_the_guardrail_trace() -> None:
    monitored = instrument(None)
    with guardrail("pii_filter") as g:
        g.block("looked like a phone number")
    feedback(trace_id=g.trace_id, record_id=g.record_id, name="guardrail_false_positive", thumbs=False)
    monitored.drain()
    (check,) = monitored.records("guardrail")
    (fb,) = monitored.records("feedback")
    assert fb["trace_id"] == check["trace_id"] and fb["target"]["record_id"] == check["record_id"]
    assert lm.stats()["feedback"]["guardrail_false_positive"]["fail_rate"] == 1.0


def test_exceptions_pass_through_unchanged_and_the_record_is_kept() -> None:
    monitored = instrument(None)
    error = Refused("no")
    with pytest.raises(Refused) as info, guardrail("policy") as g:
        g.block("policy violation")
        raise error
    assert info.value is error
    monitored.drain()
    (record,) = monitored.records("guardrail")
    assert record["guardrail"]["blocked"] is True and record["guardrail"]["reason"] == "policy violation"


def test_decorator_on_sync_and_async_functions() -> None:
    monitored = instrument(None)

    @guardrail("length", stage="output")
    def check(text: str) -> str:
        if len(text) > 5:
            guardrail.current().block("too long")
        return text

    @guardrail("async_check")
    async def acheck(text: str) -> str:
        await asyncio.sleep(0)
        if "bad" in text:
            guardrail.current().block()
        return text.upper()

    assert check("hi") == "hi" and check("far too long") == "far too long"
    assert asyncio.run(acheck("bad")) == "BAD" and asyncio.run(acheck("ok")) == "OK"
    assert guardrail.current() is None
    monitored.drain()
    by_name: dict[str, list[bool]] = {}
    for record in monitored.records("guardrail"):
        by_name.setdefault(record["guardrail"]["name"], []).append(record["guardrail"]["blocked"])
    assert by_name == {"length": [False, True], "async_check": [True, False]}


def test_async_with_and_nesting() -> None:
    monitored = instrument(None)

    async def main() -> None:
        async with guardrail("outer") as outer:
            with guardrail("inner") as inner:
                assert guardrail.current() is inner
                inner.block("inner only")
            assert guardrail.current() is outer

    asyncio.run(main())
    monitored.drain()
    got = {r["guardrail"]["name"]: r["guardrail"]["blocked"] for r in monitored.records("guardrail")}
    assert got == {"outer": False, "inner": True}


@pytest.mark.parametrize(("args", "kwargs"), [(("",), {}), ((3,), {}), (("x",), {"stage": "middle"})])
def test_bad_guardrail_arguments(args: tuple, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        guardrail(*args, **kwargs)


def test_bad_block_reason() -> None:
    with guardrail("x") as g, pytest.raises(ValueError, match="reason"):
        g.block(reason=42)  # type: ignore[arg-type]


def test_guardrails_work_without_a_monitor() -> None:
    lm.uninstrument()
    with guardrail("offline") as g:
        g.block("still fine")
    assert g.blocked and g.trace_id and len(g.trace_id) == 32


@pytest.mark.internal_errors_expected
def test_an_sdk_failure_inside_a_guardrail_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    instrument(None)
    monitor = lm.get_monitor()
    assert monitor is not None

    def broken(record: dict) -> bool:
        raise RuntimeError("queue bug")

    monkeypatch.setattr(monitor, "submit_record", broken)
    with guardrail("g") as g:
        g.block()
    assert any(kind.startswith("guardrail.") for kind in lm.stats()["internal_errors"])
