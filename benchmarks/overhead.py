"""Caller-side overhead of instrumentation, per provider: the same workload bare and instrumented.

Run: ``python benchmarks/overhead.py`` (``--quick`` for a smoke run, ``--providers openai``).

Workloads, all through the in-process fake provider (a mock HTTP transport: no sockets):
  (A) non-streaming calls, (B) streamed calls of 200 chunks, (C) async calls gathered in batches of 50.

Process-to-process noise on a small machine is far larger than the overhead being measured, so
everything runs in one process: blocks of calls alternate between bare (``uninstrument()``) and
instrumented (``instrument()`` with the default configuration: JSONL exporter, redaction on), the
order flips every round, and the reported figure is the median of the per-block medians. Each block
also reports the caller thread's own CPU time (``time.thread_time``), which leaves out the export
worker, and the mean wall time, which includes the worker's share of the GIL.

A second table isolates the SDK from the provider SDK and transport entirely: the patched wrapper
around a stand-in method that returns a canned response (or iterates canned chunks), so what is
left is exactly what our wrapper and stream proxy cost on the caller's thread.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

import llm_monitor_sdk as lm


class Sizes:
    """Calls per block and rounds (a round = one bare block + one instrumented block)."""

    def __init__(self, quick: bool) -> None:
        self.rounds = 1 if quick else 10
        self.warmup = 5 if quick else 200
        self.sync_block = 10 if quick else 300  # (A) 10 x 300 = 3,000 calls per side
        self.stream_block = 1 if quick else 30  # (B) 10 x 30 = 300 streams per side
        self.async_block = 10 if quick else 100  # (C) 10 x 100 = 1,000 calls per side
        self.async_batch = 10 if quick else 50
        self.chunks = 40 if quick else 200
        self.iso_block = 100 if quick else 5_000  # isolation: calls per block


class Block:
    """One block's figures, per call: median wall, mean wall, mean caller-thread CPU."""

    def __init__(self, per_call: list[float], wall: float, cpu: float, n: int) -> None:
        self.median = common.median(per_call) * 1e6
        self.mean = wall / n * 1e6
        self.cpu = cpu / n * 1e6


def _time_calls(fn: Callable[[], Any], n: int) -> Block:
    per_call = []
    clock = time.perf_counter
    wall0, cpu0 = clock(), time.thread_time()
    for _ in range(n):
        t = clock()
        fn()
        per_call.append(clock() - t)
    return Block(per_call, clock() - wall0, time.thread_time() - cpu0, n)


def _time_async(acall: Callable[[], Any], n: int, batch: int, loop: asyncio.AbstractEventLoop) -> Block:
    per_call = []
    clock = time.perf_counter

    async def one_batch(size: int) -> None:
        await asyncio.gather(*(acall() for _ in range(size)))

    wall0, cpu0 = clock(), time.thread_time()
    for start in range(0, n, batch):
        size = min(batch, n - start)
        t = clock()
        loop.run_until_complete(one_batch(size))
        per_call.append((clock() - t) / size)
    return Block(per_call, clock() - wall0, time.thread_time() - cpu0, n)


def alternate(run_block: Callable[[], Block], rounds: int) -> tuple[list[Block], list[Block]]:
    """Bare and instrumented blocks, alternating (order flipped every round); returns (bare, instrumented)."""
    bare: list[Block] = []
    inst: list[Block] = []
    for r in range(rounds):
        for instrumented in (False, True) if r % 2 == 0 else (True, False):
            if instrumented:
                lm.instrument()
            gc.collect()
            block = run_block()
            if instrumented:
                lm.uninstrument()  # flushes: the worker's leftovers never spill into a bare block
                inst.append(block)
            else:
                bare.append(block)
    return bare, inst


def _row(label: str, bare: list[Block], inst: list[Block], chunks: int | None) -> list[Any]:
    b = common.median([x.median for x in bare])
    i = common.median([x.median for x in inst])
    cpu = common.median([x.cpu for x in inst]) - common.median([x.cpu for x in bare])
    wall = common.median([x.mean for x in inst]) - common.median([x.mean for x in bare])
    row: list[Any] = [label, b, i, i - b, f"{i / b:.3f}" if b else "n/a", cpu, wall]
    row.append(f"{(i - b) / chunks:.2f}" if chunks else "")
    return row


HEADERS = [
    "workload",
    "bare µs/call",
    "instr. µs/call",
    "overhead µs",
    "ratio",
    "caller CPU overhead µs",
    "mean-wall overhead µs",
    "overhead µs/chunk",
]


def measure_provider(provider: str, sizes: Sizes) -> list[list[Any]]:
    """Workloads A, B, C for one provider through the mock transport."""
    work = common.make_workload(provider, chunks=sizes.chunks)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    chunks = work.stream()
    for _ in range(sizes.warmup):  # warm both paths: imports, pydantic caches, price tables
        work.call()
    lm.instrument()
    for _ in range(sizes.warmup):
        work.call()
    work.stream()
    _time_async(work.acall, 10, 10, loop)
    lm.uninstrument()
    rows = []
    bare, inst = alternate(lambda: _time_calls(work.call, sizes.sync_block), sizes.rounds)
    rows.append(_row(f"{provider} A: sync", bare, inst, None))
    bare, inst = alternate(lambda: _time_calls(work.stream, sizes.stream_block), sizes.rounds)
    rows.append(_row(f"{provider} B: stream x{chunks}", bare, inst, chunks))
    bare, inst = alternate(
        lambda: _time_async(work.acall, sizes.async_block, sizes.async_batch, loop), sizes.rounds
    )
    rows.append(_row(f"{provider} C: async x{sizes.async_batch}", bare, inst, None))
    loop.close()
    return rows


# -- isolation: our wrapper around a stand-in method ---------------------------------------------------
_TARGETS = {
    "openai": ("Completions.create", "Completions.create"),
    "anthropic": ("Messages.create", "Messages.create"),
    "google_genai": ("Models.generate_content", "Models.generate_content_stream"),
}


def _adapter(provider: str, qualname: str) -> Any:
    module = importlib.import_module(common.ADAPTER_MODULES[provider])
    for target in module.targets():
        if target.qualname == qualname and not target.is_async and target.wrapper_factory is None:
            return target.adapter
    raise LookupError(f"{provider}: no target {qualname}")


def _canned(provider: str) -> tuple[Any, list[Any], dict[str, Any], dict[str, Any]]:
    """A real response object and real stream chunks (captured once, bare), plus the call kwargs."""
    from llm_monitor_sdk.testing import FakeProvider

    fake = FakeProvider(record_requests=False, text=common.REPLY_TEXT, chunks=200, input_tokens=20)
    messages = [{"role": "user", "content": common.PROMPT}]
    if provider == "openai":
        client = fake.openai_client(in_process=True)
        kwargs = {"model": "gpt-4o-mini", "messages": messages}
        return (
            client.chat.completions.create(**kwargs),
            list(client.chat.completions.create(**kwargs, stream=True)),
            kwargs,
            {**kwargs, "stream": True},
        )
    if provider == "anthropic":
        client = fake.anthropic_client(in_process=True)
        kwargs = {"model": "claude-3-5-haiku-latest", "max_tokens": 512, "messages": messages}
        return (
            client.messages.create(**kwargs),
            list(client.messages.create(**kwargs, stream=True)),
            kwargs,
            {**kwargs, "stream": True},
        )
    client = fake.genai_client(in_process=True)
    kwargs = {"model": "gemini-2.5-flash", "contents": common.PROMPT}
    return (
        client.models.generate_content(**kwargs),
        list(client.models.generate_content_stream(**kwargs)),
        kwargs,
        kwargs,
    )


def isolate_provider(provider: str, sizes: Sizes) -> list[list[Any]]:
    """Our wrapper's own cost: a stand-in provider method returning canned objects, bare vs wrapped."""
    import wrapt

    from llm_monitor_sdk.instrumentation._wrapper import make_wrapper

    response, chunks, kwargs, stream_kwargs = _canned(provider)
    call_name, stream_name = _TARGETS[provider]

    def create(**kw: Any) -> Any:
        return response

    def stream_long(**kw: Any) -> Any:
        return iter(chunks)

    short = chunks[:20]

    def stream_short(**kw: Any) -> Any:
        return iter(short)

    wrapped_call = wrapt.FunctionWrapper(create, make_wrapper(_adapter(provider, call_name), is_async=False))
    stream_adapter = _adapter(provider, stream_name)
    wrapped_long = wrapt.FunctionWrapper(stream_long, make_wrapper(stream_adapter, is_async=False))
    wrapped_short = wrapt.FunctionWrapper(stream_short, make_wrapper(stream_adapter, is_async=False))

    def consume(fn: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> None:
            for _ in fn(**stream_kwargs):
                pass

        return run

    cases = [
        ("call", lambda: create(**kwargs), lambda: wrapped_call(**kwargs), 1),
        (f"stream x{len(chunks)}", consume(stream_long), consume(wrapped_long), 10),
        (f"stream x{len(short)}", consume(stream_short), consume(wrapped_short), 10),
    ]
    results: dict[str, tuple[float, float, float]] = {}
    lm.instrument()
    try:
        for label, bare_fn, inst_fn, divisor in cases:
            n = max(10, sizes.iso_block // divisor)
            _time_calls(inst_fn, min(n, 200))  # warm-up
            bare: list[Block] = []
            inst: list[Block] = []
            for r in range(sizes.rounds):
                for which in (bare_fn, inst_fn) if r % 2 == 0 else (inst_fn, bare_fn):
                    lm.flush(60)  # the worker's backlog never runs inside a timed block
                    gc.collect()
                    (bare if which is bare_fn else inst).append(_time_calls(which, n))
            results[label] = (
                common.median([x.median for x in inst]) - common.median([x.median for x in bare]),
                common.median([x.cpu for x in inst]) - common.median([x.cpu for x in bare]),
                common.median([x.median for x in bare]),
            )
    finally:
        lm.uninstrument()
    long_label, short_label = f"stream x{len(chunks)}", f"stream x{len(short)}"
    per_chunk = (results[long_label][1] - results[short_label][1]) / (len(chunks) - len(short))
    rows = []
    for label, (median_ovh, cpu_ovh, bare_median) in results.items():
        extra = f"{per_chunk:.3f}" if label == long_label else ""
        rows.append([f"{provider} {label}", bare_median, median_ovh, cpu_ovh, extra])
    return rows


ISO_HEADERS = [
    "stand-in call",
    "bare µs/call",
    "overhead µs (median)",
    "caller CPU overhead µs",
    "caller CPU µs/chunk",
]


def main() -> None:
    """Run every workload for every installed provider and print the tables."""
    args = common.parse_args(__doc__.splitlines()[0])
    sizes = Sizes(args.quick)
    jsonl = common.use_temp_jsonl()
    providers = common.available_providers(args.providers)
    common.print_header("llm-monitor-sdk: caller-side overhead (in-process, alternating blocks)")
    print(
        f"config: default (JSONL exporter -> {jsonl}, redaction on); {sizes.rounds} rounds per workload;"
        f" A {sizes.sync_block}, B {sizes.stream_block}, C {sizes.async_block} calls per block\n"
    )
    rows: list[list[Any]] = []
    for provider in providers:
        rows.extend(measure_provider(provider, sizes))
    print("Through the provider SDK and the mock transport (median of block medians):\n")
    common.print_table(HEADERS, rows)
    iso: list[list[Any]] = []
    for provider in providers:
        iso.extend(isolate_provider(provider, sizes))
    print("SDK alone (stand-in provider method returning canned objects; CPU = caller thread only):\n")
    common.print_table(ISO_HEADERS, iso)
    stats = lm.stats()
    print(
        f"records dropped: {stats.get('dropped', 0)}; internal errors: {stats.get('internal_errors') or 'none'}"
    )


if __name__ == "__main__":
    main()
