"""LLMJudge through the fake provider with each of the three clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from eval_support import call_record, instrument

import llm_monitor_sdk as lm
from llm_monitor_sdk.evals import LLMJudge, parse_verdict
from llm_monitor_sdk.evaluation import JUDGE_FEATURE, JUDGE_METADATA_KEY, JUDGE_TARGET_KEY, is_judge_call
from llm_monitor_sdk.evaluation._base import EvaluationSkipped
from llm_monitor_sdk.testing import FakeProvider, fake_headers

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("google.genai")

VERDICT = json.dumps({"score": 4, "reason": "Answers the question directly."})
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "google_genai": "gemini-2.5-flash"}


def _client(fake: FakeProvider, provider: str, async_: bool = False) -> Any:
    if provider == "openai":
        return fake.openai_client(async_=async_)
    if provider == "anthropic":
        return fake.anthropic_client(async_=async_)
    client = fake.genai_client()
    return client.aio if async_ else client


def _app_call(fake: FakeProvider, text: str = "What is the capital of France?") -> Any:
    return fake.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )


def _judge_requests(fake: FakeProvider) -> list[Any]:
    return [r for r in fake.requests if "Criterion." in json.dumps(r.body)]


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", ["openai", "anthropic", "google_genai"])
def test_judge_through_each_client(fake_provider: FakeProvider, provider: str, async_: bool) -> None:
    fake_provider.configure(text=VERDICT)
    judge = LLMJudge(
        "relevance",
        client=_client(fake_provider, provider, async_),
        model=MODELS[provider],
        rubric="relevance",
    )
    monitored = instrument([judge])
    try:
        _app_call(fake_provider)
        monitored.drain()
    finally:
        judge.close()
    (result,) = monitored.evaluations("relevance")
    assert result["evaluation"] == {
        "name": "relevance",
        "score": 0.75,
        "passed": True,
        "label": "pass",
        "explanation": "Answers the question directly.",
        "source": "llm_judge",
    }
    calls = monitored.records("llm_call")
    app = next(c for c in calls if c.get("feature") != JUDGE_FEATURE)
    judge_call = next(c for c in calls if c.get("feature") == JUDGE_FEATURE)
    assert result["target"]["record_id"] == app["record_id"]
    # its own call is an ordinary record, marked, and never evaluated itself
    assert judge_call["metadata"][JUDGE_METADATA_KEY] == "relevance"
    assert judge_call["metadata"][JUDGE_TARGET_KEY] == app["record_id"]
    assert judge_call["status"] == "ok" and judge_call["request_model"] == MODELS[provider]
    assert is_judge_call(judge_call) and not is_judge_call(app)  # what alert metrics leave out
    assert len(calls) == 2 and len(monitored.evaluations()) == 1
    assert lm.stats()["evaluation_pool"]["judge_calls_skipped"] == 1
    stats = lm.stats()["evaluation_pool"]["evaluators"]["relevance"]
    assert stats["judge_calls"] == 1 and stats["verdicts"] == 1


def test_a_judge_budget_blocks_before_the_transport(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text=VERDICT)
    judge = LLMJudge(
        "relevance", client=fake_provider.openai_client(), model="gpt-4o-mini", rubric="relevance"
    )
    monitored = instrument([judge], budgets="feature=llm-monitor-judge:daily=0.0000001")
    for _ in range(3):
        _app_call(fake_provider)
    monitored.drain()
    assert fake_provider.request_count == 3  # only the app's calls reached the provider
    assert monitored.evaluations() == []
    stats = lm.stats()["evaluation_pool"]["evaluators"]["relevance"]
    assert stats["skipped"] == {"budget": 3} and stats["budget_blocked"] == 3 and stats["errors"] == 0
    blocked = [c for c in monitored.records("llm_call") if c["status"] == "blocked"]
    assert len(blocked) == 3 and all(c["feature"] == JUDGE_FEATURE for c in blocked)
    assert lm.stats()["internal_errors"] == {}


def test_rate_limits_back_off_instead_of_retrying(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text=VERDICT)
    limited = fake_provider.openai_client(default_headers=fake_headers(status=429, retry_after=30))
    judge = LLMJudge("relevance", client=limited, model="gpt-4o-mini", rubric="relevance")
    monitored = instrument([judge])
    for _ in range(6):
        _app_call(fake_provider)
        monitored.drain()
    stats = lm.stats()["evaluation_pool"]["evaluators"]["relevance"]
    # 6 app calls, 1 judge request: the 429 is not retried, and the judge then backs off for the
    # 30 s the provider asked for, skipping (and counting) the other 5 calls.
    assert fake_provider.request_count == 7 and len(_judge_requests(fake_provider)) == 1
    assert stats["rate_limited"] == 1 and stats["backoff_skips"] == 5 and stats["backing_off"] is True
    assert stats["skipped"] == {"rate_limited": 1, "backoff": 5}
    assert monitored.evaluations() == []
    limited_call = next(c for c in monitored.records("llm_call") if c.get("feature") == JUDGE_FEATURE)
    assert limited_call["status"] == "error" and limited_call["error"]["status_code"] == 429


def test_an_unparseable_verdict_is_an_evaluation_without_a_score(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text="Well, it depends on what you mean by good.")
    judge = LLMJudge(
        "tone", client=fake_provider.openai_client(), model="gpt-4o-mini", rubric="Is the answer polite?"
    )
    monitored = instrument([judge])
    _app_call(fake_provider)
    monitored.drain()
    (result,) = monitored.evaluations("tone")
    assert result["evaluation"]["score"] is None and result["evaluation"]["label"] == "unparseable"
    assert result["evaluation"]["passed"] is None
    assert lm.stats()["evaluation_pool"]["evaluators"]["tone"]["unparseable"] == 1
    assert lm.stats()["evaluations"]["tone"] == {"count": 1, "mean": None, "fail_rate": None}


def test_judge_prompts_are_built_from_the_redacted_record(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text=VERDICT)
    judge = LLMJudge(
        "relevance", client=fake_provider.openai_client(), model="gpt-4o-mini", rubric="relevance"
    )
    monitored = instrument([judge], redact=True)
    _app_call(fake_provider, "My email is jane.doe@example.com, my card 4111 1111 1111 1111. Refund me?")
    monitored.drain()
    (request,) = _judge_requests(fake_provider)
    sent = json.dumps(request.body)
    assert "jane.doe@example.com" not in sent and "4111 1111 1111 1111" not in sent
    assert "EMAIL_ADDRESS" in sent


def test_rubrics_that_need_sources_or_a_reference(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text=json.dumps({"score": 5, "reason": "supported"}))
    client = fake_provider.openai_client()
    faithful = LLMJudge("faithfulness", client=client, model="gpt-4o-mini", rubric="faithfulness")
    correct = LLMJudge("correctness", client=client, model="gpt-4o-mini", rubric="correctness", threshold=0.9)
    monitored = instrument([faithful, correct])
    _app_call(fake_provider)  # no sources, no reference: neither applies, no judge request
    with lm.context(
        retrieval_sources=[{"id": "kb-1", "content": "Paris is the capital of France."}], reference="Paris"
    ):
        _app_call(fake_provider)
    monitored.drain()
    assert len(_judge_requests(fake_provider)) == 2
    body = json.dumps(_judge_requests(fake_provider)[0].body) + json.dumps(
        _judge_requests(fake_provider)[1].body
    )
    assert "Paris is the capital of France." in body and "<reference>" in body
    scores = {r["evaluation"]["name"]: r["evaluation"]["score"] for r in monitored.evaluations()}
    assert scores == {"faithfulness": 1.0, "correctness": 1.0}


def test_toxicity_is_a_detector(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text='{"score": 5, "reason": "insults the user"}')
    judge = LLMJudge("toxicity", client=fake_provider.openai_client(), model="gpt-4o-mini", rubric="toxicity")
    evaluation = judge.evaluate(call_record(output="You are an idiot."))
    assert evaluation is not None
    assert evaluation.score == 1.0 and evaluation.passed is False and evaluation.label == "toxicity"


def test_offline_use_and_aevaluate(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text=VERDICT)
    sync_judge = LLMJudge(
        "r", client=fake_provider.anthropic_client(), model="claude-haiku-4-5", rubric="relevance"
    )
    async_judge = LLMJudge(
        "r", client=fake_provider.anthropic_client(async_=True), model="claude-haiku-4-5", rubric="relevance"
    )
    record = call_record(user="Where is Paris?", output="In France.")
    assert sync_judge.evaluate(record).score == 0.75  # type: ignore[union-attr]

    async def main() -> tuple[Any, Any]:
        return await async_judge.aevaluate(record), await sync_judge.aevaluate(record)

    first, second = asyncio.run(main())
    assert first.score == second.score == 0.75
    assert sync_judge.evaluate(call_record(output="")) is None  # nothing to judge: no request
    assert fake_provider.request_count == 3


def test_provider_errors_are_counted_and_repeated_ones_back_off(fake_provider: FakeProvider) -> None:
    judge = LLMJudge("r", client=fake_provider.openai_client(), model="gpt-4o-mini", rubric="relevance")
    record = call_record()
    fake_provider.fail_next(500, times=2)
    with pytest.raises(EvaluationSkipped) as first:
        judge.evaluate(record)
    assert first.value.reason == "provider_error"
    with pytest.raises(EvaluationSkipped):
        judge.evaluate(record)  # the first failure does not back off; the second does
    with pytest.raises(EvaluationSkipped) as third:
        judge.evaluate(record)
    assert third.value.reason == "backoff"
    assert fake_provider.request_count == 2
    assert judge.stats()["provider_errors"] == 2 and judge.stats()["backoff_skips"] == 1


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"score": 1, "reason": "bad"}', 0.0),
        ('{"score": 5}', 1.0),
        ('{"score": 3, "reason": "meh"}', 0.5),
        ('```json\n{"score": 4, "reason": "good"}\n```', 0.75),
        ('Reasoning first... {"score": "2"}', 0.25),
        ('{"score": 0.8}', 0.8),
        ("Score: 4/5", 0.8),
        ("rating: 7 out of 10", 0.7),
        ("3", 0.5),
        ("Score: 9", None),
        ('{"score": 7}', None),
        ('{"score": true}', None),
        ('{"verdict": "great"}', None),
        ("no idea", None),
        ("", None),
    ],
)
def test_parse_verdict(text: str, score: float | None) -> None:
    assert parse_verdict(text)[0] == score


def test_bad_judge_arguments(fake_provider: FakeProvider) -> None:
    client = fake_provider.openai_client()
    with pytest.raises(ValueError, match="client"):
        LLMJudge("j", client=object(), model="m", rubric="relevance")
    with pytest.raises(ValueError, match="threshold"):
        LLMJudge("j", client=client, model="m", rubric="relevance", threshold=2)
    with pytest.raises(ValueError, match="sample_rate"):
        LLMJudge("j", client=client, model="m", rubric="relevance", sample_rate=-1)
    with pytest.raises(ValueError, match="rubric"):
        LLMJudge("j", client=client, model="m", rubric="  ")
    with pytest.raises(ValueError, match="model"):
        LLMJudge("j", client=client, model="", rubric="relevance")
