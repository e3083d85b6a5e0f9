"""Export worker throughput and retained memory.

Run: ``python benchmarks/pipeline.py`` (``--quick`` for a smoke run).

1. Throughput: finished calls with realistic content (about 1 KB of prompt and 1 KB of response
   text, a few e-mail addresses and phone numbers among them) are queued all at once, then the
   worker turns them into records (build, token estimate, price, redaction, JSON) and exports them.
   Records per second = records / time from the first enqueue until ``flush()`` returns. Four
   configurations: redaction on/off x JSONL file / HTTP to a loopback receiver (a separate process,
   so its parsing does not share our GIL). The calls are produced by the real wrapper around a
   stand-in OpenAI method returning a canned response: the worker's work does not depend on the
   provider.
2. Memory: ``tracemalloc`` traced memory after flushing at checkpoints up to 100,000 calls with the
   default configuration; flat means nothing accumulates per call.
"""

from __future__ import annotations

import gc
import random
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

import llm_monitor_sdk as lm

_RECEIVER = textwrap.dedent("""
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(server.server_address[1], flush=True)
    server.serve_forever()
""")

_PHRASE = (
    "the model answered quickly and the customer seemed satisfied with the result of the analysis "
    "while our team reviewed quarterly revenue figures and shipping delays across three regions"
)
_WORDS = _PHRASE.split()


def _text(i: int, size: int, with_pii: bool) -> str:
    # A word sequence of its own for every ``i`` (seeded, so runs are repeatable): no two texts alike.
    pick = random.Random(i).choice
    words = []
    n = 0
    while n < size:
        word = pick(_WORDS)
        words.append(word)
        n += len(word) + 1
    if with_pii:
        words.insert(len(words) // 2, f"contact jane.doe{i}@example.com or +1 415 555 {i % 10000:04d}")
    return " ".join(words)[: size + 80]


def make_calls(count: int) -> list[Any]:
    """``count`` finished calls with ~1 KB prompts and ~1 KB responses, captured without exporting them."""
    import wrapt
    from openai.types.chat import ChatCompletion

    from llm_monitor_sdk.instrumentation._wrapper import make_wrapper
    from llm_monitor_sdk.instrumentation.openai import ChatCompletionsAdapter

    # Every call gets its own prompt and response text: the redactor's cache of repeated strings
    # (system prompts, resent history) must not flatter the numbers; this is the cold-scan case.
    def response(i: int) -> Any:
        return ChatCompletion.model_validate(
            {
                "id": f"chatcmpl-{i}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": _text(i, 1000, i % 3 == 0)},
                    }
                ],
                "usage": {"prompt_tokens": 260, "completion_tokens": 240, "total_tokens": 500},
            }
        )

    def prompt(i: int) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": "You are a concise analyst."},
            {"role": "user", "content": _text(i + 100_000, 950, i % 4 == 0)},
        ]

    state = {"i": 0}

    def create(**kwargs: Any) -> Any:
        return response(state["i"])

    wrapped = wrapt.FunctionWrapper(create, make_wrapper(ChatCompletionsAdapter(), is_async=False))
    monitor = lm.instrument(exporters="none")
    captured: list[Any] = []
    monitor.submit = lambda call, notify=True: captured.append(call)  # type: ignore[method-assign]
    try:
        for i in range(count):
            state["i"] = i
            wrapped(model="gpt-4o-mini", messages=prompt(i), temperature=0.2)
    finally:
        lm.uninstrument()
    return captured


def throughput(calls: list[Any], **settings: Any) -> tuple[float, dict[str, Any]]:
    """Records per second through a fresh monitor's worker configured with ``settings``."""
    monitor = lm.instrument(**settings)
    from llm_monitor_sdk import tokens

    tokens.preload(background=False)  # loading tables is start-up cost, not per-record cost
    if monitor.prices is not None:
        monitor.prices.preload(background=False)
    pipeline = monitor.pipeline
    assert pipeline is not None
    warm = calls[:200]
    for call in warm:
        pipeline.submit(call)
    monitor.flush(60)
    gc.collect()
    started = time.perf_counter()
    for call in calls:
        pipeline.submit(call)
    ok = monitor.flush(600)
    elapsed = time.perf_counter() - started
    stats = monitor.stats()
    lm.uninstrument()
    if not ok:
        print("warning: flush timed out")
    return len(calls) / elapsed, stats


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    """A loopback HTTP receiver in its own process (answers 200 to every POST)."""
    proc = subprocess.Popen([common.python(), "-c", _RECEIVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/records"


def memory(total: int, checkpoints: int) -> list[list[Any]]:
    """Traced memory after flushing at ``checkpoints`` evenly spaced points up to ``total`` calls."""
    import wrapt
    from openai.types.chat import ChatCompletion

    from llm_monitor_sdk.instrumentation._wrapper import make_wrapper
    from llm_monitor_sdk.instrumentation.openai import ChatCompletionsAdapter

    payload = {
        "id": "chatcmpl-m",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": _text(7, 1000, True)},
            }
        ],
        "usage": {"prompt_tokens": 260, "completion_tokens": 240, "total_tokens": 500},
    }
    prompt = [{"role": "user", "content": _text(9, 1000, True)}]

    def create(**kwargs: Any) -> Any:
        return ChatCompletion.model_validate(payload)  # a fresh object per call, as a real SDK returns

    wrapped = wrapt.FunctionWrapper(create, make_wrapper(ChatCompletionsAdapter(), is_async=False))
    monitor = lm.instrument()  # default configuration: JSONL, redaction on
    from llm_monitor_sdk import tokens

    tokens.preload(background=False)
    if monitor.prices is not None:
        monitor.prices.preload(background=False)
    for _ in range(500):  # warm caches (price lookups, regexes) before the baseline
        wrapped(model="gpt-4o-mini", messages=prompt)
    lm.flush(60)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rows = []
    step = total // checkpoints
    done = 0
    started = time.perf_counter()
    for _ in range(checkpoints):
        for _ in range(step):
            wrapped(model="gpt-4o-mini", messages=prompt)
        done += step
        lm.flush(600)
        gc.collect()
        current = tracemalloc.get_traced_memory()[0]
        rows.append([done, (current - base) / 2**20, time.perf_counter() - started])
    tracemalloc.stop()
    stats = lm.stats()
    lm.uninstrument()
    print(f"(memory run: {stats.get('calls', done)} records, dropped {stats.get('dropped', 0)})")
    return rows


def main() -> None:
    """Throughput table, then the memory table."""
    args = common.parse_args(__doc__.splitlines()[0])
    n = 500 if args.quick else 20_000
    total = 1_000 if args.quick else 100_000
    jsonl = common.use_temp_jsonl()
    common.print_header("llm-monitor-sdk: export worker throughput and memory")
    receiver, url = start_receiver()
    rows = []
    try:
        for exporter in ("jsonl", "http"):
            for redact in (True, False):
                calls = make_calls(n)  # a call is processed once: fresh ones for every configuration
                if exporter == "jsonl":
                    settings: dict[str, Any] = {"exporters": "jsonl"}
                else:
                    settings = {"exporters": [lm.exporters.HTTPExporter(url, max_queue_batches=1024)]}
                rate, stats = throughput(calls, redact=redact, **settings)
                exported = sum(e.get("exported", 0) for e in stats.get("exporters", {}).values())
                rows.append(
                    [
                        exporter,
                        "on" if redact else "off",
                        len(calls),
                        rate,
                        1e6 / rate,
                        stats.get("dropped", 0),
                        exported,
                    ]
                )
    finally:
        receiver.terminate()
        receiver.wait(5)
    print(
        f"Throughput ({n:,} records of ~2 KB text each; JSONL file {jsonl}; HTTP to a loopback receiver):\n"
    )
    common.print_table(
        ["exporter", "redaction", "records", "records/s", "µs/record", "dropped", "exported"], rows
    )
    print(f"Retained memory (tracemalloc, default configuration, {total:,} calls):\n")
    common.print_table(
        ["calls", "traced MB above baseline", "elapsed s"], memory(total, 2 if args.quick else 10)
    )
    print(f"threads alive at exit: {[t.name for t in threading.enumerate()]}")


if __name__ == "__main__":
    main()
