"""Shared helpers for the benchmark scripts (not a benchmark itself: CI skips names starting with ``_``).

Every benchmark drives the real provider SDKs through the in-process fake provider
(:mod:`llm_monitor_sdk.testing`, an ``httpx``/``httpx2`` ``MockTransport``: no sockets), so what is
measured is the provider SDK plus our SDK, not network noise. This module holds the per-provider
workloads (one non-streaming call, one streamed call, one async call), machine information, and a
small table printer.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: The providers the SDK instruments, with the module that tells whether the SDK is installed.
PROVIDER_MODULES = {"openai": "openai", "anthropic": "anthropic", "google_genai": "google.genai"}
#: Our adapter modules; a provider whose adapter is missing in this checkout is skipped.
ADAPTER_MODULES = {name: f"llm_monitor_sdk.instrumentation.{name}" for name in PROVIDER_MODULES}

#: Text of every fake reply: long enough for 200 stream chunks (the fake sends at most one per character).
REPLY_TEXT = (
    "The quick brown fox jumps over the lazy dog while the model explains its reasoning. " * 6
).strip()
PROMPT = "Summarise the plot of Hamlet in two sentences for a ten-year-old reader."


def parse_args(
    description: str,
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Common command line: ``--quick`` (a few seconds, used by CI as a smoke test) and ``--providers``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny workloads: checks the script runs")
    parser.add_argument(
        "--providers",
        default=",".join(PROVIDER_MODULES),
        help="comma list of providers to measure (default: every installed one)",
    )
    if configure is not None:
        configure(parser)
    return parser.parse_args()


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available_providers(wanted: str | Sequence[str]) -> list[str]:
    """The wanted providers whose SDK and whose adapter module are both installed (others are skipped)."""
    names = [n.strip() for n in wanted.split(",")] if isinstance(wanted, str) else list(wanted)
    found = []
    for name in names:
        if name not in PROVIDER_MODULES:
            raise SystemExit(f"unknown provider {name!r}; expected one of {', '.join(PROVIDER_MODULES)}")
        if _has(PROVIDER_MODULES[name]) and _has(ADAPTER_MODULES[name]):
            found.append(name)
        else:
            print(f"(skipping {name}: SDK or adapter not installed)")
    return found


def machine_info() -> list[str]:
    """Lines describing where the numbers come from: CPU, cores, load, Python, package versions."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "n/a"
    versions = []
    for dist in ("llm-monitor-sdk", "openai", "anthropic", "google-genai", "wrapt", "httpx", "httpx2"):
        try:
            from importlib.metadata import version

            versions.append(f"{dist} {version(dist)}")
        except Exception:
            continue
    return [
        f"cpu: {cpu} x {os.cpu_count()} (load average {load})",
        f"python: {platform.python_implementation()} {platform.python_version()} on {platform.system()}",
        "packages: " + ", ".join(versions),
    ]


def print_header(title: str) -> None:
    """Title plus machine information."""
    print(title)
    print("=" * len(title))
    for line in machine_info():
        print(line)
    print()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain fixed-width table (Markdown-compatible, so it can be pasted into the docs)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print(
            "| "
            + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w in zip(row, widths, strict=True))
            + " |"
        )
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def median(values: Sequence[float]) -> float:
    """Median (0.0 for no values)."""
    return statistics.median(values) if values else 0.0


def use_temp_jsonl() -> str:
    """Point the default JSONL exporter at a fresh temporary file (keeps the default configuration)."""
    path = os.path.join(tempfile.mkdtemp(prefix="llm-monitor-bench-"), "records.jsonl")
    os.environ["LLM_MONITOR_JSONL_PATH"] = path
    return path


def count_lines(path: str) -> int:
    """Lines in a JSONL file plus its rotated backups (``path.1``, ``path.2``, ...); 0 when absent."""
    folder, name = os.path.split(path)
    total = 0
    for entry in os.listdir(folder or "."):
        if entry == name or (entry.startswith(name + ".") and entry[len(name) + 1 :].isdigit()):
            with open(os.path.join(folder, entry), "rb") as handle:
                total += sum(1 for _ in handle)
    return total


@dataclass
class Workload:
    """One provider's three calls, bound to clients of the in-process fake provider."""

    provider: str
    #: One non-streaming call.
    call: Callable[[], Any]
    #: One streamed call, iterated to the end; returns the number of chunks received.
    stream: Callable[[], int]
    #: One async non-streaming call.
    acall: Callable[[], Awaitable[Any]]


def make_workload(provider: str, chunks: int = 200, fake: Any = None) -> Workload:
    """Clients of ``provider`` aimed at an in-process fake provider streaming ``chunks`` chunks."""
    from llm_monitor_sdk.testing import FakeProvider

    fake = fake or FakeProvider(record_requests=False, text=REPLY_TEXT, chunks=chunks, input_tokens=20)
    messages = [{"role": "user", "content": PROMPT}]
    if provider == "openai":
        client = fake.openai_client(in_process=True)
        aclient = fake.openai_client(async_=True, in_process=True)
        chat = client.chat.completions

        def call() -> Any:
            return chat.create(model="gpt-4o-mini", messages=messages)

        def stream() -> int:
            return sum(1 for _ in chat.create(model="gpt-4o-mini", messages=messages, stream=True))

        def acall() -> Awaitable[Any]:
            return aclient.chat.completions.create(model="gpt-4o-mini", messages=messages)

    elif provider == "anthropic":
        client = fake.anthropic_client(in_process=True)
        aclient = fake.anthropic_client(async_=True, in_process=True)
        model = "claude-3-5-haiku-latest"

        def call() -> Any:
            return client.messages.create(model=model, max_tokens=512, messages=messages)

        def stream() -> int:
            return sum(
                1 for _ in client.messages.create(model=model, max_tokens=512, messages=messages, stream=True)
            )

        def acall() -> Awaitable[Any]:
            return aclient.messages.create(model=model, max_tokens=512, messages=messages)

    elif provider == "google_genai":
        client = fake.genai_client(in_process=True)
        model = "gemini-2.5-flash"

        def call() -> Any:
            return client.models.generate_content(model=model, contents=PROMPT)

        def stream() -> int:
            return sum(1 for _ in client.models.generate_content_stream(model=model, contents=PROMPT))

        def acall() -> Awaitable[Any]:
            return client.aio.models.generate_content(model=model, contents=PROMPT)

    else:
        raise ValueError(provider)
    return Workload(provider, call, stream, acall)


def run_async_batches(
    acall: Callable[[], Awaitable[Any]], total: int, batch: int, loop: asyncio.AbstractEventLoop
) -> None:
    """``total`` async calls, ``batch`` at a time with ``asyncio.gather``."""

    async def main() -> None:
        for start in range(0, total, batch):
            await asyncio.gather(*(acall() for _ in range(min(batch, total - start))))

    loop.run_until_complete(main())


def python() -> str:
    """The running interpreter (child processes use the same one)."""
    return sys.executable


def run_child(script: str, args: Sequence[str], env: dict[str, str]) -> Any:
    """Run ``script`` in a fresh interpreter with ``args``; the JSON its last line of output prints."""
    out = subprocess.run([python(), "-c", script, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
