"""Start-up hook of ``llm-monitor run``: ``llm_monitor_sdk.instrument()`` for a program that never calls it.

``llm-monitor run`` puts this file's folder first on ``PYTHONPATH``, so Python's ``site`` module imports
this ``sitecustomize`` in the program and in every Python subprocess that inherits the environment.
It then:

1. removes its folder from ``sys.path`` (the variable stays, for subprocesses) and runs the
   ``sitecustomize`` that would have run without it, if there is one (a virtual environment's or the
   distribution's), so chaining is transparent;
2. unless ``LLM_MONITOR_DISABLED`` is true, arranges for ``instrument()`` (configured from the
   environment: ``LLM_MONITOR_*``, ``OTEL_*``) to run the moment the program first imports a provider
   client (``openai``, ``anthropic``, ``google.genai``) or ``llm_monitor_sdk`` itself: before any LLM
   call can be made, and not at all in a process that never touches one (a subprocess such as a
   compiler, a linter, ``pip``), which then pays about a millisecond instead of the SDK's import.
   ``LLM_MONITOR_RUN_EAGER=true`` instruments right here instead;
3. re-raises an error of the chained ``sitecustomize``, so ``site`` reports it exactly as it would have.

A failure here never stops the program: it is reported on stderr in one line (only in the process
``llm-monitor run`` started, not in its subprocesses, which may be other interpreters) and the program
goes on unmonitored. Only the standard library is used until ``llm_monitor_sdk`` is imported.
"""

from __future__ import annotations

import _thread
import os
import sys

# Kept cheap on purpose: no typing, threading or importlib.util import at run time (they would cost
# every Python process started under the runner tens of milliseconds).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
#: Importing any of these first starts monitoring.
TRIGGERS = frozenset({"openai", "anthropic", "google.genai", "llm_monitor_sdk"})
_TRUE = ("1", "true", "yes", "on")  # the spellings llm_monitor_sdk.config.parse_bool accepts


def _same(path: str) -> bool:
    try:
        return os.path.abspath(path or os.curdir) == _HERE
    except (TypeError, ValueError):
        return False


def _chain() -> None:
    """Run the next ``sitecustomize`` on ``sys.path`` in place of this one."""
    import importlib.machinery

    sys.path[:] = [entry for entry in sys.path if not _same(entry)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = importlib._bootstrap.module_from_spec(spec)
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


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _instrument() -> None:
    try:
        from llm_monitor_sdk._bootstrap import start
    except Exception as exc:  # not importable by this interpreter, or broken
        _report(f"cannot import llm_monitor_sdk in {sys.executable} ({type(exc).__name__}: {exc})")
        return
    try:
        start()
    except Exception as exc:  # start() already guards; belt and braces for the user's program
        _report(f"start-up failed ({type(exc).__name__}: {exc})")


class _Loader:
    """Wraps a trigger module's loader: runs it, then starts monitoring (once), then steps aside."""

    def __init__(self, loader: Any, finder: _Trigger) -> None:
        self._loader = loader
        self._finder = finder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # Put the real loader back first: nothing after the import may see this wrapper.
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        self._loader.exec_module(module)
        self._finder.fire()


class _Trigger:
    """A ``sys.meta_path`` finder that only watches for the first import of a :data:`TRIGGERS` module."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._fired = False

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in TRIGGERS or self._fired:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self)
                return spec
        return None

    def fire(self) -> None:
        with self._lock:
            if self._fired:
                return
            self._fired = True
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        _instrument()


def _boot() -> None:
    chained_error: BaseException | None = None
    try:
        _chain()
    except Exception as exc:
        chained_error = exc
    if not _flag("LLM_MONITOR_DISABLED"):
        if _flag("LLM_MONITOR_RUN_EAGER") or any(name in sys.modules for name in TRIGGERS):
            _instrument()
        else:
            sys.meta_path.insert(0, _Trigger())
    if chained_error is not None:
        raise chained_error


_boot()
