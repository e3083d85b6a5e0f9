"""Realistic synthetic records for the report benchmark (not a benchmark itself: CI skips ``_`` names).

``generate(n, days, seed)`` yields records shaped like the SDK's (every common field, usage, cost,
messages of ~1 KB in all, context fields), mostly ``llm_call`` with a few percent of spans,
evaluations, feedback, guardrails, alerts and ``prompt_changed`` events, spread evenly over ``days``
days that end now. ``write(directory, n, ...)`` writes them as the JSONL exporter would after
rotation: ``records.jsonl`` plus ``records.jsonl.1`` ... with the oldest files gzipped.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

try:
    import orjson

    def _dumps(record: dict[str, Any]) -> bytes:
        return orjson.dumps(record)

except ImportError:  # pragma: no cover - orjson is in the dev extra

    def _dumps(record: dict[str, Any]) -> bytes:
        return json.dumps(record, separators=(",", ":")).encode()


MODELS = [
    ("openai", "gpt-4o-mini", 0.15, 0.6, 0.45),
    ("openai", "gpt-4.1", 2.0, 8.0, 0.15),
    ("anthropic", "claude-haiku-4-5", 1.0, 5.0, 0.2),
    ("anthropic", "claude-sonnet-4-5", 3.0, 15.0, 0.08),
    ("gcp.gemini", "gemini-2.5-flash", 0.3, 2.5, 0.12),
]
FEATURES = ["support-answer", "summarize", "search-rerank", "classify-ticket", "draft-email", "sql-helper"]
TENANTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
SYSTEMS = {
    "support-answer": "You are a support assistant for an online store. Answer politely and briefly.",
    "summarize": "Summarise the user's document in three bullet points. Keep numbers exact.",
    "search-rerank": "Rank the passages by relevance to the query. Reply with passage ids only.",
    "classify-ticket": "Classify the ticket as billing, shipping, account or other. Reply with one word.",
    "draft-email": "Draft a short, friendly e-mail reply. Sign it as the support team.",
    "sql-helper": "Write one SQL query for PostgreSQL 16 that answers the question. No prose.",
}
_VOCAB = [
    "order",
    "refund",
    "shipping",
    "delay",
    "invoice",
    "account",
    "password",
    "reset",
    "delivery",
    "tracking",
    "number",
    "customer",
    "payment",
    "card",
    "charge",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "price",
    "discount",
    "coupon",
    "warranty",
    "return",
    "label",
    "address",
    "change",
    "email",
    "phone",
    "support",
    "agent",
    "manager",
    "report",
    "quarter",
    "revenue",
    "growth",
    "table",
    "query",
    "join",
    "select",
    "where",
    "group",
    "count",
    "average",
    "total",
    "users",
    "sessions",
    "product",
    "catalog",
    "stock",
    "item",
    "size",
    "colour",
    "please",
    "thanks",
    "help",
    "question",
    "problem",
    "issue",
    "error",
    "cannot",
    "login",
    "today",
    "yesterday",
    "week",
    "month",
]
_ERRORS = [
    ("openai.RateLimitError", "rate_limit", 429, 0.45),
    ("openai.APITimeoutError", "timeout", None, 0.2),
    ("anthropic.InternalServerError", "server", 500, 0.2),
    ("openai.APIConnectionError", "connection", None, 0.1),
    ("openai.BadRequestError", "client", 400, 0.05),
]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_VOCAB) for _ in range(words)).capitalize() + "."


def _common(rng: random.Random, kind: str, started: datetime, trace_id: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": kind,
        "record_id": f"{rng.getrandbits(128):032x}",
        "trace_id": trace_id,
        "span_id": f"{rng.getrandbits(64):016x}",
        "parent_span_id": None,
        "started_at": _iso(started),
        "ended_at": _iso(started),
        "service_name": "checkout-api",
        "sdk_version": "0.2.0",
    }


def generate(
    n: int, days: float = 7.0, seed: int = 7, end: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """``n`` records in time order over ``days`` days ending at ``end`` (default: now)."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    step = days * 86400.0 / max(n, 1)
    weights = [m[4] for m in MODELS]
    fingerprints = {f: f"{rng.getrandbits(64):016x}" for f in FEATURES}
    users = [f"user-{i:05d}" for i in range(5000)]
    trace_id = f"{rng.getrandbits(128):032x}"
    session = "s-0"
    for i in range(n):
        started = start + timedelta(seconds=i * step)
        if i % 4 == 0:
            trace_id = f"{rng.getrandbits(128):032x}"
        if i % 12 == 0:
            session = f"s-{i // 12}"
        roll = rng.random()
        if roll < 0.93 or i == 0:
            yield _call(rng, started, trace_id, session, weights, users, fingerprints, i, n)
        elif roll < 0.95:
            record = _common(rng, "span", started, trace_id)
            record.update(name="handle_request", input={"ticket": _text(rng, 8)}, output="ok")
            record["latency_ms"] = round(rng.lognormvariate(6.5, 0.5), 3)
            yield record
        elif roll < 0.97:
            record = _common(rng, "evaluation", started, trace_id)
            score = round(min(1.0, max(0.0, rng.gauss(0.8, 0.15))), 3)
            record["target"] = {"record_id": None, "response_id": None, "trace_id": trace_id}
            record["evaluation"] = {
                "name": rng.choice(["grounding", "refusal"]),
                "score": score,
                "passed": score >= 0.5,
                "label": None,
                "explanation": None,
                "source": "heuristic",
            }
            yield record
        elif roll < 0.98:
            record = _common(rng, "feedback", started, trace_id)
            thumbs = rng.random() < 0.8
            record["target"] = {"record_id": None, "response_id": None, "trace_id": trace_id}
            record["evaluation"] = {
                "name": "user_rating",
                "score": 1.0 if thumbs else 0.0,
                "passed": thumbs,
                "label": None,
                "explanation": None,
                "source": "human",
            }
            yield record
        elif roll < 0.995:
            record = _common(rng, "guardrail", started, trace_id)
            record["guardrail"] = {
                "name": "pii-check",
                "stage": "input",
                "blocked": rng.random() < 0.05,
                "reason": None,
                "latency_ms": round(rng.lognormvariate(1.0, 0.4), 3),
            }
            yield record
        elif roll < 0.998:
            record = _common(rng, "alert", started, trace_id)
            state = rng.choice(["firing", "resolved"])
            record["alert"] = {
                "name": "latency_p99_ms>4000 over 5m",
                "rule": "latency_p99_ms>4000 over 5m",
                "metric": "latency_p99_ms",
                "op": ">",
                "threshold": 4000,
                "value": round(rng.uniform(3000, 6000), 1),
                "window_s": 300,
                "group": {},
                "state": state,
                "severity": "warning",
                "owner": "search",
                "runbook": None,
                "calls": 120,
                "fired_at": _iso(started),
                "resolved_at": _iso(started) if state == "resolved" else None,
            }
            yield record
        else:
            record = _common(rng, "event", started, trace_id)
            feature = rng.choice(FEATURES)
            new = f"{rng.getrandbits(64):016x}"
            record["event"] = {
                "type": "prompt_changed",
                "key": {"feature": feature, "prompt_name": feature},
                "old_fingerprint": fingerprints[feature],
                "new_fingerprint": new,
            }
            fingerprints[feature] = new
            yield record


def _call(
    rng: random.Random,
    started: datetime,
    trace_id: str,
    session: str,
    weights: list[float],
    users: list[str],
    fingerprints: dict[str, str],
    i: int,
    n: int,
) -> dict[str, Any]:
    provider, model, price_in, price_out, _ = rng.choices(MODELS, weights)[0]
    feature = rng.choice(FEATURES)
    stream = rng.random() < 0.4
    latency = rng.lognormvariate(6.6 if "mini" in model or "flash" in model else 7.3, 0.55)
    roll = rng.random()
    status, error, category = "ok", None, None
    if roll < 0.025:
        status = "error"
        name, category, code, _ = rng.choices(_ERRORS, [e[3] for e in _ERRORS])[0]
        error = {"type": name, "message": f"{category} error", "status_code": code, "category": category}
        latency = rng.uniform(20, 30000 if category == "timeout" else 800)
    elif roll < 0.028:
        status = "blocked"
        latency = 0.0
    user_words = rng.randint(4, 20)
    user_text = _text(rng, user_words)
    output_text = _text(rng, rng.randint(4, 16)) if status == "ok" else ""
    in_tokens = 30 + int(user_words * 1.3)
    out_tokens = int(len(output_text.split()) * 1.3) if status == "ok" else 0
    cache_read = rng.choice([0, 0, 0, 64])
    cost = (
        None
        if provider == "gcp.gemini" and rng.random() < 0.05
        else round((in_tokens * price_in + out_tokens * price_out) / 1e6, 10)
    )
    content_filtered = status == "ok" and rng.random() < 0.004
    record = _common(rng, "llm_call", started, trace_id)
    record["ended_at"] = _iso(started + timedelta(milliseconds=latency))
    record.update(
        provider=provider,
        operation="chat",
        api="chat.completions.create" if provider == "openai" else "messages.create",
        request_model=model,
        response_model=model,
        request_params={"temperature": 0.2, "max_tokens": 512},
        stream=stream,
        status=status,
        error=error,
        latency_ms=round(latency, 3),
        ttft_ms=round(latency * rng.uniform(0.1, 0.4), 3) if stream and status == "ok" else None,
        usage=None
        if status == "blocked"
        else {
            "input_tokens": in_tokens,
            "output_tokens": out_tokens,
            "total_tokens": in_tokens + out_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_write_input_tokens": None,
            "reasoning_output_tokens": 0,
            "source": "provider",
        },
        cost_usd=None if status == "blocked" else cost,
        finish_reasons=["content_filter" if content_filtered else "stop"] if status == "ok" else [],
        response_id=f"resp_{i:09d}" if status == "ok" else None,
        request_id=f"req_{i:09d}",
        system_instructions=[{"type": "text", "content": SYSTEMS[feature]}],
        input_messages=[{"role": "user", "parts": [{"type": "text", "content": user_text}]}],
        output_messages=[
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": output_text}],
                "finish_reason": "stop",
            }
        ]
        if status == "ok"
        else [],
        user_id=users[int(rng.paretovariate(1.2)) % len(users)],
        session_id=session,
        tenant_id=TENANTS[math.floor(rng.random() ** 2 * len(TENANTS))],
        feature=feature,
        tags=["prod"],
        metadata={},
        prompt_name=feature,
        prompt_version="v3" if i > n // 2 else "v2",
        partial=False,
        redactions={},
        budget_alerts=[],
        safety={"content_filtered": content_filtered, "refusal": False},
        variant=rng.choice(["a", "b"]) if feature == "support-answer" else None,
        prompt_fingerprint=fingerprints[feature],
    )
    return record


def write(
    directory: str, n: int, *, days: float = 7.0, seed: int = 7, files: int = 6, gzipped: int = 2
) -> list[str]:
    """Write ``n`` records as a rotated set: ``records.jsonl`` (newest) and ``records.jsonl.1`` ...
    ``.{files-1}`` (older), the ``gzipped`` oldest of them compressed. Returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, "records.jsonl")
    per_file = math.ceil(n / files)
    paths: list[str] = []
    records = generate(n, days=days, seed=seed)
    for index in range(files - 1, -1, -1):  # oldest first
        path = base if index == 0 else f"{base}.{index}"
        if index >= files - gzipped and index > 0:
            path += ".gz"
        opener: Any = gzip.open if path.endswith(".gz") else open
        with opener(path, "wb") as handle:
            chunk: list[bytes] = []
            for _ in range(per_file):
                record = next(records, None)
                if record is None:
                    break
                chunk.append(_dumps(record))
                if len(chunk) >= 5000:
                    handle.write(b"\n".join(chunk) + b"\n")
                    chunk = []
            if chunk:
                handle.write(b"\n".join(chunk) + b"\n")
        paths.append(path)
    return paths
