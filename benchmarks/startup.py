"""Start-up cost: what ``import llm_monitor_sdk; llm_monitor_sdk.instrument()`` adds to a process.

Run: ``python benchmarks/startup.py`` (``--quick`` for a smoke run).

Each sample is a fresh interpreter that first imports every installed provider SDK (the application
already pays for those), then times, inside the process, the SDK import and the ``instrument()``
call with the default configuration. Heavy data (price tables, BPE files) must load lazily or on a
background thread, so it does not show here. The median of several processes is reported, next to
the provider imports for scale.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

_CHILD = """
import importlib, json, sys, time
t0 = time.perf_counter()
for name in sys.argv[1].split(","):
    if name:
        importlib.import_module(name)
t1 = time.perf_counter()
import llm_monitor_sdk
t2 = time.perf_counter()
llm_monitor_sdk.instrument()
t3 = time.perf_counter()
print(json.dumps({"providers": t1 - t0, "import": t2 - t1, "instrument": t3 - t2, "total": t3 - t1}))
llm_monitor_sdk.shutdown()
"""


def patched_modules(providers: list[str]) -> list[str]:
    """The provider modules our patch targets live in (imported lazily by the SDKs themselves)."""
    import importlib
    import importlib.util

    names: set[str] = set()
    for provider in providers:
        for target in importlib.import_module(common.ADAPTER_MODULES[provider]).targets():
            try:
                if importlib.util.find_spec(target.module) is not None:
                    names.add(target.module)
            except ImportError:
                continue
    return sorted(names)


def sample(modules: list[str], env: dict[str, str]) -> dict[str, float]:
    """One fresh interpreter's timings, in seconds."""
    return common.run_child(_CHILD, [",".join(modules)], env)


def main() -> None:
    """Run the samples and print the medians."""
    args = common.parse_args(
        __doc__.splitlines()[0],
        lambda parser: parser.add_argument(
            "--source",
            action="store_true",
            help="no bytecode cache: every process compiles the SDK's sources (a worst case, e.g. a read-only tree)",
        ),
    )
    runs = 1 if args.quick else 15
    providers = common.available_providers(args.providers)
    modules = [common.PROVIDER_MODULES[p] for p in providers]
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="llm-monitor-bench-")
    env["LLM_MONITOR_JSONL_PATH"] = os.path.join(tmp, "r.jsonl")
    # An installed package has its bytecode cached (pip compiles it). Without a cache, every sample
    # would compile the SDK's sources again and measure the compiler, not the import; the cache goes to
    # a temporary directory so that nothing is written into the source tree.
    if not args.source:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
    common.print_header("llm-monitor-sdk: start-up cost")
    resources = patched_modules(providers)
    sample(modules, env)  # warm the OS file cache and .pyc files
    cache = "compiled from source each time" if args.source else "bytecode cached, as when installed"
    print(f"{runs} fresh processes per scenario; default configuration; {cache}\n")
    scenarios = (
        ("A: the process imported the provider packages only", modules),
        ("B: ... and the provider modules we patch (as after the first API call)", modules + resources),
    )
    for title, imports in scenarios:
        samples = [sample(imports, env) for _ in range(runs)]
        rows = [
            [
                label,
                common.median([s[key] for s in samples]) * 1e3,
                min(s[key] for s in samples) * 1e3,
                max(s[key] for s in samples) * 1e3,
            ]
            for label, key in (
                ("provider imports", "providers"),
                ("import llm_monitor_sdk", "import"),
                ("llm_monitor_sdk.instrument()", "instrument"),
                ("SDK total (import + instrument)", "total"),
            )
        ]
        print(title + ":\n")
        common.print_table(["step", "median ms", "min ms", "max ms"], rows)


if __name__ == "__main__":
    main()
