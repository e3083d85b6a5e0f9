"""Start-up hook of ``llm-monitor run``: calls ``llm_monitor_sdk.instrument()`` as the interpreter starts.

``llm-monitor run`` puts this file's folder first on ``PYTHONPATH``, so Python's ``site`` module imports
this ``sitecustomize`` in the program and in every Python subprocess that inherits the environment.
It then:

1. removes its folder from ``sys.path`` (the variable stays, for subprocesses) and runs the
   ``sitecustomize`` that would have run without it, if there is one (a virtual environment's or the
   distribution's), so chaining is transparent;
2. calls ``instrument()`` configured from the environment (``LLM_MONITOR_*``, ``OTEL_*``), unless
   ``LLM_MONITOR_DISABLED`` is true;
3. re-raises an error of the chained ``sitecustomize``, so ``site`` reports it exactly as it would have.

A failure here never stops the program: it is reported on stderr in one line (only in the process
``llm-monitor run`` started, not in its subprocesses, which may be other interpreters) and the program
goes on unmonitored. Only the standard library is used until ``llm_monitor_sdk`` is imported.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _same(path: str) -> bool:
    try:
        return os.path.abspath(path or os.curdir) == _HERE
    except (TypeError, ValueError):
        return False


def _chain() -> None:
    """Run the next ``sitecustomize`` on ``sys.path`` in place of this one."""
    import importlib.machinery
    import importlib.util

    sys.path[:] = [entry for entry in sys.path if not _same(entry)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module  # as if it had been imported directly
    spec.loader.exec_module(module)


def _main_process() -> bool:
    # os.exec keeps the pid: the program `llm-monitor run` started is the process it ran in.
    return os.environ.get("LLM_MONITOR_RUN_PID") == str(os.getpid())


def _report(message: str) -> None:
    if _main_process() or os.environ.get("LLM_MONITOR_BOOTSTRAP_DEBUG"):
        try:
            sys.stderr.write(f"llm-monitor: {message}; the program runs without monitoring\n")
        except Exception:
            pass


def _disabled() -> bool:
    # The same spellings as llm_monitor_sdk.config.parse_bool; checked here to skip the import.
    return os.environ.get("LLM_MONITOR_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")


def _instrument() -> None:
    if _disabled():
        return
    try:
        from llm_monitor_sdk._bootstrap import start
    except Exception as exc:  # not importable by this interpreter, or broken
        _report(f"cannot import llm_monitor_sdk in {sys.executable} ({type(exc).__name__}: {exc})")
        return
    try:
        start()
    except Exception as exc:  # start() already guards; belt and braces for the user's program
        _report(f"start-up failed ({type(exc).__name__}: {exc})")


def _boot() -> None:
    chained_error: BaseException | None = None
    try:
        _chain()
    except Exception as exc:
        chained_error = exc
    _instrument()
    if chained_error is not None:
        raise chained_error


_boot()
