"""lm.feedback: records that target the right call and trace, validation, stats."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eval_support import feedback, instrument

import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

pytest.importorskip("openai")


def _ask(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def test_feedback_targets_the_call_and_its_trace(fake_provider: FakeProvider) -> None:
    monitored = instrument(None)
    client = fake_provider.openai_client()

    @lm.observe("chat")
    def chat() -> tuple[str, str | None]:
        response = _ask(client)
        return response.id, lm.current_trace_id()

    response_id, trace_id = chat()
    assert trace_id is not None
    assert lm.flush(5)
    call = monitored.records("llm_call")[0]
    # after the call's record was exported
    feedback(response_id=response_id, trace_id=trace_id, thumbs=True, comment="spot on", user_id="rater-1")
    feedback(
        record_id=call["record_id"], name="accuracy", score=0.25, label="partly wrong", metadata={"n": 1}
    )
    monitored.drain()
    first, second = monitored.records("feedback")
    assert first["trace_id"] == call["trace_id"] == trace_id
    assert first["target"] == {"record_id": None, "response_id": call["response_id"], "trace_id": trace_id}
    assert first["evaluation"] == {
        "name": "user_rating",
        "score": 1.0,
        "passed": True,
        "label": None,
        "explanation": None,
        "source": "human",
    }
    assert first["comment"] == "spot on" and first["user_id"] == "rater-1"
    assert second["target"]["record_id"] == call["record_id"]
    assert second["evaluation"]["score"] == 0.25 and second["evaluation"]["passed"] is False
    assert second["evaluation"]["label"] == "partly wrong" and second["metadata"] == {"n": 1}
    stats = lm.stats()["feedback"]
    assert stats["user_rating"] == {"count": 1, "mean": 1.0, "fail_rate": 0.0}
    assert stats["accuracy"] == {"count": 1, "mean": 0.25, "fail_rate": 1.0}


def test_feedback_before_the_call_record_is_exported(fake_provider: FakeProvider) -> None:
    gate = threading.Event()

    class Slow:
        def __init__(self) -> None:
            self.records: list[dict[str, Any]] = []

        def export(self, records: Any) -> None:
            gate.wait(10)
            self.records.extend(records)

        def shutdown(self) -> None:
            pass

    slow = Slow()
    lm.instrument(exporters=[slow], redact=False, flush_interval=0.02)
    client = fake_provider.openai_client()
    with lm.context(user_id="u"):
        response = _ask(client)
    feedback(response_id=response.id, thumbs=False)  # the worker is still holding the call's batch
    gate.set()
    assert lm.flush(5)
    kinds = [r["kind"] for r in slow.records]
    assert sorted(kinds) == ["feedback", "llm_call"]
    fb = next(r for r in slow.records if r["kind"] == "feedback")
    call = next(r for r in slow.records if r["kind"] == "llm_call")
    assert fb["target"]["response_id"] == call["response_id"] == response.id
    assert fb["evaluation"]["score"] == 0.0


def test_feedback_from_many_threads(fake_provider: FakeProvider) -> None:
    monitored = instrument(None)

    def give(i: int) -> None:
        for j in range(25):
            feedback(trace_id=f"{i:016x}{j:016x}", score=(i % 2) * 1.0)

    threads = [threading.Thread(target=give, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monitored.drain()
    records = monitored.records("feedback")
    assert len(records) == 200
    assert {r["trace_id"] for r in records} == {r["target"]["trace_id"] for r in records}
    assert lm.stats()["feedback"]["user_rating"] == {"count": 200, "mean": 0.5, "fail_rate": 0.5}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thumbs": True}, "target"),
        ({"trace_id": "t"}, "score, thumbs or label"),
        ({"trace_id": "t", "score": 1.5}, "0.0 to 1.0"),
        ({"trace_id": "t", "score": float("nan")}, "finite"),
        ({"trace_id": "t", "score": True}, "score"),
        ({"trace_id": "t", "thumbs": 1}, "thumbs"),
        ({"trace_id": "t", "thumbs": True, "score": 0.0}, "contradicts"),
        ({"trace_id": "", "score": 1.0}, "trace_id"),
        ({"response_id": 42, "score": 1.0}, "response_id"),
        ({"trace_id": "t", "score": 1.0, "name": ""}, "name"),
        ({"trace_id": "t", "label": 3}, "label"),
        ({"trace_id": "t", "score": 1.0, "metadata": ["x"]}, "metadata"),
        ({"trace_id": "t", "score": 1.0, "comment": b"x"}, "comment"),
    ],
)
def test_bad_feedback_is_a_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        feedback(**kwargs)
    instrument(None)
    with pytest.raises(ValueError, match=message):
        feedback(**kwargs)


def test_feedback_is_a_no_op_when_not_instrumented() -> None:
    lm.uninstrument()
    assert feedback(trace_id="abc", thumbs=True) is None


def test_long_comments_are_cut() -> None:
    monitored = instrument(None)
    feedback(trace_id="t" * 32, label="spam", comment="x" * 20_000)
    monitored.drain()
    (record,) = monitored.records("feedback")
    assert len(record["comment"]) < 10_100 and record["comment"].endswith("chars>")
    assert record["evaluation"]["score"] is None and record["evaluation"]["passed"] is None
    assert lm.stats()["feedback"]["user_rating"] == {"count": 1, "mean": None, "fail_rate": None}


@pytest.mark.internal_errors_expected
def test_an_sdk_failure_inside_feedback_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    instrument(None)
    monitor = lm.get_monitor()
    assert monitor is not None

    def broken(record: dict[str, Any]) -> bool:
        raise RuntimeError("queue bug")

    monkeypatch.setattr(monitor, "submit_record", broken)
    assert feedback(trace_id="t" * 32, thumbs=True) is None  # the caller sees nothing
    assert any(kind.startswith("feedback.submit") for kind in lm.stats()["internal_errors"])
