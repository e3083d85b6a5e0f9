"""Records built by hand for the analysis and report tests, and helpers that write them as the
JSONL exporter does after rotation (plain and gzipped files)."""

from __future__ import annotations

import gzip
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def call(moment: datetime, rng: random.Random | None = None, **fields: Any) -> dict[str, Any]:
    """One ``llm_call`` record; ``fields`` override the defaults."""
    rng = rng or random.Random(0)
    record: dict[str, Any] = {
        "schema_version": 1,
        "kind": "llm_call",
        "record_id": f"{rng.getrandbits(128):032x}",
        "trace_id": f"{rng.getrandbits(128):032x}",
        "span_id": f"{rng.getrandbits(64):016x}",
        "parent_span_id": None,
        "started_at": iso(moment),
        "ended_at": iso(moment),
        "provider": "openai",
        "operation": "chat",
        "api": "chat.completions.create",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini",
        "request_params": {},
        "stream": False,
        "status": "ok",
        "error": None,
        "latency_ms": 100.0,
        "ttft_ms": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "cache_read_input_tokens": 0,
            "cache_write_input_tokens": None,
            "reasoning_output_tokens": 0,
            "source": "provider",
        },
        "cost_usd": 0.001,
        "finish_reasons": ["stop"],
        "system_instructions": [{"type": "text", "content": "You are helpful."}],
        "input_messages": [{"role": "user", "parts": [{"type": "text", "content": "hello there"}]}],
        "output_messages": [
            {"role": "assistant", "parts": [{"type": "text", "content": "hi"}], "finish_reason": "stop"}
        ],
        "user_id": None,
        "session_id": None,
        "tenant_id": None,
        "feature": None,
        "prompt_name": None,
        "prompt_version": None,
        "service_name": "svc",
        "sdk_version": "0.2.0",
    }
    record.update(fields)
    return record


def other(kind: str, moment: datetime, rng: random.Random, **fields: Any) -> dict[str, Any]:
    """A record of another kind (common fields plus ``fields``)."""
    record = {
        "schema_version": 1,
        "kind": kind,
        "record_id": f"{rng.getrandbits(128):032x}",
        "trace_id": f"{rng.getrandbits(128):032x}",
        "span_id": f"{rng.getrandbits(64):016x}",
        "parent_span_id": None,
        "started_at": iso(moment),
        "ended_at": iso(moment),
        "service_name": "svc",
        "sdk_version": "0.2.0",
    }
    record.update(fields)
    return record


MODELS = ["gpt-4o-mini", "gpt-4.1", "claude-haiku-4-5"]
FEATURES = ["search", "chat", "summarize", None]
CATEGORIES = [
    ("openai.RateLimitError", "rate_limit", 429),
    ("openai.APITimeoutError", "timeout", None),
    ("openai.InternalServerError", "server", 500),
]


def mixed_records(n: int = 600, seed: int = 1, hours: float = 30.0) -> list[dict[str, Any]]:
    """``n`` varied calls over ``hours`` hours, plus spans, evaluations, feedback, alerts, guardrails, events."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    sessions = [f"s{i}" for i in range(40)]
    for i in range(n):
        moment = START + timedelta(seconds=i * hours * 3600 / n)
        model = rng.choice(MODELS)
        status = rng.choices(["ok", "error", "blocked"], [0.86, 0.1, 0.04])[0]
        error = None
        if status == "error":
            name, category, code = rng.choice(CATEGORIES)
            error = {"type": name, "message": "boom", "status_code": code}
            if rng.random() < 0.7:  # older records lack error.category: it is derived
                error["category"] = category
        stream = rng.random() < 0.5
        cost = None if rng.random() < 0.1 else round(rng.uniform(0.0001, 0.01), 8)
        record = call(
            moment,
            rng,
            request_model=model,
            response_model=model if status == "ok" else None,
            provider="anthropic" if model.startswith("claude") else "openai",
            status=status,
            error=error,
            latency_ms=None if status == "blocked" else round(rng.lognormvariate(6, 0.7), 3),
            ttft_ms=round(rng.uniform(20, 400), 3) if stream and status == "ok" else None,
            stream=stream,
            usage=None
            if status == "blocked"
            else {
                "input_tokens": rng.randint(5, 900),
                "output_tokens": rng.randint(0, 400),
                "total_tokens": None,
                "cache_read_input_tokens": rng.choice([0, 0, 64]),
                "cache_write_input_tokens": None,
                "reasoning_output_tokens": rng.choice([0, 12]),
                "source": "provider",
            },
            cost_usd=cost,
            feature=rng.choice(FEATURES),
            tenant_id=rng.choice(["acme", "globex"]),
            user_id=f"u{rng.randint(0, 25)}",
            session_id=rng.choice(sessions),
            trace_id=f"{rng.randint(0, 150):032x}",
            prompt_name="answer",
            prompt_version=rng.choice(["v1", "v2"]),
            prompt_fingerprint=rng.choice(["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]),
            variant=rng.choice(["a", "b", None]),
            safety={"content_filtered": rng.random() < 0.03, "refusal": rng.random() < 0.02},
        )
        records.append(record)
        roll = rng.random()
        if roll < 0.05:
            score = round(rng.random(), 3)
            records.append(
                other(
                    "evaluation",
                    moment,
                    rng,
                    target={
                        "record_id": record["record_id"],
                        "response_id": None,
                        "trace_id": record["trace_id"],
                    },
                    evaluation={
                        "name": rng.choice(["grounding", "refusal"]),
                        "score": score,
                        "passed": score >= 0.5,
                        "label": None,
                        "explanation": None,
                        "source": "heuristic",
                    },
                )
            )
        elif roll < 0.08:
            records.append(
                other(
                    "feedback",
                    moment,
                    rng,
                    target={"record_id": record["record_id"], "response_id": None, "trace_id": None},
                    evaluation={
                        "name": "user_rating",
                        "score": rng.choice([0.0, 1.0]),
                        "passed": None,
                        "label": None,
                        "explanation": None,
                        "source": "human",
                    },
                )
            )
        elif roll < 0.10:
            records.append(
                other(
                    "guardrail",
                    moment,
                    rng,
                    guardrail={
                        "name": "pii",
                        "stage": "input",
                        "blocked": rng.random() < 0.3,
                        "reason": None,
                        "latency_ms": round(rng.uniform(0.1, 5), 3),
                    },
                )
            )
        elif roll < 0.11:
            state = rng.choice(["firing", "resolved"])
            records.append(
                other(
                    "alert",
                    moment,
                    rng,
                    alert={
                        "name": "slow",
                        "rule": "latency_p99_ms>4000 over 5m",
                        "metric": "latency_p99_ms",
                        "op": ">",
                        "threshold": 4000,
                        "value": 5000.0,
                        "window_s": 300,
                        "group": {},
                        "state": state,
                        "severity": "warning",
                        "owner": "team",
                        "runbook": None,
                        "calls": 50,
                        "fired_at": iso(moment),
                        "resolved_at": None,
                    },
                )
            )
        elif roll < 0.12:
            records.append(
                other(
                    "event",
                    moment,
                    rng,
                    event={
                        "type": "prompt_changed",
                        "key": {"feature": "chat", "prompt_name": "answer"},
                        "old_fingerprint": "aaaaaaaaaaaaaaaa",
                        "new_fingerprint": "bbbbbbbbbbbbbbbb",
                    },
                )
            )
        elif roll < 0.15:
            records.append(other("span", moment, rng, name="handler", latency_ms=5.0, status="ok"))
    return records


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def write_rotated(
    directory: Path,
    records: list[dict[str, Any]],
    parts: int = 4,
    gzipped: int = 1,
    extra_lines: dict[int, list[str]] | None = None,
) -> Path:
    """Write ``records`` (oldest first) as ``records.jsonl.{parts-1}[.gz]`` ... ``records.jsonl``;
    ``extra_lines[i]`` are raw lines appended to part ``i`` (0 = the newest file)."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / "records.jsonl"
    size = math.ceil(len(records) / parts)
    chunks = [records[i * size : (i + 1) * size] for i in range(parts)]
    for offset, chunk in enumerate(chunks):
        index = parts - 1 - offset
        text = "".join(line(r) + "\n" for r in chunk) + "".join(
            extra_lines.get(index, []) if extra_lines else []
        )
        path = base if index == 0 else Path(f"{base}.{index}")
        if index >= parts - gzipped and index > 0:
            with gzip.open(f"{path}.gz", "wt", encoding="utf-8") as handle:
                handle.write(text)
        else:
            path.write_text(text, encoding="utf-8")
    return base


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]
