"""``llm-monitor run [--] COMMAND [ARGS ...]``: run a program with monitoring applied at interpreter start.

The command is executed in place of this process (``os.exec``: same pid, so exit status, stdout,
stderr, stdin and signals are the program's own) with the bootstrap folder first on ``PYTHONPATH``.
Every Python interpreter that starts with that environment (the program itself, ``python -m pkg``, a
console script such as ``uvicorn``, ``gunicorn`` or ``celery``, and their Python subprocesses) imports
the bootstrap ``sitecustomize``, which calls ``instrument()`` configured from the environment and then
runs the ``sitecustomize`` that was there before. ``LLM_MONITOR_DISABLED=true`` makes this a plain exec.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .._bootstrap import BOOTSTRAP_DIR, RUN_PID_VARIABLE

_TRUE = ("1", "true", "yes", "on")


def register(commands: Any) -> None:
    """Add the ``run`` command."""
    parser = commands.add_parser(
        "run",
        help="run a Python program with instrument() applied at start-up",
        description=(
            "Run COMMAND (python app.py, python -m pkg, a console script such as uvicorn or gunicorn) with "
            "llm_monitor_sdk.instrument() applied when each Python interpreter starts, configured from the "
            "LLM_MONITOR_* and OTEL_* environment variables. Exit status, output and signals are the "
            "program's own. Put -- before COMMAND when it starts with a dash."
        ),
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS ...]")
    parser.set_defaults(func=_run)


def child_environment(environ: Mapping[str, str], pid: int | None = None) -> dict[str, str]:
    """The environment the program gets: the bootstrap folder first on ``PYTHONPATH`` and our pid.

    With ``LLM_MONITOR_DISABLED`` true, ``environ`` unchanged.
    """
    env = dict(environ)
    if env.get("LLM_MONITOR_DISABLED", "").strip().lower() in _TRUE:
        return env
    entries = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    entries = [BOOTSTRAP_DIR] + [entry for entry in entries if entry != BOOTSTRAP_DIR]
    env["PYTHONPATH"] = os.pathsep.join(entries)
    env[RUN_PID_VARIABLE] = str(os.getpid() if pid is None else pid)
    return env


def _run(args: argparse.Namespace) -> int:
    return run_main(args.command)


def run_main(argv: Sequence[str]) -> int:
    """``llm-monitor run ARGV``, without building the whole command-line parser (start-up matters here).

    ``llm_monitor_sdk.cli.main`` may call this directly when its first argument is ``run``.
    """
    command = list(argv)
    if command[:1] in (["-h"], ["--help"]):
        from . import build_parser

        build_parser().parse_args(["run", "--help"])  # prints the help and exits
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print(
            "llm-monitor run: no command given (usage: llm-monitor run [--] COMMAND [ARGS ...])",
            file=sys.stderr,
        )
        return 2
    return execute(command, child_environment(os.environ))


def execute(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Replace this process with ``command`` (POSIX), or run it and return its status (Windows).

    Returns 127 when the command is not found and 126 when it cannot be executed, as shells do.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        if os.name != "nt":
            os.execvpe(command[0], list(command), dict(env))
        return _run_windows(command, env)
    except FileNotFoundError:
        print(f"llm-monitor run: command not found: {command[0]}", file=sys.stderr)
        return 127
    except OSError as exc:
        print(f"llm-monitor run: cannot execute {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 126


def _run_windows(command: Sequence[str], env: Mapping[str, str]) -> int:  # pragma: no cover - POSIX CI
    # No exec on Windows: run the program and hand back its status; Ctrl-C reaches it through the console.
    process = subprocess.Popen(list(command), env=dict(env))
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


__all__ = ["child_environment", "execute", "register", "run_main"]
