"""Memory: resident set size of a process after 1,000 calls, with the SDK on versus off.

Run: ``python benchmarks/memory.py`` (5 rounds of 1,000 calls; ``--quick``: 1 round of 100 calls).

Each sample is a fresh interpreter that builds an OpenAI client on the in-process fake provider
(``llm_monitor_sdk.testing``, every response carries provider-reported usage), calls
``lm.instrument()`` with the default configuration (JSONL exporter, redaction on) or not at all,
makes the calls, flushes, collects garbage and reads ``VmRSS`` and ``VmHWM`` (peak) from
``/proc/self/status``. Both sides import the fake provider, so the difference is what the SDK
itself adds. A third side runs with redaction off (``redact=False``), to show its share. The sides
alternate (the order flips every round); medians are reported.

It also prints which bundled tokenizers the instrumented process has loaded (none is expected: no
record needed an estimate) and the wall time of the first call after ``instrument()``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

_CHILD = r"""
import gc, json, os, sys, time

def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0

mode, calls = sys.argv[1], int(sys.argv[2])
from llm_monitor_sdk.testing import FakeProvider
import llm_monitor_sdk as lm

fake = FakeProvider(record_requests=False, input_tokens=20)
client = fake.openai_client(in_process=True)
messages = [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}]
client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # the provider SDK's own warm-up
gc.collect()
before = status("VmRSS")
if mode == "on":
    lm.instrument()
elif mode == "on-redact-off":
    lm.instrument(redact=False)
t0 = time.perf_counter()
client.chat.completions.create(model="gpt-4o-mini", messages=messages)
first_ms = (time.perf_counter() - t0) * 1e3
for _ in range(calls - 1):
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
flushed = lm.flush(60) if mode != "off" else True
time.sleep(0.5)  # background loaders (price table) settle
gc.collect()
encodings = sys.modules.get("llm_monitor_sdk.tokens._encodings")
loaded = sorted(encodings._loaded) if encodings is not None else []
print(json.dumps({
    "before": before, "rss": status("VmRSS"), "peak": status("VmHWM"), "first_ms": first_ms,
    "loaded": loaded, "tiktoken_imported": "tiktoken" in sys.modules, "flushed": flushed,
}))
if mode != "off":
    lm.shutdown()
"""


def sample(mode: str, calls: int, env: dict[str, str]) -> dict[str, object]:
    """One fresh interpreter's memory figures (MB) for ``mode`` ``on`` or ``off``."""
    return common.run_child(_CHILD, [mode, str(calls)], env)


def main() -> None:
    """Alternate on/off processes and print the medians."""

    def configure(parser: object) -> None:
        parser.add_argument("--calls", type=int, default=None, help="calls per process (default 1,000)")  # type: ignore[attr-defined]
        parser.add_argument("--rounds", type=int, default=None, help="processes per side (default 5)")  # type: ignore[attr-defined]

    args = common.parse_args(__doc__.splitlines()[0], configure)
    calls = args.calls or (100 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 5)
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="llm-monitor-bench-")
    env["LLM_MONITOR_JSONL_PATH"] = os.path.join(tmp, "records.jsonl")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
    common.print_header("llm-monitor-sdk: memory (RSS) with the SDK on vs off")
    print(f"{rounds} fresh processes per side, {calls:,} openai chat calls each (usage reported)\n")
    sample("off", 2, env)  # warm the bytecode cache
    modes = ("on", "off", "on-redact-off")
    samples: dict[str, list[dict[str, object]]] = {mode: [] for mode in modes}
    for n in range(rounds):
        for mode in modes if n % 2 == 0 else modes[::-1]:
            samples[mode].append(sample(mode, calls, env))

    def med(mode: str, key: str) -> float:
        return common.median([float(s[key]) for s in samples[mode]])  # type: ignore[arg-type]

    rows = []
    for label, key in (
        ("RSS before instrument() MB", "before"),
        ("RSS after the calls MB", "rss"),
        ("peak RSS (VmHWM) MB", "peak"),
        ("first call after instrument() ms", "first_ms"),
    ):
        on, off, bare = med("on", key), med("off", key), med("on-redact-off", key)
        rows.append([label, off, on, on - off, bare, bare - off])
    growth = {mode: med(mode, "rss") - med(mode, "before") for mode in modes}
    rows.append(
        [
            "RSS growth during the run MB",
            growth["off"],
            growth["on"],
            growth["on"] - growth["off"],
            growth["on-redact-off"],
            growth["on-redact-off"] - growth["off"],
        ]
    )
    headers = ["median", "off", "on (defaults)", "on - off", "on, redact off", "on, redact off - off"]
    common.print_table(headers, rows)
    loaded = sorted({name for s in samples["on"] for name in s["loaded"]})  # type: ignore[attr-defined]
    imported = any(s["tiktoken_imported"] for s in samples["on"])
    print(f"tokenizers loaded with the SDK on: {', '.join(loaded) or 'none'} (tiktoken imported: {imported})")
    print(
        f"SDK on adds {med('on', 'rss') - med('off', 'rss'):.1f} MB RSS after {calls:,} calls (target <= 5 MB)"
    )


if __name__ == "__main__":
    main()
