"""``instrument()``, ``uninstrument()``, ``flush()``, ``shutdown()``, ``stats()``: the module-level API."""

from __future__ import annotations

import atexit
import logging
import os
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
            _atexit_registered = True
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s", describe(monitor))
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


def shutdown(timeout: float = 5.0) -> bool:
    """Flush, then stop the export worker and the exporters (also runs at interpreter exit).

    Patched methods stay patched but stop recording until ``instrument()`` is called again.
    """
    with _lock:
        monitor = _runtime.active
        _runtime.active = None
        if monitor is None:
            return True
        return monitor.shutdown(timeout)


def _shutdown_at_exit() -> None:
    try:
        shutdown(5.0)
    except Exception:  # pragma: no cover - never fail interpreter exit
        logger.exception("llm_monitor_sdk shutdown at exit failed")


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
