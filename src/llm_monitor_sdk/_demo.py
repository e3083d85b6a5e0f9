"""``llm-monitor demo``: a monitored app talking to the bundled fake provider, no API keys needed.

It starts the local fake provider, instruments every installed provider client, makes a small mix
of calls (plain, streaming, async, one error) inside ``@observe`` functions, then prints a summary
of what was recorded and where the JSONL file is.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import llm_monitor_sdk as lm

from .config import jsonl_path_from_env
from .testing import FakeProvider, fake_headers

_QUESTION = "Summarise our refund policy for customer jane.doe@example.com in one sentence."


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _openai_calls(fake: FakeProvider) -> list[Callable[[], Any]]:
    client = fake.openai_client()
    aclient = fake.openai_client(async_=True)
    messages = [
        {"role": "system", "content": "You are a support assistant."},
        {"role": "user", "content": _QUESTION},
    ]

    def plain() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    def streaming() -> Any:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,
            extra_headers=fake_headers(chunks=8, chunk_delay=0.005),
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    def responses() -> Any:
        return client.responses.create(model="gpt-4.1-mini", input=_QUESTION).output_text

    def in_async() -> Any:
        async def run() -> Any:
            return await aclient.chat.completions.create(model="gpt-4o-mini", messages=messages)

        return asyncio.run(run())

    def failing() -> Any:
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, extra_headers=fake_headers(status=429)
        )

    return [plain, streaming, responses, in_async, failing]


def _anthropic_calls(fake: FakeProvider) -> list[Callable[[], Any]]:
    client = fake.anthropic_client()
    aclient = fake.anthropic_client(async_=True)
    kwargs: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "system": "You are a support assistant.",
        "messages": [{"role": "user", "content": _QUESTION}],
    }

    def plain() -> Any:
        return client.messages.create(**kwargs)

    def streaming() -> Any:
        with client.messages.stream(
            **kwargs, extra_headers=fake_headers(chunks=8, chunk_delay=0.005)
        ) as stream:
            return stream.get_final_text()

    def in_async() -> Any:
        async def run() -> Any:
            return await aclient.messages.create(**kwargs)

        return asyncio.run(run())

    def failing() -> Any:
        return client.messages.create(**kwargs, extra_headers=fake_headers(status=500))

    return [plain, streaming, in_async, failing]


def _genai_calls(fake: FakeProvider) -> list[Callable[[], Any]]:
    client = fake.genai_client()
    model = "gemini-2.5-flash"

    def plain() -> Any:
        return client.models.generate_content(model=model, contents=_QUESTION).text

    def streaming() -> Any:
        return "".join(
            c.text or "" for c in client.models.generate_content_stream(model=model, contents=_QUESTION)
        )

    def in_async() -> Any:
        async def run() -> Any:
            return (await client.aio.models.generate_content(model=model, contents=_QUESTION)).text

        return asyncio.run(run())

    def failing() -> Any:
        from google.genai import types

        return client.models.generate_content(
            model=model,
            contents=_QUESTION,
            config=types.GenerateContentConfig(
                http_options=types.HttpOptions(headers=fake_headers(status=503))
            ),
        )

    return [plain, streaming, in_async, failing]


_PROVIDERS: list[tuple[str, str, Callable[[FakeProvider], list[Callable[[], Any]]]]] = [
    ("openai", "openai", _openai_calls),
    ("anthropic", "anthropic", _anthropic_calls),
    ("google_genai", "google.genai", _genai_calls),
]


def _fmt(value: Any, spec: str = ".1f") -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def summary_table(stats: dict[str, Any]) -> str:
    """The per-model table the demo prints (also used by ``llm-monitor report``)."""
    header = (
        f"{'provider/model':<34} {'calls':>5} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'ttft p50':>8} {'tokens in/out':>14} {'cost USD':>10}"
    )
    lines = [header, "-" * len(header)]
    rows = dict(stats.get("by_model", {}))
    rows["ALL"] = stats
    for name, row in rows.items():
        latency, ttft, tokens = row["latency_ms"], row["ttft_ms"], row["tokens"]
        lines.append(
            f"{name:<34} {row['calls']:>5} {row['by_status'].get('error', 0):>6} {_fmt(latency['p50']):>8} "
            f"{_fmt(latency['p90']):>8} {_fmt(latency['p99']):>8} {_fmt(ttft['p50']):>8} "
            f"{tokens['input_tokens']:>6}/{tokens['output_tokens']:<7} {_fmt(row['cost_usd'], '.6f'):>10}"
        )
    return "\n".join(lines)


def run_demo(jsonl_path: str | None = None, *, quiet: bool = False) -> dict[str, Any]:
    """Run the demo; returns ``lm.stats()``. Never needs network access or API keys."""
    path = jsonl_path or jsonl_path_from_env()
    say = (lambda *a: None) if quiet else print
    with FakeProvider(
        text="Refunds are accepted within 30 days with a receipt; contact jane.doe@example.com."
    ) as fake:
        lm.instrument(exporters=["jsonl"], jsonl_path=path, service_name="llm-monitor-demo")
        try:
            for name, module, make_calls in _PROVIDERS:
                if not _installed(module):
                    say(f"  {name}: not installed, skipped")
                    continue
                calls = make_calls(fake)

                @lm.observe(
                    f"demo.{name}",
                    user_id="demo-user",
                    tenant_id="acme",
                    feature="support-answer",
                    tags=["demo"],
                )
                def conversation(calls: list[Callable[[], Any]] = calls, name: str = name) -> int:
                    ok = 0
                    for call in calls:
                        try:
                            call()
                            ok += 1
                        except Exception as exc:  # the demo's deliberate error call
                            say(f"  {name}: expected error from the fake provider: {type(exc).__name__}")
                    return ok

                done = conversation()
                say(f"  {name}: {done} of {len(calls)} calls succeeded")
            lm.flush(10.0)
            stats = lm.stats()
        finally:
            lm.uninstrument()
    say("")
    say(summary_table(stats))
    say("")
    say(
        f"spans: {stats['spans']}   records dropped: {stats['dropped']}   "
        f"exported: {sum(e.get('exported', 0) for e in stats['exporters'].values())}"
    )
    say(f"JSONL records written to: {os.path.abspath(path)}")
    return stats


__all__ = ["run_demo", "summary_table"]
