"""The running monitor: settings, pipeline, exporters, redaction, pricing, budgets and processors.

``instrument()`` builds one and makes it active. Patched methods reach it only through the
:class:`~llm_monitor_sdk.instrumentation._call.CallSink` protocol (``reserve``, ``settle``,
``submit``, ``stream_usage``). Its :meth:`Monitor.process` runs on the export worker and turns
finished calls, spans and submitted records into records::

    build (_records) -> estimate tokens when the provider gave none -> price -> settle budget
        -> content switch -> redact -> processors (metrics first; they may emit records)
        -> sampling -> one batch, serialized once, to every exporter

Exporters only ever see the redacted result.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import _clock, _forksafe
from ._convert import markers_written
from ._guard import guard, internal_error_counts, report_internal_error
from ._records import build_call_record, build_span_record, estimate_usage, has_output, iso, record_id
from ._version import __version__
from .analysis.fingerprint import prompt_fingerprint
from .config import Settings
from .context import _Span, new_span_id, new_trace_id, text_value
from .errors import BudgetExceededError
from .exporters import build_exporters
from .exporters._base import RecordBatch, unencodable_count
from .instrumentation._call import Call
from .metrics import Aggregates, MetricsProcessor
from .pipeline import Pipeline
from .processors import ProcessorHost, processor_name

if TYPE_CHECKING:
    from .budget import BudgetGuard
    from .pricing import PriceBook
    from .redaction import Redactor

_log = logging.getLogger("llm_monitor_sdk")

_CONTENT_FIELDS = ("system_instructions", "input_messages", "output_messages")
# Content fields that are dropped (not nulled) when capture is off.
_OPTIONAL_CONTENT = ("input", "output", "retrieval_sources", "reference")


def _build_redactor(settings: Settings) -> Redactor | None:
    from .redaction import RedactionConfig, build_redactor

    value = settings.redact
    if isinstance(value, bool):
        config = RedactionConfig(
            enabled=value,
            entities=set(settings.redact_entities) if settings.redact_entities else None,
            strategies=dict(settings.redact_strategy),
            key=settings.redact_key,
            hash_user_id=settings.redact_user_id,
            accelerator=settings.redact_accelerator,
        )
    else:
        config = RedactionConfig.coerce(value)
    if not config.enabled:
        return None
    return build_redactor(
        config,
        source={"entities": "LLM_MONITOR_REDACT_ENTITIES", "strategies": "LLM_MONITOR_REDACT_STRATEGY"},
    )


def _build_budget(settings: Settings) -> BudgetGuard | None:
    if not settings.budgets:
        return None
    from .budget import build_guard

    return build_guard(
        settings.budgets,
        store=settings.budget_store,
        mode=settings.budget_mode,
        on_alert=settings.on_budget_alert,
        on_store_error=settings.budget_on_store_error,
        reservation_ttl_s=settings.budget_reservation_ttl,
    )


def _import_shared_http_library() -> None:
    """Import ``httpx2`` here, on the caller's thread, when it is installed but not yet imported.

    The price table (``genai_prices``) imports ``httpx2``. Done on the preload thread, that import
    leaves a half-initialised ``httpx2`` in ``sys.modules`` for a while, and openai 2.x looks the
    module up there (without importing it) on every request: a call made in that window would fail
    with ``AttributeError: partially initialized module 'httpx2'``. A regular ``import`` elsewhere
    waits for the import to finish, so only this one module needs it. openai 3.x, anthropic 1.x+
    and google-genai 3.x import it themselves, so this usually costs nothing.
    """
    if "httpx2" in sys.modules:
        return
    import importlib.util

    if importlib.util.find_spec("httpx2") is not None:
        import httpx2  # noqa: F401


class _ProcessorEntry:
    """A processor and its error counter (only the export worker writes it)."""

    __slots__ = ("errors", "name", "processor", "tick")

    def __init__(self, processor: Any) -> None:
        if not callable(getattr(processor, "process", None)):
            raise ValueError(f"processors: {processor!r} has no process(record) method")
        self.processor = processor
        self.name = processor_name(processor)
        tick = getattr(processor, "tick", None)
        self.tick = tick if callable(tick) else None
        self.errors = 0


class Monitor:
    """What ``instrument()`` returns: the active configuration and its export pipeline."""

    def __init__(
        self,
        settings: Settings,
        *,
        providers: list[str] | None = None,
        processors: Sequence[Any] = (),
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        #: ``LLM_MONITOR_STREAM_USAGE`` (read by adapters through the call sink protocol).
        self.stream_usage = settings.stream_usage
        #: Wall-clock seconds for processors and timers (default: ``_clock.now``, which tests replace).
        self.clock: Callable[[], float] = clock if clock is not None else (lambda: _clock.now())
        self._processors: list[_ProcessorEntry] = []
        self._chain_lock = threading.Lock()
        _forksafe.after_fork(self, Monitor._after_fork_in_child)
        self._raw_processors: list[_ProcessorEntry] = []
        self._started_at = iso(time.time())
        self._unencodable_base = unencodable_count()
        self._unencodable = 0  # exported records that needed markers when built (worker only)
        self.providers: list[str] = providers or []
        self.disabled = settings.disabled
        self.aggregates = Aggregates()
        self._sample_rate = settings.sample_rate
        self._capture = settings.capture_content
        self._service_name = settings.service_name
        self._resource = settings.resource
        self._max_content_chars = settings.max_content_chars
        self.redactor: Redactor | None = None
        self.budget: BudgetGuard | None = None
        self.prices: PriceBook | None = None
        self.pipeline: Pipeline | None = None
        if self.disabled:
            return
        # Everything that can reject the configuration runs here, at instrument() time.
        from .pricing import PriceBook

        self.prices = PriceBook(settings.prices_file)
        self.redactor = _build_redactor(settings)
        self.budget = _build_budget(settings)
        try:
            # Processors first: they validate alert rules and evaluator lists, and open nothing yet.
            self._processors = [_ProcessorEntry(p) for p in self._build_processors(settings, processors)]
            exporters = build_exporters(settings)
        except BaseException:
            if self.budget is not None:  # don't leave a store connection behind a rejected configuration
                self.budget.close()
            raise
        # Processors that look at records before redaction (evaluators with raw=True).
        self._raw_processors = [
            e for e in self._processors if callable(getattr(e.processor, "before_redaction", None))
        ]
        self.pipeline = Pipeline(
            exporters,
            self.process,
            queue_size=settings.queue_size,
            batch_size=settings.batch_size,
            flush_interval=settings.flush_interval,
            tick=self.tick,
        )
        host = ProcessorHost(self.submit_record, self.clock)
        for entry in self._processors:
            start = getattr(entry.processor, "start", None)
            if callable(start):
                with guard(f"processor.{entry.name}.start"):
                    start(host)
        self._preload()

    def _after_fork_in_child(self) -> None:
        self._chain_lock = threading.Lock()

    def _build_processors(self, settings: Settings, extra: Sequence[Any]) -> list[Any]:
        """Metrics first, then the built-in monitoring and evaluation processors, then the user's.

        Raises ``ValueError`` for malformed alert rules or evaluator lists.
        """
        from .evaluation import build_processors as evaluation_processors
        from .monitoring import build_processors as monitoring_processors

        built: list[Any] = [MetricsProcessor(self.aggregates)]
        built.extend(monitoring_processors(settings))
        built.extend(evaluation_processors(settings))
        built.extend(extra)
        return built

    @property
    def processors(self) -> list[Any]:
        """The processors every finished record passes, in order."""
        return [entry.processor for entry in self._processors]

    def attach_processor(self, processor: Any) -> Callable[[], None]:
        """Add ``processor`` to the end of the chain while monitoring runs; returns the function that
        removes it again (offline evaluation runs use this to see their own calls' records).

        The processor sees records after redaction (``before_redaction`` hooks are not read here). The
        chain is replaced, not changed in place, so the export worker never sees a half-made list.
        """
        entry = _ProcessorEntry(processor)
        with self._chain_lock:
            self._processors = [*self._processors, entry]

        def detach() -> None:
            with self._chain_lock:
                self._processors = [e for e in self._processors if e is not entry]

        return detach

    def _preload(self) -> None:
        # Heavy tables load off the caller's thread. Even importing the token counter (tiktoken,
        # ~30 ms) happens on the daemon thread, and only when budgets are configured.
        with guard("monitor.preload"):
            _import_shared_http_library()
            threading.Thread(target=self._preload_tables, name="llm-monitor-preload", daemon=True).start()

    def _preload_tables(self) -> None:
        with guard("monitor.preload"), _forksafe.critical():
            if self.budget is not None:
                # Budgets count every request's tokens on the caller's thread (the worst case is
                # reserved before the call), so their encodings load now rather than in a call.
                # Without budgets nothing is loaded: an encoding (~50 MB each) is loaded on the
                # export worker by the first record that needs an estimate, and only that one.
                from . import tokens

                tokens.preload(background=True)
            if self.prices is not None:
                self.prices.preload(background=True)

    @property
    def exporters(self) -> list[Any]:
        """The exporters records go to."""
        return list(self.pipeline.exporters) if self.pipeline is not None else []

    # -- caller's thread: the call sink protocol -----------------------------------------------------
    def submit(self, call: Call, *, notify: bool = True) -> None:
        """Queue a finished call (never blocks, never raises)."""
        if self.pipeline is not None:
            self.pipeline.submit(call, notify=notify)

    def submit_span(self, span: _Span, t_end: float) -> None:
        """Queue a finished ``@observe`` span."""
        if self.pipeline is not None:
            self.pipeline.submit((span, t_end))

    def submit_record(self, record: dict[str, Any]) -> bool:
        """Queue a record built elsewhere (feedback, evaluation, guardrail) from any thread; never blocks.

        The worker fills missing common fields, redacts it, runs the processors and exports it.
        """
        if self.pipeline is None:
            return False
        return self.pipeline.submit(record)

    def reserve(self, call: Call) -> None:
        """Reserve the call's worst-case cost; raise :class:`BudgetExceededError` when a hard limit says no."""
        budget = self.budget
        if budget is None:
            return
        keys: dict[str, str | None] | None = None
        cost = 0.0
        with guard("budget.estimate"):
            cost = self._worst_case_cost(call)
            scope = call.scope
            keys = {
                "user": text_value(scope.user_id),
                "tenant": text_value(scope.tenant_id),
                "feature": text_value(scope.feature),
                "model": call.request.model if isinstance(call.request.model, str) else None,
            }
        if keys is None:
            return
        try:
            call.reservation = budget.reserve(keys, cost)
        except BudgetExceededError as exc:
            call.blocked = exc
            call.finish()
            raise
        except Exception as exc:
            report_internal_error("budget.reserve", exc)

    def _worst_case_cost(self, call: Call) -> float:
        from . import tokens

        request = call.request
        adapter = call.adapter
        model = request.model if isinstance(request.model, str) else None
        provider = adapter.provider_name(request)
        prices = self.prices.unit_prices(provider, model) if self.prices is not None else None
        if prices is None:
            return 0.0
        system, messages = call.input_messages()
        input_tokens = tokens.count_messages(
            [*((system and [{"role": "system", "parts": system}]) or []), *(messages or [])],
            provider=provider,
            model=model,
        )
        output_tokens = adapter.max_output_tokens(request) or self.settings.budget_default_max_tokens
        return input_tokens * prices.input + output_tokens * prices.output

    def settle(self, call: Call) -> None:
        """Build a budgeted call's record and settle its reservation (on the thread that finishes it)."""
        with guard("budget.settle_now"):
            record = build_call_record(call, self._max_content_chars)
            self._complete_call_record(call, record)
            call.record = record

    # -- export worker -------------------------------------------------------------------------------
    def process(self, items: list[Any]) -> RecordBatch:
        """Turn queued calls, spans and submitted records into finished, redacted records.

        Each record then passes the processors in order (metrics first); what they emit joins the
        batch right after it. ``llm_call`` records sampled out of export are processed but not exported.
        """
        batch = RecordBatch()
        counted: set[int] = set()
        for item in items:
            record = None
            markers = markers_written()
            with guard("monitor.record"):
                record = self._record_for(item)
            if record is None:
                continue
            marked = markers_written() != markers  # a value became a "<...>" marker while building
            extras = self._run_processors(record)
            if (
                record["kind"] == "llm_call"
                and record["status"] == "ok"
                and self._sample_rate < 1.0
                and random.random() >= self._sample_rate
            ):
                self.aggregates.sampled_out += 1
            else:
                batch.append(record)
                if marked:
                    self._unencodable += 1
                    counted.add(id(record))
            if extras:
                batch.extend(extras)
        if counted:
            batch.counted = counted
        return batch

    def _record_for(self, item: Any) -> dict[str, Any]:
        if isinstance(item, Call):
            record = item.record
            if record is None:
                record = build_call_record(item, self._max_content_chars)
                self._complete_call_record(item, record)
        elif isinstance(item, dict):
            record = self._complete_common(item)
        else:
            span, t_end = item
            record = build_span_record(span, t_end, self._max_content_chars)
        record["service_name"] = self._service_name
        record["sdk_version"] = __version__
        if self._resource:
            record["resource"] = dict(self._resource)
        if not self._capture:
            for name in _CONTENT_FIELDS:
                if name in record:
                    record[name] = None
            for name in _OPTIONAL_CONTENT:
                record.pop(name, None)
        for entry in self._raw_processors:
            try:
                entry.processor.before_redaction(record)
            except Exception as exc:
                entry.errors += 1
                report_internal_error(f"processor.{entry.name}.before_redaction", exc)
        if self.redactor is not None:
            try:
                self.redactor.redact_record(record)
            except Exception as exc:
                # Fail closed: a record we could not redact must not leave the process with raw text.
                report_internal_error("redaction", exc)
                for name in (*_CONTENT_FIELDS, *_OPTIONAL_CONTENT):
                    if record.get(name) is not None:
                        record[name] = None
                record["redactions"] = {"REDACTION_FAILED": 1}
        if self._capture and isinstance(item, Call):  # a submitted record keeps its own
            with guard("record.fingerprint"):
                record["prompt_fingerprint"] = prompt_fingerprint(record.get("system_instructions"))
        return record

    def _complete_call_record(self, call: Call, record: dict[str, Any]) -> None:
        provider = record["provider"]
        model = record.get("response_model") or record.get("request_model")
        sent = call.reached_provider()
        if record["usage"] is None and record["status"] != "blocked" and sent:
            estimate_usage(record, provider, model)
        usage = record["usage"]
        if usage is not None and self.prices is not None:
            with guard("pricing"):
                # Providers often answer with a dated or internal model name the price table does not
                # know: price by the response model when it is known, else by the request model.
                models = (record.get("response_model"), record.get("request_model"))
                record["priced_model"], record["cost_usd"] = self.prices.cost_for(provider, models, usage)
        reservation, call.reservation = call.reservation, None  # settle exactly once
        if reservation is not None and self.budget is not None:
            with guard("budget.settle"):
                if not sent or (record["status"] == "error" and not has_output(record)):
                    self.budget.release(reservation)
                else:
                    record["budget_alerts"] = self.budget.settle(reservation, record["cost_usd"]) or []

    def _run_processors(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        extras: list[dict[str, Any]] = []
        for entry in self._processors:
            try:
                emitted = entry.processor.process(record)
                if emitted:
                    for extra in emitted:
                        extras.append(self._complete_common(extra))
            except Exception as exc:
                entry.errors += 1
                report_internal_error(f"processor.{entry.name}", exc)
        return extras

    def tick(self) -> list[dict[str, Any]]:
        """Run every processor's ``tick(now)`` (at least once a second, on the export worker)."""
        extras: list[dict[str, Any]] = []
        now = self.clock()
        for entry in self._processors:
            tick = entry.tick
            if tick is None:
                continue
            try:
                emitted = tick(now)
                if emitted:
                    for extra in emitted:
                        extras.append(self._complete_common(extra))
            except Exception as exc:
                entry.errors += 1
                report_internal_error(f"processor.{entry.name}.tick", exc)
        return extras

    def _complete_common(self, record: dict[str, Any]) -> dict[str, Any]:
        """Fill the common fields a processor or a submitted record left out."""
        if not isinstance(record, dict):
            raise TypeError(f"a processor returned {type(record).__name__}, not a record dict")
        record.setdefault("schema_version", 1)
        record.setdefault("kind", "event")
        if not record.get("record_id"):
            record["record_id"] = record_id()
        if not record.get("trace_id"):
            record["trace_id"] = new_trace_id()
        if not record.get("span_id"):
            record["span_id"] = new_span_id()
        record.setdefault("parent_span_id", None)
        if not record.get("started_at"):
            record["started_at"] = iso(self.clock())
        if not record.get("ended_at"):
            record["ended_at"] = record["started_at"]
        record.setdefault("service_name", self._service_name)
        record.setdefault("sdk_version", __version__)
        return record

    # -- lifecycle and reporting ---------------------------------------------------------------------
    def flush(self, timeout: float = 5.0, *, quiet: bool = False) -> bool:
        """Wait until every queued record is exported (or the timeout passes), including the
        records processors still have in flight (evaluations being computed)."""
        if self.pipeline is None:
            return True
        deadline = time.monotonic() + timeout
        # Records queued so far reach the processors first; then processors with work of their own
        # (the evaluation pool) finish it and queue their results; then those are exported.
        done = self.pipeline.flush(timeout, quiet=quiet)
        for entry in self._processors:
            wait = getattr(entry.processor, "flush", None)
            if callable(wait):
                ok = False
                with guard(f"processor.{entry.name}.flush"):
                    ok = bool(wait(max(0.0, deadline - time.monotonic())))
                done = ok and done
        return self.pipeline.flush(max(0.0, deadline - time.monotonic()), quiet=quiet) and done

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush (evaluations in flight included), stop the worker and the exporters, then the
        processors (alerts raised by the last records still notify), then the budget store.

        All of it within ``timeout`` seconds (default ``LLM_MONITOR_SHUTDOWN_TIMEOUT``); what could not
        be delivered in time is spooled or counted, and one WARNING names how many records and where.
        """
        if timeout is None:
            timeout = self.settings.shutdown_timeout
        deadline = time.monotonic() + timeout
        ok = True
        if self.pipeline is not None:
            # Part of the budget for work in flight (the evaluation pool), the rest for the pipeline.
            ok = self.flush(timeout / 2, quiet=True)
            ok = self.pipeline.shutdown(max(0.0, deadline - time.monotonic())) and ok
            self._warn_undelivered(self.pipeline.undelivered())
        for entry in self._processors:
            stop = getattr(entry.processor, "shutdown", None)
            if callable(stop):
                with guard(f"processor.{entry.name}.shutdown"):
                    stop(max(0.0, deadline - time.monotonic()))
        if self.budget is not None:
            with guard("budget.close"):
                self.budget.close()
        return ok

    @staticmethod
    def _warn_undelivered(found: list[tuple[int, str]]) -> None:
        if not found:
            return
        total = sum(n for n, _ in found)
        where = "; ".join(f"{n} to {place}" for n, place in found)
        _log.warning("llm_monitor_sdk: %d records could not be delivered: %s", total, where)

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts firing now (``lm.alerts()``)."""
        from .monitoring import alert_processor

        processor = alert_processor(self.processors)
        return processor.firing() if processor is not None else []

    def stats(self) -> dict[str, Any]:
        """Aggregates, pipeline and exporter counters, budget, redaction and processor counters."""
        result = self.aggregates.summary()
        result["started_at"] = self._started_at
        if self.pipeline is not None:
            pipeline = self.pipeline.stats()
            result["queue"] = {
                "queued": pipeline["queued"],
                "dropped": pipeline["dropped"],
                "processed": pipeline["processed"],
                # Records written with "<...>" markers for values JSON cannot hold (issue 13.2).
                "unencodable": self._unencodable + unencodable_count() - self._unencodable_base,
            }
            result["dropped"] = pipeline["dropped"]
            result["exporters"] = pipeline["exporters"]
        else:
            result["queue"] = {"queued": 0, "dropped": 0, "processed": 0, "unencodable": 0}
            result["dropped"] = 0
            result["exporters"] = {}
        budget = dict(self.budget.stats) if self.budget is not None else {}
        budget.setdefault("blocked", result["by_status"].get("blocked", 0))
        result["budget"] = budget
        result["redaction"] = dict(self.redactor.stats) if self.redactor is not None else {}
        processors: dict[str, Any] = {}
        for entry in self._processors:
            processors[entry.name] = {"errors": entry.errors}
            extra = getattr(entry.processor, "stats", None)
            if callable(extra) and entry.name != "metrics":
                with guard(f"processor.{entry.name}.stats"):
                    result.update(extra())
        result["processors"] = processors
        result.setdefault("alerts_firing", 0)
        for key in ("evaluations", "feedback", "guardrails"):
            result.setdefault(key, {})
        result["internal_errors"] = internal_error_counts()
        result["providers"] = list(self.providers)
        return result


__all__ = ["Monitor"]
