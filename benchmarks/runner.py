"""Start-up overhead of ``llm-monitor run``: how much later a program starts, and ends, under the runner.

Run: ``python benchmarks/runner.py`` (``--quick`` for a smoke run).

Each sample is a fresh process tree. The program's first statement prints ``time.time()``; the
start-up delay is that moment minus the moment the parent launched the command. Three ways to start
the same program are compared:

* ``plain``: ``python PROGRAM``;
* ``bootstrap only``: ``python PROGRAM`` with the bootstrap folder first on ``PYTHONPATH`` (what every
  Python subprocess of a monitored program pays: ``import llm_monitor_sdk`` + ``instrument()``);
* ``llm-monitor run``: the console script, which execs ``python PROGRAM`` with that environment (the
  runner's own interpreter start and imports come on top).

Two programs: an empty one (nothing shared with the SDK's imports: the worst case) and one that
imports ``openai`` as an LLM app does (the SDK's imports then overlap with the app's). The overhead is
the difference of medians against ``plain``. Bytecode is cached, as for an installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

from llm_monitor_sdk._bootstrap import BOOTSTRAP_DIR

_FIRST_LINE = "import time; print(time.time_ns(), flush=True)\n"
PROGRAMS = {
    "empty program": _FIRST_LINE,
    "program importing openai": _FIRST_LINE + "import openai\n",
}


def runner_command() -> list[str]:
    """The ``llm-monitor`` console script next to this interpreter (``python -m`` otherwise)."""
    script = Path(sys.executable).with_name("llm-monitor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "llm_monitor_sdk.cli"]


def sample(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(start-up delay, total wall time) of one run, in seconds."""
    launched = time.time_ns()
    t0 = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    total = time.perf_counter() - t0
    started = int(out.stdout.split()[0])
    return (started - launched) / 1e9, total


def main() -> None:
    """Run the samples and print medians and overheads."""
    args = common.parse_args(__doc__.splitlines()[0])
    runs = 2 if args.quick else 21
    tmp = tempfile.mkdtemp(prefix="llm-monitor-bench-run-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_MONITOR_")}
    env["LLM_MONITOR_JSONL_PATH"] = os.path.join(tmp, "r.jsonl")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    boot_env = dict(env, PYTHONPATH=os.pathsep.join(p for p in (BOOTSTRAP_DIR, env.get("PYTHONPATH")) if p))

    common.print_header("llm-monitor run: start-up overhead")
    print(f"{runs} fresh processes per row (medians); bytecode cached; default configuration\n")
    for title, source in PROGRAMS.items():
        if "openai" in source and not common.available_providers("openai"):
            continue
        program = os.path.join(tmp, "program.py")
        Path(program).write_text(source)
        ways = {
            "plain": ([sys.executable, program], env),
            "bootstrap only": ([sys.executable, program], boot_env),
            "llm-monitor run": ([*runner_command(), "run", sys.executable, program], env),
        }
        for command, way_env in ways.values():
            sample(command, way_env)  # warm the file cache and the bytecode cache
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for _ in range(runs):
            for name, (command, way_env) in ways.items():  # interleaved: load changes hit all alike
                results[name].append(sample(command, way_env))
        base_start = common.median([s for s, _ in results["plain"]])
        base_total = common.median([t for _, t in results["plain"]])
        rows = []
        for name, samples in results.items():
            start = common.median([s for s, _ in samples])
            total = common.median([t for _, t in samples])
            rows.append(
                [name, start * 1e3, (start - base_start) * 1e3, total * 1e3, (total - base_total) * 1e3]
            )
        print(title + ":\n")
        common.print_table(["way", "start ms", "start overhead ms", "total ms", "total overhead ms"], rows)


if __name__ == "__main__":
    main()
