"""One measurement process of the peer comparison; ``run.py`` starts it inside each peer's environment.

Standalone on purpose: it imports only ``openai`` (and, when asked, one peer's package or ours), so
a bare process in a peer's environment carries nothing but that environment. The OpenAI client talks
to a canned in-process ``MockTransport`` (no sockets): one chat completion as JSON, or as a stream of
``--chunks`` chunks, with provider-reported usage. Telemetry goes to an in-process counting exporter
that does nothing else, so what is measured is each instrumentation's own work.

Prints one JSON object: timings in microseconds, records delivered after a burst, peak RSS in MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

MODEL = "gpt-4o-mini"
TEXT = ("The quick brown fox jumps over the lazy dog while the model explains its reasoning. " * 6).strip()
MESSAGES = [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences for a child."}]


# -- the canned provider -----------------------------------------------------------------------------
def _json_body() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": TEXT},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80},
        }
    ).encode()


def _sse_body(chunks: int) -> bytes:
    size = max(1, len(TEXT) // chunks)
    pieces = [TEXT[i * size : (i + 1) * size] for i in range(chunks - 1)]
    pieces.append(TEXT[(chunks - 1) * size :])
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
    }
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [
        {**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append(
        {**base, "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80}}
    )
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def _http_module() -> Any:
    """``httpx`` or ``httpx2``: whichever this openai release builds its clients with."""
    base = importlib.import_module("openai._base_client")
    for cls in base.SyncHttpxClientWrapper.__mro__:
        top = cls.__module__.split(".")[0]
        if top in ("httpx2", "httpx"):
            return importlib.import_module(top)
    return importlib.import_module("httpx")


def _transport(hx: Any, streams: dict[int, bytes]) -> Any:
    json_body = _json_body()

    def handler(request: Any) -> Any:
        body = json.loads(request.content or b"{}")
        if body.get("stream"):
            n = int(request.headers.get("x-bench-chunks", "200"))
            content = streams.get(n) or streams.setdefault(n, _sse_body(n))
            return hx.Response(200, headers={"content-type": "text/event-stream"}, content=content)
        return hx.Response(200, headers={"content-type": "application/json"}, content=json_body)

    return hx.MockTransport(handler)


# -- telemetry sinks -----------------------------------------------------------------------------------
class CountingSpanExporter:
    """An OpenTelemetry ``SpanExporter`` that only counts the spans it is given."""

    def __init__(self) -> None:
        self.count = 0
        self.names: dict[str, int] = {}

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        for span in spans:
            self.names[span.name] = self.names.get(span.name, 0) + 1
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class CountingRecordExporter:
    """An llm-monitor-sdk exporter that only counts ``llm_call`` records."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, records: Any) -> None:
        self.count += sum(1 for r in records if r.get("kind") == "llm_call")

    def shutdown(self) -> None:
        return None


class _Peer:
    """What a peer's setup returns: how to build clients, flush, and count delivered records."""

    def __init__(self) -> None:
        self.wrap: Callable[[Any], Any] = lambda client: client
        self.openai: Any = None
        self.flush: Callable[[], None] = lambda: None
        self.count: Callable[[], int] = lambda: 0
        self.span_names: dict[str, int] = {}


def _otel_provider(peer: _Peer) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = CountingSpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))  # defaults: 2,048-span queue, 5 s
    peer.flush = lambda: provider.force_flush(120_000) and None
    peer.count = lambda: exporter.names.get(_span_name(exporter), 0)
    peer.span_names = exporter.names
    return provider


def _span_name(exporter: CountingSpanExporter) -> str:
    # The span that stands for one chat call: the most frequent name (peers add none per call otherwise).
    return max(exporter.names, key=exporter.names.__getitem__) if exporter.names else ""


def setup(name: str) -> _Peer:
    """Import and switch on one peer (``bare``: nothing) the way its documentation says to."""
    peer = _Peer()
    if name == "bare":
        pass
    elif name == "llm-monitor-sdk":
        import llm_monitor_sdk as lm

        exporter = CountingRecordExporter()
        lm.instrument(["openai"], exporters=[exporter])  # otherwise default settings (redaction on)
        peer.flush = lambda: lm.flush(120) and None
        peer.count = lambda: exporter.count
    elif name == "otel-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=_otel_provider(peer))
    elif name == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=_otel_provider(peer))
    elif name == "openlit":
        import openlit
        from opentelemetry import _logs, trace
        from opentelemetry.sdk._logs import LoggerProvider

        # openlit.init() reuses already configured global providers. Without them it prints every
        # span and event to stdout; here spans go to the counting exporter and events nowhere
        # (a LoggerProvider without processors). Metrics would need a collector: off.
        trace.set_tracer_provider(_otel_provider(peer))
        _logs.set_logger_provider(LoggerProvider())
        # Its price table would be fetched from the network at init: a local one instead.
        import tempfile

        prices = os.path.join(tempfile.mkdtemp(), "pricing.json")
        with open(prices, "w", encoding="utf-8") as handle:
            json.dump({"chat": {MODEL: {"promptPrice": 0.00015, "completionPrice": 0.0006}}}, handle)
        openlit.init(disable_metrics=True, pricing_json=prices)
    elif name == "langfuse":
        from langfuse import Langfuse

        exporter = CountingSpanExporter()
        client = Langfuse(
            public_key="pk-lf-bench",
            secret_key="sk-lf-bench",
            host="http://127.0.0.1:9",
            span_exporter=exporter,
        )
        from langfuse.openai import openai as patched

        peer.openai = patched
        peer.flush = client.flush
        peer.count = lambda: exporter.names.get(_span_name(exporter), 0)
    elif name == "langsmith":
        peer.wrap, peer.flush, peer.count = _langsmith()
    else:
        raise SystemExit(f"unknown peer {name!r}")
    return peer


def _langsmith() -> tuple[Callable[[Any], Any], Callable[[], None], Callable[[], int]]:
    """wrap_openai with a langsmith Client whose HTTP session answers in process and keeps the bodies."""
    import re

    import requests
    from langsmith import Client
    from langsmith.wrappers import wrap_openai

    bodies: list[tuple[str, bytes]] = []

    class Sink(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:
            body = request.body or b""
            if hasattr(body, "read"):
                body = body.read()
            if isinstance(body, str):
                body = body.encode()
            bodies.append((request.headers.get("Content-Encoding", ""), body))
            response = requests.Response()
            response.status_code = 200
            response._content = b"{}"
            response.headers["Content-Type"] = "application/json"
            response.request = request
            response.url = request.url
            return response

        def close(self) -> None:
            return None

    session = requests.Session()
    session.mount("http://", Sink())
    session.mount("https://", Sink())
    client = Client(api_url="http://127.0.0.1:9", api_key="lsv2-bench", session=session, info={})
    for prefix in ("http://", "https://"):  # the client mounts its own retrying adapter: replace it
        client.session.mount(prefix, Sink())
    os.environ.setdefault("LANGSMITH_TRACING", "true")
    ids = re.compile(rb'name="(?:post|patch)\.([0-9a-f-]{36})"|"id":\s*"([0-9a-f-]{36})"')

    def count() -> int:
        seen: set[bytes] = set()
        for encoding, body in bodies:
            if "zstd" in encoding:
                import zstandard

                body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
            for match in ids.finditer(body):
                seen.add(match.group(1) or match.group(2))
        return len(seen)

    def flush() -> None:
        client.flush()

    def wrap(openai_client: Any) -> Any:
        return wrap_openai(openai_client, tracing_extra={"client": client})

    return wrap, flush, count


# -- measurements --------------------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _per_call_us(fn: Callable[[], Any], n: int) -> float:
    times = []
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    """Measure one peer (or bare) in this process and print the JSON result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("peer")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    import openai

    t1 = time.perf_counter()
    peer = setup(args.peer)
    t2 = time.perf_counter()
    module = peer.openai or openai
    hx = _http_module()
    streams: dict[int, bytes] = {}
    client = peer.wrap(
        module.OpenAI(
            api_key="sk-bench",
            base_url="http://bench.invalid/v1",
            max_retries=0,
            http_client=hx.Client(transport=_transport(hx, streams)),
        )
    )
    aclient = peer.wrap(
        module.AsyncOpenAI(
            api_key="sk-bench",
            base_url="http://bench.invalid/v1",
            max_retries=0,
            http_client=hx.AsyncClient(transport=_transport(hx, streams)),
        )
    )
    chat = client.chat.completions

    def call() -> Any:
        return chat.create(model=MODEL, messages=MESSAGES)

    def stream(n: int) -> Callable[[], int]:
        headers = {"x-bench-chunks": str(n)}

        def run() -> int:
            return sum(
                1 for _ in chat.create(model=MODEL, messages=MESSAGES, stream=True, extra_headers=headers)
            )

        return run

    for _ in range(50):
        call()
    stream(200)()
    stream(20)()
    gc.collect()
    result: dict[str, Any] = {"import_openai_ms": (t1 - t0) * 1e3, "setup_ms": (t2 - t1) * 1e3}
    result["call_us"] = _per_call_us(call, args.calls)
    result["stream200_us"] = _per_call_us(stream(200), args.streams)
    result["stream20_us"] = _per_call_us(stream(20), args.streams)
    result["chunks"] = stream(200)()

    async def amain() -> float:
        times = []
        for _ in range(args.calls // 2 + 50):
            a = time.perf_counter()
            await aclient.chat.completions.create(model=MODEL, messages=MESSAGES)
            times.append(time.perf_counter() - a)
        return statistics.median(times[50:]) * 1e6

    result["async_us"] = asyncio.run(amain())

    # Burst: everything before it is delivered first, then args.burst calls from 4 threads, then flush.
    peer.flush()
    before = peer.count()
    per_thread = args.burst // 4
    threads = [threading.Thread(target=lambda: [call() for _ in range(per_thread)]) for _ in range(4)]
    b0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result["burst_s"] = time.perf_counter() - b0
    peer.flush()
    result["burst_calls"] = per_thread * 4
    result["delivered"] = peer.count() - before
    result["peak_rss_mb"] = _peak_rss_mb()
    result["span_names"] = peer.span_names
    result["python"] = sys.version.split()[0]
    print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # skip peers' exit hooks (network flushes to the unreachable default hosts)


if __name__ == "__main__":
    main()
