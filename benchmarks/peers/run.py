"""Peer comparison: llm-monitor-sdk next to other OpenAI instrumentations, each in its own virtual environment.

Run (from the repository root; needs PyPI, builds the environments on first use, ~10 minutes):

    python benchmarks/peers/run.py                 # every peer, 3 rounds
    python benchmarks/peers/run.py --quick         # smoke run: 1 round of tiny workloads
    python benchmarks/peers/run.py --peers langsmith,llm-monitor-sdk

Not part of CI's default benchmark loop (that runs only ``benchmarks/*.py``). Each peer gets a
virtual environment under ``build/peers/<name>`` (``--venvs DIR`` to move it) with pinned versions of
its own packages and the same ``openai`` release; nothing of theirs is kept in this repository. Our
SDK's environment holds its runtime dependencies only (no extras) and imports it from ``src/``.

For every peer, ``_workload.py`` runs in that environment twice per round, in fresh processes: once
bare (the peer installed but not switched on) and once with the peer switched on as its documentation
says. It measures, on an OpenAI client talking to a canned in-process ``MockTransport`` (no sockets):

- caller overhead per call: median wall time of a non-streaming ``chat.completions.create``, on minus bare;
- per stream chunk: ((on 200-chunk stream - on 20-chunk stream) - (same bare)) / 180;
- per async call: median of sequential awaited calls on an ``AsyncOpenAI`` client, on minus bare;
- records delivered after a burst: calls from 4 threads as fast as they go, then the peer's flush; how
  many of the burst's calls reached the exporter (OpenTelemetry-based peers: a ``BatchSpanProcessor``
  with its defaults in front of a counting exporter; ours: a counting exporter);
- peak RSS (``VmHWM``) of the process on, and bare;
- import time: importing the peer and switching it on, in a process that has already imported ``openai``.

The rounds alternate the order of bare and on; medians of the rounds are printed as one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

OPENAI = "openai==2.54.0"  # openlit 1.45 requires openai < 3; every environment gets the same release

#: name -> (what is measured, pinned requirements besides openai, note)
PEERS: dict[str, tuple[str, list[str], str]] = {
    "llm-monitor-sdk": (
        "this repository, `lm.instrument()` (redaction on)",
        [
            "wrapt==2.5.2",
            "pydantic==2.14.4",
            "opentelemetry-api==1.45.2",
            "tiktoken==0.14.0",
            "genai-prices==0.2.3",
        ],
        "",
    ),
    "otel-openai-v2": (
        "opentelemetry-instrumentation-openai-v2 `OpenAIInstrumentor().instrument()`",
        [
            "opentelemetry-instrumentation-openai-v2==2.4b0",
            "opentelemetry-util-genai==1.1b0",
            "opentelemetry-sdk==1.45.2",
            "httpx==0.29.0",
        ],
        "needs `httpx` (openai here uses httpx2) and util-genai <= 1.1b0 (1.2b0+ lack `instruments`): pinned",
    ),
    "openllmetry": (
        "OpenLLMetry opentelemetry-instrumentation-openai `OpenAIInstrumentor().instrument()`",
        ["opentelemetry-instrumentation-openai==0.62.4", "opentelemetry-sdk==1.45.2"],
        "",
    ),
    "langfuse": (
        "Langfuse `from langfuse.openai import openai` drop-in",
        ["langfuse==5.2.0"],
        "",
    ),
    "langsmith": (
        "LangSmith `wrap_openai(client)`",
        ["langsmith==0.15.1"],
        "",
    ),
    "openlit": (
        "OpenLIT `openlit.init(disable_metrics=True, pricing_json=<local file>)` over global providers",
        [
            "openlit==1.45.0",
            "opentelemetry-api==1.45.1",
            "opentelemetry-sdk==1.45.1",
            "opentelemetry-instrumentation==0.66b1",
            "opentelemetry-semantic-conventions==0.66b1",
            *(
                f"opentelemetry-instrumentation-{name}==0.66b1"
                for name in [
                    "aiohttp-client",
                    "asgi",
                    "django",
                    "falcon",
                    "fastapi",
                    "flask",
                    "httpx",
                    "pyramid",
                    "requests",
                    "starlette",
                    "tornado",
                    "urllib",
                    "urllib3",
                ]
            ),
        ],
        "requires openai < 3; OTel set pinned (pip backtracks otherwise); its price table is fetched"
        " from the network at init: a local file given",
    ),
}


def venv_python(folder: Path) -> Path:
    """The interpreter of the virtual environment in ``folder``."""
    return folder / "bin" / "python"


def build(name: str, folder: Path) -> str | None:
    """Create (or reuse) the environment of ``name``; returns why it could not be built, or None."""
    requirements = [OPENAI, *PEERS[name][1]]
    marker = folder / "requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if marker.exists() and marker.read_text() == wanted and venv_python(folder).exists():
        return None
    print(f"building {folder} ({', '.join(requirements)}) ...", flush=True)
    if not venv_python(folder).exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    out = subprocess.run(
        [
            str(venv_python(folder)),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        lines = [line for line in out.stderr.splitlines() if line.startswith("ERROR")]
        return (lines[-1] if lines else out.stderr.strip().splitlines()[-1])[:200]
    marker.write_text(wanted)
    return None


def measure(name: str, folder: Path, mode: str, sizes: dict[str, int]) -> dict[str, Any]:
    """One fresh process of ``_workload.py`` in ``name``'s environment; ``mode`` is ``bare`` or ``on``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_MONITOR_", "OTEL_", "LANGSMITH_"))}
    env["PYTHONPATH"] = str(ROOT / "src") if name == "llm-monitor-sdk" else ""
    env["LLM_MONITOR_EXPORTERS"] = "none"
    env["OTEL_SDK_DISABLED"] = "false"
    env["LANGFUSE_TRACING_ENABLED"] = "true"
    cmd = [str(venv_python(folder)), str(HERE / "_workload.py"), "bare" if mode == "bare" else name]
    cmd += [f"--{key}={value}" for key, value in sizes.items()]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        tail = [line for line in out.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(tail[-1][:200] if tail else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(s[key]) for s in samples)


def row(name: str, bare: list[dict[str, Any]], on: list[dict[str, Any]], note: str) -> list[str]:
    """One table row from the rounds of ``name``."""

    def diff(key: str) -> float:
        return _median(on, key) - _median(bare, key)

    chunk = (
        (_median(on, "stream200_us") - _median(on, "stream20_us"))
        - (_median(bare, "stream200_us") - _median(bare, "stream20_us"))
    ) / 180
    delivered = f"{int(_median(on, 'delivered')):,} / {int(_median(on, 'burst_calls')):,}"
    return [
        name,
        f"{_median(bare, 'call_us'):,.0f}",
        f"{diff('call_us'):+,.0f}",
        f"{chunk:+.1f}",
        f"{diff('async_us'):+,.0f}",
        delivered,
        f"{_median(bare, 'peak_rss_mb'):.0f} / {_median(on, 'peak_rss_mb'):.0f}",
        f"{_median(on, 'setup_ms'):,.0f}",
        note,
    ]


def print_table(rows: list[list[str]]) -> None:
    """Rows as a Markdown table."""
    headers = [
        "peer",
        "bare µs/call",
        "overhead µs/call",
        "µs/chunk",
        "async µs/call",
        "delivered after burst",
        "peak RSS MB bare / on",
        "import + setup ms",
        "notes",
    ]
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    """Build the environments, run the rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of tiny workloads (a smoke run)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma list (default: all)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per peer (default 3)")
    parser.add_argument("--venvs", default=str(ROOT / "build" / "peers"), help="where the environments live")
    args = parser.parse_args()
    names = [n.strip() for n in args.peers.split(",") if n.strip()]
    unknown = set(names) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; expected some of {', '.join(PEERS)}")
    rounds = args.rounds or (1 if args.quick else 3)
    sizes = (
        {"calls": 100, "streams": 5, "burst": 200}
        if args.quick
        else {"calls": 2000, "streams": 100, "burst": 2000}
    )
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"peer comparison: {platform.python_implementation()} {platform.python_version()}, {OPENAI},")
    print(f"{os.cpu_count()} CPUs, load average {load}, {rounds} round(s), sizes {sizes}\n")
    rows = []
    for name in names:
        folder = Path(args.venvs) / name
        problem = build(name, folder)
        note = PEERS[name][2]
        if problem is not None:
            rows.append([name, *["-"] * 7, f"not installed: {problem}"])
            continue
        bare: list[dict[str, Any]] = []
        on: list[dict[str, Any]] = []
        try:
            for n in range(rounds):
                for mode in ("bare", "on") if n % 2 == 0 else ("on", "bare"):
                    (bare if mode == "bare" else on).append(measure(name, folder, mode, sizes))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            rows.append([name, *["-"] * 7, f"did not run: {exc}"])
            continue
        rows.append(row(name, bare, on, note))
        print(f"{name}: done", file=sys.stderr, flush=True)
    print_table(rows)
    print()
    for name in names:
        print(f"- {name}: {PEERS[name][0]}; {', '.join(PEERS[name][1]) or 'no extra packages'}")
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"\nload average at the end: {load}")


if __name__ == "__main__":
    main()
