"""``instrument()``, ``uninstrument()``, ``flush()``, ``shutdown()``, ``stats()``: the module-level API."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import _runtime
from ._guard import internal_error_counts
from ._monitor import Monitor
from .config import load_settings
from .instrumentation import instrument_providers, unpatch_all

logger = logging.getLogger("llm_monitor_sdk")
_lock = threading.RLock()
_last: Monitor | None = None
_atexit_registered = False


def instrument(
    providers: Sequence[str] | None = None,
    *,
    exporters: Sequence[Any] | str | None = None,
    capture_content: bool | None = None,
    redact: Any = None,
    budgets: Any = None,
    service_name: str | None = None,
    on_budget_alert: Callable[[dict[str, Any]], None] | None = None,
    alerts: Any = None,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
    evaluators: Any = None,
    processors: Sequence[Any] | None = None,
    **settings: Any,
) -> Monitor:
    """Start monitoring every installed provider client (or those named).

    ``providers``: any of ``"openai"``, ``"anthropic"``, ``"google_genai"`` (default: all installed).
    Keyword arguments override the ``LLM_MONITOR_*`` environment variables (see
    ``docs/configuration.md``): ``exporters`` takes names (``"jsonl"``, ``"console"``, ``"http"``,
    ``"otlp"``, ``"none"``) and/or exporter objects; ``redact`` takes ``True``/``False``, a
    ``RedactionConfig`` or a dict of its fields; ``budgets`` takes the rule string or a list of
    ``BudgetRule``; ``on_budget_alert`` is called with each soft budget alert. ``alerts`` takes the
    ``LLM_MONITOR_ALERTS`` rule text; ``on_alert`` is called (on a background thread) once per alert
    firing and once per resolution; ``evaluators`` takes built-in evaluator names and/or evaluator
    objects; ``processors`` appends your own :class:`~llm_monitor_sdk.processors.Processor` objects to
    the export worker's chain.

    Calling it again reconfigures (the previous pipeline is flushed and stopped) and never patches
    twice. With ``LLM_MONITOR_DISABLED=true`` it patches nothing. A bad setting raises ``ValueError``
    naming it; nothing else ever raises from here.
    """
    global _last, _atexit_registered
    overrides: dict[str, Any] = dict(settings)
    if exporters is not None:
        overrides["exporters"] = exporters
    for name, value in (
        ("capture_content", capture_content),
        ("redact", redact),
        ("budgets", budgets),
        ("service_name", service_name),
        ("on_budget_alert", on_budget_alert),
        ("alerts", alerts),
        ("on_alert", on_alert),
        ("evaluators", evaluators),
    ):
        if value is not None:
            overrides[name] = value
    config = load_settings(**overrides)
    with _lock:
        if config.disabled:
            _deactivate()
            _last = Monitor(config)
            logger.info("llm_monitor_sdk: disabled (LLM_MONITOR_DISABLED); nothing patched, nothing recorded")
            return _last
        if providers is not None:
            providers = [providers] if isinstance(providers, str) else list(providers)
        # ValueError for bad settings, before anything changes
        monitor = Monitor(config, processors=list(processors or ()))
        try:
            monitor.providers = instrument_providers(providers)
        except BaseException:
            monitor.shutdown(0.1)
            raise
        previous = _runtime.active
        _runtime.active = monitor
        _last = monitor
        if previous is not None and previous is not monitor:
            previous.shutdown()
        if not _atexit_registered:
            atexit.register(_shutdown_at_exit)
            if hasattr(os, "register_at_fork"):  # POSIX
                os.register_at_fork(after_in_child=_after_fork_in_child)
            _atexit_registered = True
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s", describe(monitor))
        _install_signal_handlers()
        return monitor


def describe(monitor: Monitor) -> str:
    """The one line ``instrument()`` logs: what it patched and where records go."""
    providers = (
        ", ".join(monitor.providers) if monitor.providers else "no provider (none installed or named), no"
    )
    pipeline = monitor.pipeline
    sinks = [_destination(exporter) for exporter in pipeline.exporters] if pipeline is not None else []
    where = ", ".join(sinks) if sinks else "nowhere (no exporter; lm.stats() still counts)"
    settings = monitor.settings
    return (
        f"llm_monitor_sdk: patched {providers} clients; records go to {where}"
        f" (content capture {'on' if settings.capture_content else 'off'},"
        f" redaction {'on' if monitor.redactor is not None else 'off'})"
    )


def _destination(exporter: Any) -> str:
    name = getattr(exporter, "name", None) or type(exporter).__name__
    path = getattr(exporter, "path", None)
    if isinstance(path, str):
        return f"{name} {os.path.abspath(path)}"
    url = getattr(exporter, "display_url", None)  # secrets in the URL already masked
    if isinstance(url, str):
        return f"{name} {url}"
    return str(name)


def _deactivate() -> None:
    previous = _runtime.active
    _runtime.active = None
    unpatch_all()
    _restore_signal_handlers()
    if previous is not None:
        previous.shutdown()


def uninstrument() -> None:
    """Restore every patched method exactly, then flush and stop the pipeline."""
    with _lock:
        _deactivate()


def flush(timeout: float = 5.0) -> bool:
    """Block until every queued record is exported or ``timeout`` seconds pass; True when all were."""
    monitor = _runtime.active or _last
    return monitor.flush(timeout) if monitor is not None else True


def shutdown(timeout: float | None = None) -> bool:
    """Flush, then stop the export worker and the exporters (also runs at interpreter exit).

    Takes at most ``timeout`` seconds in all (default: ``LLM_MONITOR_SHUTDOWN_TIMEOUT``); records
    that could not be delivered in time are spooled (HTTP with a spool directory) or counted as lost,
    and one WARNING says how many and where. Patched methods stay patched but stop recording until
    ``instrument()`` is called again.
    """
    with _lock:
        monitor = _runtime.active
        _runtime.active = None
        if monitor is None:
            return True
        return monitor.shutdown(timeout)


def _shutdown_at_exit() -> None:
    try:
        shutdown()
    except Exception:  # pragma: no cover - never fail interpreter exit
        logger.exception("llm_monitor_sdk shutdown at exit failed")


# -- process endings that skip atexit: multiprocessing children and SIGTERM/SIGHUP ------------------


class _ForkToken:
    """Kept alive for ``multiprocessing.util.register_after_fork`` (which holds its object weakly)."""


_FORK_TOKEN = _ForkToken()
#: Signals that stop a process without running ``atexit`` when nobody handles them.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_installed_handlers: dict[int, Any] = {}


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # another thread may have held it (inside instrument()) at the fork
    # A multiprocessing child (fork start method) leaves through os._exit(), skipping atexit, after
    # running multiprocessing's own finalizers: flush there. ``Process._bootstrap`` clears the
    # finalizers it inherited and then runs the after-fork callbacks, so the finalizer is registered
    # from one of those, in the child.
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        try:
            mp_util.register_after_fork(_FORK_TOKEN, _register_multiprocessing_finalizer)
        except Exception as exc:  # pragma: no cover - never break the child
            logger.debug("llm_monitor_sdk: could not hook multiprocessing's exit: %r", exc)


def _register_multiprocessing_finalizer(_token: object) -> None:
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        # Runs in multiprocessing.util._exit_function, before the child's os._exit().
        mp_util.Finalize(None, _shutdown_at_exit, exitpriority=100)


def _install_signal_handlers() -> None:
    """Flush on SIGTERM/SIGHUP, for signals whose handler is still the default one (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _STOP_SIGNALS:
        try:
            current = signal.getsignal(signum)
            if current is signal.SIG_DFL:
                signal.signal(signum, _on_stop_signal)
                _installed_handlers[signum] = _on_stop_signal
        except (OSError, ValueError, RuntimeError):  # pragma: no cover - embedded interpreters
            continue


def _restore_signal_handlers() -> None:
    """Put the default handlers back where ours are still installed (``uninstrument()``)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in list(_installed_handlers):
        try:
            if signal.getsignal(signum) is _on_stop_signal:
                signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):  # pragma: no cover
            pass
        _installed_handlers.pop(signum, None)


def _on_stop_signal(signum: int, frame: Any) -> None:
    """Shut down within the bound, then end the process the way the signal's default would."""
    try:
        monitor = _runtime.active
        if monitor is not None:
            # On a thread of its own: the signal may have interrupted the main thread inside a lock
            # that the shutdown needs (a budget reservation); the bound holds either way.
            bound = float(monitor.settings.shutdown_timeout)
            worker = threading.Thread(target=_shutdown_at_exit, name="llm-monitor-signal-flush", daemon=True)
            worker.start()
            worker.join(bound + 0.5)
    finally:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def stats() -> dict[str, Any]:
    """Aggregates since ``instrument()``: counts by status, P50/P90/P99 latency and TTFT, tokens,
    cost, error rate, per-model breakdown, queue drops and per-exporter exported/failed counts."""
    monitor = _runtime.active or _last
    if monitor is None:
        return {
            "calls": 0,
            "by_status": {},
            "dropped": 0,
            "exporters": {},
            "internal_errors": internal_error_counts(),
        }
    return monitor.stats()


def alerts() -> list[dict[str, Any]]:
    """Alerts firing now, each the ``alert`` object of its ``kind="alert"`` record (empty without rules)."""
    monitor = _runtime.active
    return monitor.alerts() if monitor is not None else []


def get_monitor() -> Monitor | None:
    """The active monitor, if any."""
    monitor: Monitor | None = _runtime.active
    return monitor
