"""Built-in exporters and the :class:`Exporter` protocol.

Any object with ``export(records)`` and ``shutdown()`` is an exporter. ``HTTPExporter`` and
``OTelExporter`` load on first use, so importing the SDK never needs their optional dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import DeliveryError, Exporter, RecordBatch
from .console import ConsoleExporter
from .jsonl import JSONLExporter
from .memory import InMemoryExporter

if TYPE_CHECKING:
    from ..config import Settings
    from .http import HTTPExporter
    from .otel import OTelExporter


def __getattr__(name: str) -> Any:
    if name == "HTTPExporter":
        from .http import HTTPExporter

        return HTTPExporter
    if name == "OTelExporter":
        from .otel import OTelExporter

        return OTelExporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _reason(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def build_exporters(settings: Settings) -> list[Any]:
    """The exporters named by ``LLM_MONITOR_EXPORTERS`` (or passed as objects), ready to use.

    Raises ``ValueError`` for a setup that cannot work (``http`` without a URL, ``otlp`` without the
    ``otel`` extra).
    """
    exporters: list[Any] = []
    for item in settings.exporters:
        if not isinstance(item, str):
            exporters.append(item)
        elif item == "none":
            continue
        elif item == "jsonl":
            jsonl = JSONLExporter(
                settings.jsonl_path, max_bytes=settings.jsonl_max_bytes, backups=settings.jsonl_backups
            )
            try:
                jsonl.check_path()
            except OSError as exc:
                raise ValueError(
                    f"LLM_MONITOR_JSONL_PATH={settings.jsonl_path!r}: records cannot be written there "
                    f"({_reason(exc)})"
                ) from None
            exporters.append(jsonl)
        elif item == "console":
            exporters.append(ConsoleExporter())
        elif item == "http":
            if not settings.http_url:
                raise ValueError("LLM_MONITOR_EXPORTERS includes 'http' but LLM_MONITOR_HTTP_URL is not set")
            from .http import HTTPExporter

            try:
                http = HTTPExporter(
                    settings.http_url,
                    settings.http_headers,
                    timeout=settings.http_timeout,
                    spool_dir=settings.spool_dir,
                    spool_max_bytes=settings.spool_max_bytes,
                )
            except OSError as exc:  # only the spool directory touches the disk here
                raise ValueError(
                    f"LLM_MONITOR_SPOOL_DIR={settings.spool_dir!r}: cannot be used as the spool directory "
                    f"({_reason(exc)})"
                ) from None
            exporters.append(http)
        elif item == "otlp":
            from .otel import build_otlp_exporter

            exporters.append(
                build_otlp_exporter(
                    capture_content=settings.capture_content, service_name=settings.service_name
                )
            )
        else:  # pragma: no cover - config validates names
            raise ValueError(f"LLM_MONITOR_EXPORTERS: unknown exporter {item!r}")
    return exporters


__all__ = [
    "ConsoleExporter",
    "DeliveryError",
    "Exporter",
    "HTTPExporter",
    "InMemoryExporter",
    "JSONLExporter",
    "OTelExporter",
    "RecordBatch",
    "build_exporters",
]
