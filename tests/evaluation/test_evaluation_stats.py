"""EvaluationStats: per-name aggregates, thread-safe snapshots, bounded names."""

from __future__ import annotations

import threading

from llm_monitor_sdk.evaluation._stats import MAX_NAMES, OTHER, EvaluationStats


def _evaluation(kind: str, name: str, score: float | None, passed: bool | None) -> dict:
    return {
        "kind": kind,
        "evaluation": {"name": name, "score": score, "passed": passed, "label": None, "source": "code"},
    }


def test_means_and_fail_rates() -> None:
    stats = EvaluationStats()
    for score, passed in [(1.0, True), (0.0, False), (0.5, None), (None, False)]:
        stats.process(_evaluation("evaluation", "g", score, passed))
    stats.process(_evaluation("feedback", "stars", 0.25, None))  # a feedback score < 0.5 fails
    stats.process(_evaluation("feedback", "stars", 0.75, None))
    stats.process({"kind": "llm_call", "status": "ok"})
    stats.process({"kind": "evaluation", "evaluation": "garbage"})
    got = stats.stats()
    assert got["evaluations"] == {"g": {"count": 4, "mean": 0.5, "fail_rate": round(2 / 3, 6)}}
    assert got["feedback"] == {"stars": {"count": 2, "mean": 0.5, "fail_rate": 0.5}}
    assert got["guardrails"] == {}


def test_guardrail_percentiles() -> None:
    stats = EvaluationStats()
    for i in range(1, 101):
        stats.process(
            {"kind": "guardrail", "guardrail": {"name": "g", "blocked": i <= 10, "latency_ms": float(i)}}
        )
    summary = stats.stats()["guardrails"]["g"]
    assert summary["count"] == 100 and summary["block_rate"] == 0.1
    latency = summary["latency_ms"]
    assert 49 <= latency["p50"] <= 51 and 89 <= latency["p90"] <= 91 and 98 <= latency["p99"] <= 100


def test_snapshots_while_records_arrive() -> None:
    stats = EvaluationStats()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                snapshot = stats.stats()
                for value in snapshot["guardrails"].values():
                    assert value["count"] >= 1
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(2_000):
        stats.process(
            {"kind": "guardrail", "guardrail": {"name": f"g{i % 50}", "blocked": False, "latency_ms": i % 97}}
        )
        stats.process(_evaluation("evaluation", f"e{i % 50}", 0.5, True))
    stop.set()
    reader.join()
    assert errors == []
    assert sum(v["count"] for v in stats.stats()["guardrails"].values()) == 2_000


def test_names_are_capped() -> None:
    stats = EvaluationStats()
    for i in range(MAX_NAMES + 25):
        stats.process(_evaluation("evaluation", f"name-{i}", 1.0, True))
    got = stats.stats()
    assert len(got["evaluations"]) == MAX_NAMES + 1
    assert got["evaluations"][OTHER]["count"] == 25
    assert got["evaluation_stats_overflow"] == 25
