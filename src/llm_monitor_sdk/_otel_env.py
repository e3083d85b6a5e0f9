"""The standard ``OTEL_*`` environment variables, read as the OpenTelemetry specification and SDK do.

Pure functions over a mapping (``os.environ`` or a test's dict); this module imports nothing from
OpenTelemetry or from the rest of the SDK, so configuration code can call it cheaply.

What is covered, and the rules applied (OpenTelemetry specification: *SDK environment variables*,
*Resource SDK* and *OTLP exporter*; the Python SDK's documented behaviour where they differ):

* **Empty means unset**, for every variable.
* ``OTEL_SDK_DISABLED``: true only for the case-insensitive text ``true``; any other value is false
  (a value other than ``true``/``false`` logs a warning).
* ``OTEL_RESOURCE_ATTRIBUTES``: ``key1=value1,key2=value2``; keys and values are percent-decoded and
  stripped; values may contain ``=``. Any malformed item (no ``=``, an empty key, a bad percent escape)
  discards the **whole** variable, with a warning, as the specification asks.
* ``OTEL_SERVICE_NAME`` sets ``service.name`` and takes precedence over a ``service.name`` in
  ``OTEL_RESOURCE_ATTRIBUTES``.
* OTLP exporter options, each with a per-signal variable (``OTEL_EXPORTER_OTLP_TRACES_*``,
  ``OTEL_EXPORTER_OTLP_METRICS_*``) that wins over the generic one (``OTEL_EXPORTER_OTLP_*``):

  - ``PROTOCOL``: ``grpc``, ``http/protobuf`` (default) or ``http/json`` (case-insensitive; an
    unknown value logs a warning and is ignored).
  - ``ENDPOINT``: for OTLP/HTTP a per-signal URL is used as it is (only an empty path becomes ``/``);
    the generic URL is a base to which ``v1/traces`` or ``v1/metrics`` is appended after exactly one
    ``/``. Defaults ``http://localhost:4318/v1/<signal>``. For gRPC both are a target used as they
    are; default ``http://localhost:4317``.
  - ``HEADERS``: W3C-baggage-like ``k=v,k2=v2``, percent-decoded, names lower-cased; a malformed item
    is skipped with a warning. The per-signal variable replaces the generic one (no merging).
  - ``TIMEOUT``: seconds, as the OpenTelemetry **Python** SDK documents it (``10`` by default). The
    specification says milliseconds; the Python SDK, which the application's own exporters use, reads
    seconds, so this module does too and the same environment means the same timeout for both. A
    value that is not a non-negative number logs a warning and is ignored.
  - ``COMPRESSION``: ``gzip``, ``deflate`` (OTLP/HTTP only, as in the Python SDK) or ``none``.
  - ``CERTIFICATE``, ``CLIENT_KEY``, ``CLIENT_CERTIFICATE``: file paths, passed on.
  - ``INSECURE`` (gRPC only; also the obsolete ``OTEL_EXPORTER_OTLP_SPAN_INSECURE`` and
    ``OTEL_EXPORTER_OTLP_METRIC_INSECURE``): a boolean; ``http://`` and ``https://`` endpoints decide
    by their scheme instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

logger = logging.getLogger("llm_monitor_sdk.otel_env")

Signal = Literal["traces", "metrics"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics")
PROTOCOLS = ("grpc", "http/protobuf", "http/json")
DEFAULT_PROTOCOL = "http/protobuf"
DEFAULT_HTTP_BASE = "http://localhost:4318/"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
DEFAULT_TIMEOUT_S = 10.0
_COMPRESSIONS = ("gzip", "deflate", "none")
# The obsolete per-signal spellings of INSECURE that the specification asks SDKs to keep reading.
_OBSOLETE_INSECURE = {
    "traces": "OTEL_EXPORTER_OTLP_SPAN_INSECURE",
    "metrics": "OTEL_EXPORTER_OTLP_METRIC_INSECURE",
}
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_warned: set[tuple[str, str]] = set()


def _warn(variable: str, value: str, message: str) -> None:
    # Once per variable and value: configuration is read again on every instrument() call.
    key = (variable, value)
    if key not in _warned:
        _warned.add(key)
        logger.warning("llm-monitor: %s=%r %s", variable, value, message)


def get(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, ``None`` when it is unset or empty (the specification's rule)."""
    value = env.get(name)
    return value if value else None


def parse_bool(env: Mapping[str, str], name: str) -> bool:
    """An OpenTelemetry boolean: true only for ``true`` in any case; anything else is false."""
    value = get(env, name)
    if value is None:
        return False
    text = value.strip().lower()
    if text == "true":
        return True
    if text != "false":
        _warn(name, value, "is not true or false; read as false")
    return False


def sdk_disabled(env: Mapping[str, str]) -> bool:
    """``OTEL_SDK_DISABLED=true``: OpenTelemetry export (ours included) is switched off."""
    return parse_bool(env, "OTEL_SDK_DISABLED")


def _decode(text: str) -> str:
    if _BAD_PERCENT.search(text):
        raise ValueError(f"bad percent escape in {text!r}")
    return unquote(text, errors="strict")


def resource_attributes(env: Mapping[str, str]) -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES`` as a dict (``{}`` when unset or malformed), without ``OTEL_SERVICE_NAME``."""
    raw = get(env, "OTEL_RESOURCE_ATTRIBUTES")
    if raw is None:
        return {}
    attributes: dict[str, str] = {}
    try:
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            key = _decode(key).strip()
            if not sep or not key:
                raise ValueError(f"item {item.strip()!r} is not key=value")
            attributes[key] = _decode(value).strip()
    except (ValueError, UnicodeDecodeError) as exc:
        _warn("OTEL_RESOURCE_ATTRIBUTES", raw, f"is malformed ({exc}); the whole variable is ignored")
        return {}
    return attributes


def service_name(env: Mapping[str, str]) -> str | None:
    """The OpenTelemetry service name: ``OTEL_SERVICE_NAME``, else ``service.name`` of the resource
    attributes, else ``None``."""
    name = get(env, "OTEL_SERVICE_NAME")
    if name is not None and name.strip():
        return name.strip()
    return resource_attributes(env).get("service.name") or None


def resource(env: Mapping[str, str], service_name_override: str | None = None) -> dict[str, str]:
    """Resource attributes from the environment with ``service.name`` resolved.

    Precedence for ``service.name``: ``service_name_override`` (e.g. ``LLM_MONITOR_SERVICE_NAME``),
    then ``OTEL_SERVICE_NAME``, then ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``; absent when none
    is set (the OpenTelemetry SDK then supplies its default).
    """
    attributes = resource_attributes(env)
    name = service_name_override or service_name(env)
    if name:
        attributes["service.name"] = name
    return attributes


def parse_headers(raw: str | None, variable: str) -> dict[str, str]:
    """``k=v,k2=v2`` header text: percent-decoded, stripped, names lower-cased; bad items skipped."""
    headers: dict[str, str] = {}
    if not raw:
        return headers
    for item in raw.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            name, value = _decode(name).strip().lower(), _decode(value).strip()
        except (ValueError, UnicodeDecodeError):
            name, value = name.strip().lower(), value.strip()  # not encoded: taken literally
        if not sep or not name:
            _warn(variable, raw, f"has an item that is not name=value ({item.strip()!r}); it is skipped")
            continue
        headers[name] = value
    return headers


def _signal_var(signal: Signal, option: str) -> str:
    return f"OTEL_EXPORTER_OTLP_{signal.upper()}_{option}"


def _pick(env: Mapping[str, str], signal: Signal, option: str) -> tuple[str | None, str | None]:
    """(value, variable name) of the per-signal variable, else the generic one, else (None, None)."""
    for name in (_signal_var(signal, option), f"OTEL_EXPORTER_OTLP_{option}"):
        value = get(env, name)
        if value is not None:
            return value, name
    return None, None


def protocol(env: Mapping[str, str], signal: Signal) -> str:
    """The OTLP transport for ``signal``: ``grpc``, ``http/protobuf`` or ``http/json``."""
    for name in (_signal_var(signal, "PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = get(env, name)
        if value is None:
            continue
        text = value.strip().lower()
        if text in PROTOCOLS:
            return text
        _warn(name, value, f"is not one of {', '.join(PROTOCOLS)}; ignored")
    return DEFAULT_PROTOCOL


def http_endpoint(env: Mapping[str, str], signal: Signal) -> str:
    """The OTLP/HTTP URL for ``signal`` (see the module docstring for the joining rules)."""
    specific = get(env, _signal_var(signal, "ENDPOINT"))
    if specific is not None:
        specific = specific.strip()
        parts = urlsplit(specific)
        if parts.scheme and parts.netloc and not parts.path:
            return parts._replace(path="/").geturl()
        return specific
    base = (get(env, "OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_HTTP_BASE).strip()
    parts = urlsplit(base)
    if parts.scheme and parts.netloc:
        # The signal path joins the base URL's path after exactly one "/"; a query string stays a query.
        return parts._replace(path=parts.path.rstrip("/") + f"/v1/{signal}").geturl()
    return base.rstrip("/") + f"/v1/{signal}"


def grpc_endpoint(env: Mapping[str, str], signal: Signal) -> str:
    """The OTLP/gRPC target for ``signal``: the per-signal variable, the generic one, or the default."""
    value, _ = _pick(env, signal, "ENDPOINT")
    return value.strip() if value is not None else DEFAULT_GRPC_ENDPOINT


def timeout_seconds(env: Mapping[str, str], signal: Signal) -> float:
    """Seconds the exporter may wait for one export (the Python SDK's unit; see the module docstring)."""
    for name in (_signal_var(signal, "TIMEOUT"), "OTEL_EXPORTER_OTLP_TIMEOUT"):
        value = get(env, name)
        if value is None:
            continue
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = -1.0
        if seconds >= 0 and seconds != float("inf"):
            return seconds
        _warn(name, value, "is not a non-negative number of seconds; ignored")
    return DEFAULT_TIMEOUT_S


def compression(env: Mapping[str, str], signal: Signal) -> str | None:
    """``gzip``, ``deflate`` or ``none``; ``None`` when unset (the exporter's default: none)."""
    for name in (_signal_var(signal, "COMPRESSION"), "OTEL_EXPORTER_OTLP_COMPRESSION"):
        value = get(env, name)
        if value is None:
            continue
        text = value.strip().lower()
        if text in _COMPRESSIONS:
            return text
        _warn(name, value, f"is not one of {', '.join(_COMPRESSIONS)}; ignored")
    return None


def insecure(env: Mapping[str, str], signal: Signal) -> bool | None:
    """The gRPC ``INSECURE`` option, ``None`` when no variable sets it."""
    for name in (_signal_var(signal, "INSECURE"), _OBSOLETE_INSECURE[signal], "OTEL_EXPORTER_OTLP_INSECURE"):
        if get(env, name) is not None:
            return parse_bool(env, name)
    return None


@dataclass(frozen=True)
class OTLPConfig:
    """How to export one signal over OTLP, resolved from the environment."""

    signal: Signal
    protocol: str
    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT_S
    compression: str | None = None
    certificate: str | None = None
    client_key: str | None = None
    client_certificate: str | None = None
    #: gRPC only: whether the channel is plain text (from ``INSECURE`` or an ``http://`` endpoint).
    insecure: bool = False


def otlp_config(env: Mapping[str, str], signal: Signal) -> OTLPConfig:
    """Every OTLP exporter option for ``signal`` (``"traces"`` or ``"metrics"``) from ``env``."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown OTLP signal {signal!r}; expected one of {', '.join(SIGNALS)}")
    proto = protocol(env, signal)
    headers_raw, headers_var = _pick(env, signal, "HEADERS")
    if proto == "grpc":
        endpoint = grpc_endpoint(env, signal)
        scheme = urlsplit(endpoint).scheme.lower() if "://" in endpoint else ""
        if scheme == "https":
            plain = False
        elif scheme == "http":
            plain = True
        else:
            plain = bool(insecure(env, signal))
    else:
        endpoint, plain = http_endpoint(env, signal), False
    return OTLPConfig(
        signal=signal,
        protocol=proto,
        endpoint=endpoint,
        headers=parse_headers(headers_raw, headers_var or ""),
        timeout=timeout_seconds(env, signal),
        compression=compression(env, signal),
        certificate=_pick(env, signal, "CERTIFICATE")[0],
        client_key=_pick(env, signal, "CLIENT_KEY")[0],
        client_certificate=_pick(env, signal, "CLIENT_CERTIFICATE")[0],
        insecure=plain,
    )


__all__ = [
    "DEFAULT_PROTOCOL",
    "PROTOCOLS",
    "SIGNALS",
    "OTLPConfig",
    "compression",
    "get",
    "grpc_endpoint",
    "http_endpoint",
    "insecure",
    "otlp_config",
    "parse_bool",
    "parse_headers",
    "protocol",
    "resource",
    "resource_attributes",
    "sdk_disabled",
    "service_name",
    "timeout_seconds",
]
