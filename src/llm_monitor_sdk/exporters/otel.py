"""``OTelExporter``: records as OpenTelemetry GenAI spans and metrics.

Spans keep the record's own ids and times: ``trace_id``, ``span_id`` and ``parent_span_id`` were fixed
when the call was made (from ``@observe`` or from the application's active OpenTelemetry span), so the
exported spans are children of the application's request span and parents of nothing they should
not be. The OpenTelemetry SDK's tracer always generates a fresh span id, so the exporter builds
finished ``ReadableSpan`` objects itself and hands them on, in one of two ways:

* **Application provider** (``OTelExporter()`` or ``OTelExporter(tracer_provider=...)``): each span
  goes to the SDK ``TracerProvider``'s span processors (``on_end``), exactly as a span ended by the
  application would, so it follows the application's processors, exporters and resource. ``None``
  means the global provider, looked up at each export: an application that configures OpenTelemetry
  after ``instrument()`` is still picked up. While no SDK provider is configured (the API's no-op or
  proxy provider) spans have nowhere to go: they are counted in ``spans_no_provider`` and a warning is
  logged once. Sampling is the record's: the application's sampler is not consulted.
* **Own OTLP pipeline** (:func:`build_otlp_exporter`, ``LLM_MONITOR_EXPORTERS=otlp``): each batch from
  the SDK's worker goes straight to an OTLP ``SpanExporter`` (``http/protobuf`` or ``grpc``, configured
  from the standard ``OTEL_EXPORTER_OTLP_*`` variables by :mod:`llm_monitor_sdk._otel_env`) with no
  second batching queue, so a burst cannot overflow a queue and lose spans; a failed export is counted
  in ``spans_failed``. ``OTEL_SDK_DISABLED=true`` turns the exporter off.

Metrics go through a ``Meter`` of the given (or global) ``MeterProvider``: the
``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage`` and
``gen_ai.client.operation.time_to_first_chunk`` histograms with the bucket boundaries the conventions
advise, the ``llm_monitor.client.cost`` counter (USD), and what the alert rules read in a fleet
(``llm-monitor alerts prometheus-rules``, ``docs/alerts.md``): the ``llm_monitor.client.calls``
counter (every call, with ``llm_monitor.status``, ``error.category`` and
``llm_monitor.content_filtered``), ``llm_monitor.evaluation.score`` / ``llm_monitor.evaluations``,
``llm_monitor.feedback.score`` / ``llm_monitor.feedback`` and ``llm_monitor.guardrail.checks``. Every
call metric also carries the low-cardinality context the rules group by (``llm_monitor.feature``,
``llm_monitor.prompt_name``, ``llm_monitor.variant``, ``llm_monitor.tenant_id``; never the user id)
and ``llm_monitor.judge=true`` on LLM-as-a-judge calls, so fleet rules can leave them out.

Only ``opentelemetry-api`` (a core dependency) is imported at module level; the SDK and the OTLP
exporter (the ``otel`` extra) are imported when first needed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from .. import _forksafe, _otel_env
from .._install import install_hint
from .._otel_env import OTLPConfig
from .._secrets import mask_text, mask_url
from .._version import __version__
from ..record import RecordDict
from ._base import DeliveryError
from ._otel_mapping import (
    DURATION_BUCKETS,
    TOKEN_BUCKETS,
    SpanData,
    error_type,
    metric_attributes,
    span_data,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("llm_monitor_sdk.exporters.otel")

_SCOPE = "llm_monitor_sdk"
_INSTALL_HINT = install_hint("otel")
#: Name of the cost counter (not a GenAI convention; ours).
COST_METRIC = "llm_monitor.client.cost"
#: The metric instruments, as ``(name, unit, kind)`` (kind: ``histogram`` or ``counter``);
#: ``llm_monitor_sdk.monitoring.prometheus`` derives the Prometheus names from this table.
DURATION_METRIC = "gen_ai.client.operation.duration"
TOKEN_METRIC = "gen_ai.client.token.usage"
TTFC_METRIC = "gen_ai.client.operation.time_to_first_chunk"
CALLS_METRIC = "llm_monitor.client.calls"
EVALUATION_SCORE_METRIC = "llm_monitor.evaluation.score"
EVALUATIONS_METRIC = "llm_monitor.evaluations"
FEEDBACK_SCORE_METRIC = "llm_monitor.feedback.score"
FEEDBACK_METRIC = "llm_monitor.feedback"
GUARDRAIL_METRIC = "llm_monitor.guardrail.checks"
METRIC_INSTRUMENTS: tuple[tuple[str, str, str], ...] = (
    (DURATION_METRIC, "s", "histogram"),
    (TOKEN_METRIC, "{token}", "histogram"),
    (TTFC_METRIC, "s", "histogram"),
    (COST_METRIC, "USD", "counter"),
    (CALLS_METRIC, "{call}", "counter"),
    (EVALUATION_SCORE_METRIC, "1", "histogram"),
    (EVALUATIONS_METRIC, "{evaluation}", "counter"),
    (FEEDBACK_SCORE_METRIC, "1", "histogram"),
    (FEEDBACK_METRIC, "{feedback}", "counter"),
    (GUARDRAIL_METRIC, "{check}", "counter"),
)
#: Record field -> metric attribute: the context alert rules group by (``by=``), when set.
DIMENSION_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("feature", "llm_monitor.feature"),
    ("prompt_name", "llm_monitor.prompt_name"),
    ("variant", "llm_monitor.variant"),
    ("tenant_id", "llm_monitor.tenant_id"),
)
_SCORE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)


def _require_sdk() -> None:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"OTelExporter needs the OpenTelemetry SDK: {_INSTALL_HINT}") from exc


class OTelExporter:
    """Exports records as GenAI spans (with exact ids, times and parents) and GenAI client metrics.

    Args:
        tracer_provider: an SDK ``TracerProvider``; None uses the global one at each export.
        meter_provider: a ``MeterProvider``; None uses the global one (the API's proxy forwards to
            a provider set later).
        capture_content: put messages on spans as ``gen_ai.input.messages``,
            ``gen_ai.output.messages`` and ``gen_ai.system_instructions`` (compact JSON strings).
        span_exporter: export spans directly through this ``SpanExporter`` (no span processor, no
            extra queue) instead of through a tracer provider.
        resource: the resource of spans sent through ``span_exporter`` (default: from ``OTEL_*``).
        max_export_batch: most spans per ``span_exporter.export`` call.
        owned_meter_provider: shut ``meter_provider`` down with the exporter (it was built for us).
        disabled: export nothing (records are counted in ``spans_disabled``); ``None`` means
            ``OTEL_SDK_DISABLED=true`` in the environment, as for the OpenTelemetry SDK itself.

    Raises:
        ValueError: the OpenTelemetry SDK (the ``otel`` extra) is not installed.
    """

    #: Key of this exporter in ``lm.stats()["exporters"]``.
    name = "otel"

    def __init__(
        self,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        *,
        capture_content: bool = True,
        span_exporter: SpanExporter | None = None,
        resource: Resource | None = None,
        max_export_batch: int = 512,
        owned_meter_provider: bool = False,
        disabled: bool | None = None,
    ) -> None:
        self._lock = threading.Lock()
        #: Spans inside a span-exporter call that has not returned (counted as undelivered at exit).
        self._in_flight = 0
        _forksafe.after_fork(self, OTelExporter._after_fork)
        self._counts = dict.fromkeys(
            ("spans_exported", "spans_failed", "spans_no_provider", "records_invalid", "spans_disabled"), 0
        )
        self._warned: set[str] = set()
        # OTEL_SDK_DISABLED=true switches OpenTelemetry off for the whole process: ours too.
        self.disabled = _otel_env.sdk_disabled(os.environ) if disabled is None else disabled
        if self.disabled:
            logger.info("llm-monitor: OpenTelemetry export is off (OTEL_SDK_DISABLED=true)")
            self.capture_content = capture_content
            self._span_exporter = None
            self._meter_provider = None
            self._tracer_provider = None
            self._owned_meter_provider = False
            return
        _require_sdk()
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self.capture_content = capture_content
        self._tracer_provider = tracer_provider
        self._span_exporter = span_exporter
        self._resource = resource if resource is not None else Resource.create()
        self._scope = InstrumentationScope(_SCOPE, __version__)
        self.max_export_batch = max(1, max_export_batch)
        self._meter_provider = meter_provider
        self._owned_meter_provider = owned_meter_provider
        provider = meter_provider if meter_provider is not None else metrics_api.get_meter_provider()
        meter = provider.get_meter(_SCOPE, __version__)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )
        self._ttfc = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._cost = meter.create_counter(COST_METRIC, unit="USD", description="Cost of GenAI calls in USD")
        self._calls = meter.create_counter(
            CALLS_METRIC,
            unit="{call}",
            description="GenAI calls by status, error category and content filtering",
        )
        self._eval_score = meter.create_histogram(
            EVALUATION_SCORE_METRIC,
            unit="1",
            description="Scores of online evaluations",
            explicit_bucket_boundaries_advisory=list(_SCORE_BUCKETS),
        )
        self._evals = meter.create_counter(
            EVALUATIONS_METRIC, unit="{evaluation}", description="Online evaluations by verdict"
        )
        self._feedback_score = meter.create_histogram(
            FEEDBACK_SCORE_METRIC,
            unit="1",
            description="Scores of human feedback",
            explicit_bucket_boundaries_advisory=list(_SCORE_BUCKETS),
        )
        self._feedback = meter.create_counter(
            FEEDBACK_METRIC, unit="{feedback}", description="Human feedback items by verdict"
        )
        self._guardrails = meter.create_counter(
            GUARDRAIL_METRIC, unit="{check}", description="Guardrail checks by outcome"
        )

    # ------------------------------------------------------------------ exporter protocol

    def export(self, records: Sequence[RecordDict]) -> None:
        """Turn a batch into spans and metric points and hand the spans on.

        Raises:
            DeliveryError: the direct OTLP export of some spans failed (they are counted too).
        """
        if self.disabled:
            self._count("spans_disabled", len(records))
            return
        spans: list[ReadableSpan] = []
        for record in records:
            try:
                data = span_data(record, capture_content=self.capture_content)
            except (ValueError, TypeError) as exc:
                self._count("records_invalid", 1)
                self._warn_once(
                    "invalid", "llm-monitor: record %s cannot become a span: %s", record.get("record_id"), exc
                )
                continue
            spans.append(self._readable_span(data))
            self._record_metrics(record, data.client)
        if spans:
            self._emit(spans)

    def force_flush(self, timeout: float = 5.0) -> bool:
        """Flush the span and metric pipelines this exporter writes to."""
        if self.disabled:
            return True
        millis = int(timeout * 1000)
        ok = True
        targets = [self._span_exporter or self._current_tracer_provider(), self._meter_provider]
        for target in targets:
            flush = getattr(target, "force_flush", None)
            if flush is not None:
                try:
                    ok = bool(flush(millis)) and ok
                except Exception as exc:
                    logger.debug("llm-monitor: force_flush failed: %s", mask_text(repr(exc)))
                    ok = False
        return ok

    def shutdown(self, timeout: float | None = None) -> None:
        """Flush; shut down what this exporter built (never the application's providers), within
        ``timeout`` seconds when given (the pipeline passes what is left of its shutdown bound)."""
        if self.disabled:
            return
        deadline = time.monotonic() + (5.0 if timeout is None else max(0.0, timeout))
        if self._span_exporter is not None:
            # First: this also stops the retries of an export still running on the worker.
            self._span_exporter.shutdown()
        self.force_flush(max(0.0, deadline - time.monotonic()))
        if self._owned_meter_provider and self._meter_provider is not None:
            millis = max(1, int((deadline - time.monotonic()) * 1000))
            self._meter_provider.shutdown(timeout_millis=millis)

    def _after_fork(self) -> None:
        # The parent's export in progress (and a lock its worker may have held) stay in the parent.
        self._lock = threading.Lock()
        self._in_flight = 0

    def undelivered(self) -> tuple[int, str] | None:
        """``(records, where)`` for spans the OTLP span exporter could not deliver (None when all were):
        those whose export failed, and those still in an export that has not returned (at exit, an
        endpoint that never answers holds them until the process is gone)."""
        with self._lock:
            failed = self._counts["spans_failed"] + self._in_flight
        if not failed:
            return None
        endpoint = getattr(self._span_exporter, "_endpoint", None)
        where = (
            f"OTLP endpoint {mask_url(endpoint)}" if isinstance(endpoint, str) else "the OTLP span exporter"
        )
        return failed, f"{where} (lost: OpenTelemetry exporters have no spool)"

    @property
    def stats(self) -> dict[str, int]:
        """``spans_exported`` (handed on), ``spans_failed`` (direct export failed),
        ``spans_no_provider`` (no SDK tracer provider configured), ``records_invalid`` (bad ids or times),
        ``spans_disabled`` (not exported because ``OTEL_SDK_DISABLED=true``)."""
        with self._lock:
            return dict(self._counts)

    # ------------------------------------------------------------------ spans

    def _readable_span(self, data: SpanData) -> ReadableSpan:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
        from opentelemetry.trace.status import Status, StatusCode

        flags = TraceFlags(TraceFlags.SAMPLED)
        context = SpanContext(data.trace_id, data.span_id, is_remote=False, trace_flags=flags)
        parent = (
            SpanContext(data.trace_id, data.parent_span_id, is_remote=False, trace_flags=flags)
            if data.parent_span_id is not None
            else None
        )
        status = Status(StatusCode.ERROR, data.status_message) if data.error else Status(StatusCode.UNSET)
        return ReadableSpan(
            name=data.name,
            context=context,
            parent=parent,
            resource=self._resource_for_span(),
            # Read-only like a span the SDK ended; values are already valid (sequences as tuples), so
            # the SDK's per-value validation (a third of the cost) is skipped.
            attributes=MappingProxyType(data.attributes),
            kind=SpanKind.CLIENT if data.client else SpanKind.INTERNAL,
            status=status,
            start_time=data.start_ns,
            end_time=data.end_ns,
            instrumentation_scope=self._scope,
        )

    def _current_tracer_provider(self) -> Any:
        return self._tracer_provider if self._tracer_provider is not None else trace_api.get_tracer_provider()

    def _resource_for_span(self) -> Resource:
        if self._span_exporter is None:
            provider_resource = getattr(self._current_tracer_provider(), "resource", None)
            if provider_resource is not None:
                return provider_resource
        return self._resource

    def _emit(self, spans: list[ReadableSpan]) -> None:
        if self._span_exporter is not None:
            self._export_direct(spans)
            return
        processor = getattr(self._current_tracer_provider(), "_active_span_processor", None)
        if processor is None:
            self._count("spans_no_provider", len(spans))
            self._warn_once(
                "provider",
                "llm-monitor: no OpenTelemetry SDK TracerProvider is configured; "
                "%d spans dropped (configure one, or use LLM_MONITOR_EXPORTERS=otlp)",
                len(spans),
            )
            return
        for span in spans:
            processor.on_end(span)
        self._count("spans_exported", len(spans))

    def _export_direct(self, spans: list[ReadableSpan]) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        assert self._span_exporter is not None
        failed = 0
        for start in range(0, len(spans), self.max_export_batch):
            chunk = spans[start : start + self.max_export_batch]
            with self._lock:
                self._in_flight += len(chunk)
            try:
                result = self._span_exporter.export(chunk)
            except Exception as exc:
                logger.debug("llm-monitor: span exporter raised: %s", mask_text(repr(exc)))
                result = SpanExportResult.FAILURE
            finally:
                with self._lock:
                    self._in_flight -= len(chunk)
            if result is SpanExportResult.SUCCESS:
                self._count("spans_exported", len(chunk))
            else:
                failed += len(chunk)
        if failed:
            self._count("spans_failed", failed)
            raise DeliveryError(f"OTLP span export failed for {failed} of {len(spans)} spans")

    # ------------------------------------------------------------------ metrics

    def _record_metrics(self, record: RecordDict, client: bool) -> None:
        if client:
            self._record_call_metrics(record)
            return
        kind = record.get("kind")
        if kind in ("evaluation", "feedback"):
            self._record_verdict(record, kind)
        elif kind == "guardrail":
            item = record.get("guardrail")
            if isinstance(item, dict) and item.get("name"):
                attrs = _dimensions(record, {"llm_monitor.guardrail.name": str(item["name"])})
                if item.get("stage"):
                    attrs["llm_monitor.guardrail.stage"] = str(item["stage"])
                attrs["llm_monitor.guardrail.blocked"] = bool(item.get("blocked"))
                self._guardrails.add(1, attrs)

    def _record_verdict(self, record: RecordDict, kind: str) -> None:
        item = record.get("evaluation")
        if not isinstance(item, dict) or not item.get("name"):
            return
        prefix = "llm_monitor.evaluation."
        attrs = _dimensions(record, {prefix + "name": str(item["name"])})
        if item.get("source"):
            attrs[prefix + "source"] = str(item["source"])
        raw = item.get("score")
        score = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        passed = item.get("passed")
        if kind == "feedback" and not isinstance(passed, bool) and score is not None:
            passed = score >= 0.5  # a human score counts as passed from 0.5 up (contract)
        histogram, counter = (
            (self._eval_score, self._evals)
            if kind == "evaluation"
            else (self._feedback_score, self._feedback)
        )
        if score is not None:
            histogram.record(score, attrs)
        counter.add(1, {**attrs, prefix + "passed": passed} if isinstance(passed, bool) else attrs)

    def _record_call_metrics(self, record: RecordDict) -> None:
        from ..monitoring.classify import content_filtered, error_category, is_judge_call

        attrs = _dimensions(record, metric_attributes(record))
        if is_judge_call(record):
            attrs["llm_monitor.judge"] = True
        status = record.get("status") or "ok"
        call_attrs = {**attrs, "llm_monitor.status": status}
        category = error_category(record)
        if category is not None:
            call_attrs["error.category"] = category
        if content_filtered(record, category):
            call_attrs["llm_monitor.content_filtered"] = True
        self._calls.add(1, call_attrs)
        if status == "blocked":
            return  # the provider was never called: no operation to measure
        err = error_type(record)
        latency = record.get("latency_ms")
        if isinstance(latency, int | float):
            self._duration.record(latency / 1000.0, {**attrs, "error.type": err} if err else attrs)
        usage = record.get("usage") or {}
        for field, token_type in (("input_tokens", "input"), ("output_tokens", "output")):
            value = usage.get(field)
            if isinstance(value, int) and not isinstance(value, bool):
                self._tokens.record(value, {**attrs, "gen_ai.token.type": token_type})
        ttft = record.get("ttft_ms")
        if isinstance(ttft, int | float):
            self._ttfc.record(ttft / 1000.0, attrs)
        cost = record.get("cost_usd")
        if isinstance(cost, int | float) and cost > 0:
            self._cost.add(float(cost), attrs)

    # ------------------------------------------------------------------ helpers

    def _count(self, key: str, n: int) -> None:
        with self._lock:
            self._counts[key] += n

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        logger.warning(message, *args)


def _http_compression(name: str | None) -> Any:
    from opentelemetry.exporter.otlp.proto.http import Compression

    return {"gzip": Compression.Gzip, "deflate": Compression.Deflate}.get(
        name or "", Compression.NoCompression
    )


def _grpc_options(config: OTLPConfig) -> dict[str, Any]:
    """Keyword arguments shared by the gRPC span and metric exporters."""
    import grpc

    options: dict[str, Any] = {
        "endpoint": config.endpoint,
        "insecure": config.insecure,
        "headers": dict(config.headers),
        "timeout": config.timeout,
        "compression": {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}.get(
            config.compression or "", grpc.Compression.NoCompression
        ),
    }
    if not config.insecure and config.certificate:

        def read(path: str | None) -> bytes | None:
            if not path:
                return None
            with open(path, "rb") as handle:
                return handle.read()

        options["credentials"] = grpc.ssl_channel_credentials(
            root_certificates=read(config.certificate),
            private_key=read(config.client_key),
            certificate_chain=read(config.client_certificate),
        )
    return options


def _http_options(config: OTLPConfig) -> dict[str, Any]:
    """Keyword arguments shared by the OTLP/HTTP span and metric exporters."""
    return {
        "endpoint": config.endpoint,
        "certificate_file": config.certificate,
        "client_key_file": config.client_key,
        "client_certificate_file": config.client_certificate,
        "headers": dict(config.headers),
        "timeout": config.timeout,
        "compression": _http_compression(config.compression),
    }


def _check_protocol(config: OTLPConfig) -> None:
    if config.protocol == "http/json":
        signal = config.signal.upper()
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL / OTEL_EXPORTER_OTLP_{signal}_PROTOCOL is 'http/json', which the "
            "OpenTelemetry Python exporters do not implement: use 'http/protobuf' (the default) or 'grpc'"
        )


def otlp_span_exporter(config: OTLPConfig) -> SpanExporter:
    """An OTLP ``SpanExporter`` for ``config`` (OTLP/HTTP protobuf or gRPC).

    Raises:
        ValueError: the protocol is ``http/json``, or the exporter package it needs is not installed.
    """
    _check_protocol(config)
    if config.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GRPCSpanExporter,
            )
        except ImportError as exc:
            raise ValueError(f"OTLP over gRPC needs the gRPC exporter: {install_hint('otel-grpc')}") from exc
        return GRPCSpanExporter(**_grpc_options(config))
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ValueError(f"OTLP over HTTP needs the OTLP/HTTP exporter: {_INSTALL_HINT}") from exc

    return OTLPSpanExporter(**_http_options(config))


def otlp_metric_exporter(config: OTLPConfig) -> Any:
    """An OTLP ``MetricExporter`` for ``config`` (OTLP/HTTP protobuf or gRPC).

    Raises:
        ValueError: the protocol is ``http/json``, or the exporter package it needs is not installed.
    """
    _check_protocol(config)
    if config.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GRPCMetricExporter,
            )
        except ImportError as exc:
            raise ValueError(f"OTLP over gRPC needs the gRPC exporter: {install_hint('otel-grpc')}") from exc
        return GRPCMetricExporter(**_grpc_options(config))
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    except ImportError as exc:
        raise ValueError(f"OTLP over HTTP needs the OTLP/HTTP exporter: {_INSTALL_HINT}") from exc

    return OTLPMetricExporter(**_http_options(config))


def _dimensions(record: RecordDict, attrs: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` plus the record's low-cardinality context (the alert rules' ``by=`` dimensions)."""
    for field, attribute in DIMENSION_ATTRIBUTES:
        value = record.get(field)
        if value is not None and value != "":
            attrs[attribute] = str(value)
    return attrs


def build_otlp_exporter(
    *,
    capture_content: bool = True,
    service_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> OTelExporter:
    """The exporter behind ``LLM_MONITOR_EXPORTERS=otlp``.

    Uses the application's SDK ``TracerProvider``/``MeterProvider`` when it configured them;
    otherwise builds an OTLP span exporter (fed directly, batch by batch) and a periodic metric reader
    from the standard ``OTEL_EXPORTER_OTLP_*`` variables of ``environ`` (default ``os.environ``), read
    by :mod:`llm_monitor_sdk._otel_env` as the OpenTelemetry SDK reads them: per-signal variables over
    generic ones, ``grpc`` or ``http/protobuf``, the base-URL joining rule. The resource comes from
    ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` (``service_name``, when given, sets
    ``service.name``). With ``OTEL_SDK_DISABLED=true`` the exporter exports nothing.

    Raises:
        ValueError: the ``otel`` extra (or, for ``grpc``, the ``otel-grpc`` extra) is not installed, or
            the protocol is ``http/json``.
    """
    env = os.environ if environ is None else environ
    if _otel_env.sdk_disabled(env):
        return OTelExporter(capture_content=capture_content, disabled=True)
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError as exc:
        raise ValueError(
            f"LLM_MONITOR_EXPORTERS=otlp needs the OpenTelemetry SDK and OTLP exporter: {_INSTALL_HINT}"
        ) from exc

    global_meters = metrics_api.get_meter_provider()
    app_meters = global_meters if isinstance(global_meters, MeterProvider) else None
    global_tracers = trace_api.get_tracer_provider()
    app_tracers = isinstance(global_tracers, TracerProvider)
    resource = Resource.create(_otel_env.resource(env, service_name))
    # Both exporters are built before anything is started, so a bad setting leaves nothing behind.
    span_exporter = None if app_tracers else otlp_span_exporter(_otel_env.otlp_config(env, "traces"))
    if app_meters is None:
        try:
            metric_exporter = otlp_metric_exporter(_otel_env.otlp_config(env, "metrics"))
        except BaseException:
            if span_exporter is not None:
                span_exporter.shutdown()
            raise
        reader = PeriodicExportingMetricReader(metric_exporter)
        # Shut down by the exporter, within the SDK's bound (not by OpenTelemetry's own atexit hook).
        meter_provider: Any = MeterProvider(
            resource=resource, metric_readers=[reader], shutdown_on_exit=False
        )
    else:
        meter_provider = app_meters
    owned_meters = app_meters is None
    if span_exporter is None:
        return OTelExporter(
            None, meter_provider, capture_content=capture_content, owned_meter_provider=owned_meters
        )
    return OTelExporter(
        None,
        meter_provider,
        capture_content=capture_content,
        span_exporter=span_exporter,
        resource=resource,
        owned_meter_provider=owned_meters,
    )


__all__ = [
    "CALLS_METRIC",
    "COST_METRIC",
    "DIMENSION_ATTRIBUTES",
    "METRIC_INSTRUMENTS",
    "OTelExporter",
    "build_otlp_exporter",
    "otlp_metric_exporter",
    "otlp_span_exporter",
]
