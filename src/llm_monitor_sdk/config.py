"""One settings object, built from keyword arguments over ``LLM_MONITOR_*`` environment variables.

This is the only module that reads the environment. Every variable is declared once in
:data:`VARIABLES` (name, type, default, meaning); the parsing, the error messages and the
configuration reference in ``docs/configuration.md`` all come from that table, so they cannot drift.
A malformed value raises ``ValueError`` naming the variable and the value.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from dataclasses import field as dataclass_field
from typing import Any

from ._secrets import mask_mapping_text, mask_url

logger = logging.getLogger("llm_monitor_sdk")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
EXPORTER_NAMES = ("jsonl", "console", "http", "otlp", "none")
#: Where records go when ``LLM_MONITOR_JSONL_PATH`` is not set (the CLI reads the same default).
DEFAULT_JSONL_PATH = "./llm-monitor/records.jsonl"
PROVIDER_NAMES = ("openai", "anthropic", "google_genai")


def parse_bool(text: str, variable: str) -> bool:
    """``true/false/1/0/yes/no/on/off`` (any case)."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{variable}={text!r} is not a boolean: use true or false")


def _number(text: str, variable: str, kind: type, minimum: float | None, maximum: float | None) -> Any:
    try:
        value = kind(text.strip())
    except (TypeError, ValueError):
        raise ValueError(f"{variable}={text!r} is not a valid {kind.__name__}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{variable}={text!r} must be a finite number")
    if minimum is not None and value < minimum:
        raise ValueError(f"{variable}={text!r} must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{variable}={text!r} must be <= {maximum}")
    return value


def parse_list(text: str, variable: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A comma-separated list; blank items are ignored; with ``allowed`` every item is checked."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if allowed is not None:
        for item in items:
            if item.lower() not in allowed:
                raise ValueError(
                    f"{variable}={text!r}: unknown value {item!r}; expected one of {', '.join(allowed)}"
                )
        items = tuple(item.lower() for item in items)
    return items


def parse_mapping(text: str, variable: str) -> dict[str, str]:
    """``k=v,k2=v2`` (values may contain ``=``; keys and values are stripped).

    The values are secrets (bearer tokens, API keys): an error shows the keys and masks every value.
    """
    result: dict[str, str] = {}
    items = text.split(",")
    for number, item in enumerate(items, 1):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                f"{variable}={mask_mapping_text(text)!r}: item {number} "
                f"({mask_mapping_text(item.strip())!r}) is not of the form key=value (values are not shown)"
            )
        result[key.strip()] = value.strip()
    return result


@dataclass(frozen=True)
class Variable:
    """One environment variable: where it goes in :class:`Settings` and how it is read."""

    name: str
    field: str
    default: str
    help: str
    parse: Callable[[str, str], Any] = dataclass_field(repr=False, default=lambda text, variable: text)


def _int(minimum: int | None = None, maximum: int | None = None) -> Callable[[str, str], int]:
    return lambda text, variable: _number(text, variable, int, minimum, maximum)


def _float(minimum: float | None = None, maximum: float | None = None) -> Callable[[str, str], float]:
    return lambda text, variable: _number(text, variable, float, minimum, maximum)


def _choice(*options: str) -> Callable[[str, str], str]:
    def parse(text: str, variable: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise ValueError(f"{variable}={text!r}: expected one of {', '.join(options)}")
        return value

    return parse


def _optional(text: str, variable: str) -> str | None:
    return text.strip() or None


def _redact_entities(text: str, variable: str) -> tuple[str, ...] | None:
    # The redaction package owns the entity names (and the ``-NAME`` exclusion form).
    from .redaction import parse_entities

    entities = parse_entities(text, variable)
    return tuple(sorted(entities)) if entities is not None else None


def _redact_strategy(text: str, variable: str) -> dict[str, str]:
    from .redaction import parse_strategies

    return parse_strategies(text, variable)


def _accelerator(text: str, variable: str) -> bool | None:
    from .redaction import parse_accelerator

    return parse_accelerator(text, variable)


def _store(text: str, variable: str) -> str:
    value = text.strip()
    if value == "memory" or value.startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
        if value.startswith("sqlite:///") and len(value) == len("sqlite:///"):
            raise ValueError(f"{variable}={text!r}: sqlite:/// needs a file path")
        return value
    raise ValueError(
        f"{variable}={mask_url(text)!r}: expected memory, sqlite:///path/to.db or redis://host:port/db"
    )


def _exporters(text: str, variable: str) -> tuple[str, ...]:
    names = parse_list(text, variable, EXPORTER_NAMES)
    if not names:
        raise ValueError(
            f"{variable}={text!r} names no exporter; use {', '.join(EXPORTER_NAMES[:-1])} or none "
            "(none exports nothing), or unset it for the default (jsonl)"
        )
    if "none" in names and len(names) > 1:
        raise ValueError(f"{variable}={text!r}: 'none' cannot be combined with other exporters")
    return names


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "LLM_MONITOR_DISABLED",
        "disabled",
        "false",
        "`true` turns everything off: `instrument()` is a no-op.",
        parse_bool,
    ),
    Variable(
        "LLM_MONITOR_EXPORTERS",
        "exporters",
        "jsonl",
        "Comma list of `jsonl`, `console`, `http`, `otlp`, `none`.",
        _exporters,
    ),
    Variable(
        "LLM_MONITOR_JSONL_PATH",
        "jsonl_path",
        DEFAULT_JSONL_PATH,
        "JSONL file (parent folders are created; file mode 0600).",
    ),
    Variable(
        "LLM_MONITOR_JSONL_MAX_BYTES",
        "jsonl_max_bytes",
        "104857600",
        "Rotate the JSONL file when it would grow past this many bytes (0: never rotate).",
        _int(0),
    ),
    Variable(
        "LLM_MONITOR_JSONL_BACKUPS",
        "jsonl_backups",
        "5",
        "How many rotated JSONL files (`records.jsonl.1` ...) to keep.",
        _int(0),
    ),
    Variable(
        "LLM_MONITOR_HTTP_URL", "http_url", "", "HTTP sink URL (needed by the `http` exporter).", _optional
    ),
    Variable(
        "LLM_MONITOR_HTTP_HEADERS", "http_headers", "", "HTTP sink headers as `k=v,k2=v2`.", parse_mapping
    ),
    Variable(
        "LLM_MONITOR_HTTP_TIMEOUT",
        "http_timeout",
        "10",
        "HTTP sink request timeout in seconds.",
        _float(0.001),
    ),
    Variable(
        "LLM_MONITOR_SPOOL_DIR",
        "spool_dir",
        "",
        "Folder where undeliverable HTTP batches are kept and replayed from (off when empty).",
        _optional,
    ),
    Variable(
        "LLM_MONITOR_SPOOL_MAX_BYTES",
        "spool_max_bytes",
        "268435456",
        "Spool size cap; the oldest batches are dropped (and counted) beyond it.",
        _int(0),
    ),
    Variable(
        "LLM_MONITOR_CAPTURE_CONTENT",
        "capture_content",
        "true",
        "`true`/`false`: record prompt and response text.",
        parse_bool,
    ),
    Variable("LLM_MONITOR_REDACT", "redact", "true", "`true`/`false`: PII and secret redaction.", parse_bool),
    Variable(
        "LLM_MONITOR_REDACT_ENTITIES",
        "redact_entities",
        "",
        "Comma list of entity types to redact, or `-NAME,...` to exclude some (empty: all built-in types).",
        _redact_entities,
    ),
    Variable(
        "LLM_MONITOR_REDACT_STRATEGY",
        "redact_strategy",
        "",
        "Per-type strategy: `EMAIL_ADDRESS=hash,CREDIT_CARD=partial` (`mask`, `hash`, `partial`, `drop`; "
        "a bare strategy sets the default for every type).",
        _redact_strategy,
    ),
    Variable(
        "LLM_MONITOR_REDACT_KEY",
        "redact_key",
        "",
        "Key for the `hash` strategy (HMAC-SHA256); a random per-process key when empty.",
        _optional,
    ),
    Variable(
        "LLM_MONITOR_REDACT_USER_ID",
        "redact_user_id",
        "false",
        "`true`: export `user_id` as a keyed hash.",
        parse_bool,
    ),
    Variable(
        "LLM_MONITOR_REDACT_ACCELERATOR",
        "redact_accelerator",
        "auto",
        "`auto` uses the compiled redaction prefilter of the `fast` extra when it is installed, `on` "
        "requires it, `off` keeps the pure-Python path (same findings either way).",
        _accelerator,
    ),
    Variable(
        "LLM_MONITOR_SAMPLE_RATE",
        "sample_rate",
        "1.0",
        "0.0-1.0 of successful calls exported (errors and blocked calls always are).",
        _float(0.0, 1.0),
    ),
    Variable(
        "LLM_MONITOR_BUDGETS",
        "budgets",
        "",
        "Budget rules, e.g. `global:daily=100; user:daily=2:soft=0.5`.",
        _optional,
    ),
    Variable(
        "LLM_MONITOR_BUDGET_MODE",
        "budget_mode",
        "enforce",
        "`enforce` blocks calls over a hard limit; `warn` only alerts.",
        _choice("enforce", "warn"),
    ),
    Variable(
        "LLM_MONITOR_BUDGET_STORE",
        "budget_store",
        "memory",
        "`memory`, `sqlite:///path/to.db` or `redis://host:port/db`.",
        _store,
    ),
    Variable(
        "LLM_MONITOR_BUDGET_ON_STORE_ERROR",
        "budget_on_store_error",
        "open",
        "When the budget store is unreachable: `open` allows the call, `closed` blocks it.",
        _choice("open", "closed"),
    ),
    Variable(
        "LLM_MONITOR_BUDGET_RESERVATION_TTL",
        "budget_reservation_ttl",
        "600",
        "Seconds after which an unsettled reservation stops holding budget.",
        _float(1.0),
    ),
    Variable(
        "LLM_MONITOR_BUDGET_DEFAULT_MAX_TOKENS",
        "budget_default_max_tokens",
        "4096",
        "Output tokens assumed for the worst-case cost when a request sets no maximum.",
        _int(1),
    ),
    Variable(
        "LLM_MONITOR_PRICES_FILE",
        "prices_file",
        "",
        "JSON file of per-model prices that override the bundled ones.",
        _optional,
    ),
    Variable(
        "LLM_MONITOR_SERVICE_NAME",
        "service_name",
        "",
        "`service_name` of every record (default: `OTEL_SERVICE_NAME`, else `service.name` in "
        "`OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service`).",
        _optional,
    ),
    Variable(
        "LLM_MONITOR_STREAM_USAGE",
        "stream_usage",
        "true",
        "`true`: add `stream_options.include_usage` to OpenAI streams that did not ask for usage.",
        parse_bool,
    ),
    Variable(
        "LLM_MONITOR_QUEUE_SIZE",
        "queue_size",
        "200000",
        "Records the export queue holds before new ones are dropped (and counted).",
        _int(1),
    ),
    Variable("LLM_MONITOR_BATCH_SIZE", "batch_size", "512", "Records per export batch.", _int(1)),
    Variable(
        "LLM_MONITOR_FLUSH_INTERVAL",
        "flush_interval",
        "1.0",
        "Seconds the worker waits before exporting a partial batch.",
        _float(0.001),
    ),
    Variable(
        "LLM_MONITOR_SHUTDOWN_TIMEOUT",
        "shutdown_timeout",
        "2",
        "Seconds that exit, `shutdown()` and `uninstrument()` may take in total; what is left goes to the "
        "spool (or is counted as lost, with one WARNING).",
        _float(0.0),
    ),
    Variable(
        "LLM_MONITOR_MAX_CONTENT_CHARS",
        "max_content_chars",
        "100000",
        "Longest text part kept in a record; longer parts are truncated with a marker and counted "
        "(0: no limit).",
        _int(0),
    ),
    Variable(
        "LLM_MONITOR_ALERTS",
        "alerts",
        "",
        "Alert rules, e.g. `error_rate>0.02 over 5m by=provider; latency_p99_ms>4000 over 5m` "
        "(grammar in `docs/alerts.md`).",
        _optional,
    ),
    Variable(
        "LLM_MONITOR_ALERT_WEBHOOK",
        "alert_webhook",
        "",
        'URL that gets a JSON POST (`{"text": ..., "alert": ...}`) on every alert firing and resolution.',
        _optional,
    ),
    Variable(
        "LLM_MONITOR_EVALUATORS",
        "evaluators",
        "",
        "Comma list of built-in evaluators, each `NAME` or `NAME:SAMPLE_RATE` (see `docs/evaluation.md`).",
        _optional,
    ),
)

#: Variables read outside :class:`Settings`: the ``llm-monitor run`` bootstrap reads these itself (it may
#: use only the standard library before the program starts). Listed so they are documented and known.
BOOTSTRAP_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "LLM_MONITOR_RUN_EAGER",
        "",
        "false",
        "`llm-monitor run`: `true` calls `instrument()` at interpreter start rather than when the "
        "program first imports a provider SDK.",
        parse_bool,
    ),
    Variable(
        "LLM_MONITOR_BOOTSTRAP_DEBUG",
        "",
        "false",
        "`llm-monitor run`: `true` prints the bootstrap's messages in subprocesses too.",
        parse_bool,
    ),
    Variable(
        "LLM_MONITOR_RUN_PID",
        "",
        "",
        "Set by `llm-monitor run` for its own use (the pid of the process it started); do not set it.",
    ),
)

_BY_FIELD = {variable.field: variable for variable in VARIABLES}


@dataclass(frozen=True)
class Settings:
    """Every setting of the SDK, already validated. Build it with :func:`load_settings`."""

    disabled: bool = False
    exporters: tuple[Any, ...] = ("jsonl",)
    jsonl_path: str = DEFAULT_JSONL_PATH
    jsonl_max_bytes: int = 104_857_600
    jsonl_backups: int = 5
    http_url: str | None = None
    http_headers: dict[str, str] = dataclass_field(default_factory=dict)
    http_timeout: float = 10.0
    spool_dir: str | None = None
    spool_max_bytes: int = 268_435_456
    capture_content: bool = True
    redact: Any = True
    redact_entities: tuple[str, ...] | None = None
    redact_strategy: dict[str, str] = dataclass_field(default_factory=dict)
    redact_key: str | None = None
    redact_user_id: bool = False
    redact_accelerator: bool | None = None
    sample_rate: float = 1.0
    budgets: Any = None
    budget_mode: str = "enforce"
    budget_store: str = "memory"
    budget_on_store_error: str = "open"
    budget_reservation_ttl: float = 600.0
    budget_default_max_tokens: int = 4096
    prices_file: str | None = None
    service_name: str | None = None
    #: ``OTEL_RESOURCE_ATTRIBUTES`` (read from the environment, not settable): the ``resource`` field of
    #: every record when set.
    resource: dict[str, str] = dataclass_field(default_factory=dict)
    stream_usage: bool = True
    queue_size: int = 200_000
    batch_size: int = 512
    flush_interval: float = 1.0
    shutdown_timeout: float = 2.0
    max_content_chars: int = 100_000
    #: Alert rules: the ``LLM_MONITOR_ALERTS`` text or a list of parsed rules (``instrument(alerts=...)``).
    alerts: Any = None
    alert_webhook: str | None = None
    #: Evaluators: the ``LLM_MONITOR_EVALUATORS`` text, or names and evaluator objects from code.
    evaluators: Any = None
    # Only settable from code: a callable receiving each soft budget alert dict.
    on_budget_alert: Callable[[dict[str, Any]], None] | None = None
    # Only settable from code: a callable receiving each alert firing and resolution.
    on_alert: Callable[[dict[str, Any]], None] | None = None

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)


_CODE_ONLY = {"on_budget_alert", "on_alert"}
SETTING_NAMES = frozenset(f.name for f in fields(Settings))


def _validate_override(name: str, value: Any) -> Any:
    """Keyword arguments go through the same parser as the environment when they are strings."""
    variable = _BY_FIELD.get(name)
    if variable is None:
        return value
    if isinstance(value, str):
        return variable.parse(value, f"{name} (keyword argument)")
    if name == "exporters":
        items = (value,) if not isinstance(value, list | tuple) else tuple(value)
        for item in items:
            if isinstance(item, str):
                _exporters(item, "exporters (keyword argument)")
            elif not (callable(getattr(item, "export", None)) and callable(getattr(item, "shutdown", None))):
                raise ValueError(
                    f"exporters: {item!r} is neither an exporter name nor an object with "
                    "export(records) and shutdown()"
                )
        return items
    if isinstance(value, bool | int | float):
        # Numbers and booleans get the same range checks as the environment text (batch_size=0 would
        # make the worker spin, sample_rate=2 is meaningless); `redact=True` parses as a boolean too.
        return variable.parse(str(value), f"{name} (keyword argument)")
    return value


# Variables already warned about as unknown (one WARNING per name and process).
_warned_unknown: set[str] = set()


def _warn_unknown_variables(env: Mapping[str, str]) -> None:
    """One WARNING per ``LLM_MONITOR_*`` variable that is not a setting, naming the closest one."""
    known = {variable.name for variable in (*VARIABLES, *BOOTSTRAP_VARIABLES)}
    prefix = "LLM_MONITOR_"
    for name in env:
        if name in known or name in _warned_unknown or not name.upper().startswith(prefix):
            continue
        _warned_unknown.add(name)
        # Compare the parts after the shared prefix, or every name would look alike.
        tail = name.upper()[len(prefix) :]
        tails = {variable.name[len(prefix) :]: variable.name for variable in VARIABLES}
        close = difflib.get_close_matches(tail, list(tails), n=1, cutoff=0.6)
        hint = (
            f"did you mean {tails[close[0]]}?"
            if close
            else "no setting has a similar name (llm-monitor config --reference lists them)"
        )
        logger.warning(
            "environment variable %s is not an llm-monitor-sdk setting and is ignored; %s", name, hint
        )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``environ`` (default ``os.environ``) with keyword ``overrides`` on top.

    Raises ``ValueError`` naming the variable (or keyword) and the bad value. A misspelt
    ``LLM_MONITOR_*`` variable gets one WARNING naming it and the closest valid name.
    """
    env = os.environ if environ is None else environ
    _warn_unknown_variables(env)
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        raw = env.get(variable.name)
        text = variable.default if raw is None else raw
        values[variable.field] = variable.parse(text, variable.name)
    from . import _otel_env

    if not values["service_name"]:
        values["service_name"] = _otel_env.service_name(env) or "unknown_service"
    values["resource"] = _otel_env.resource_attributes(env)
    for name, value in overrides.items():
        if name not in SETTING_NAMES:
            raise ValueError(f"unknown setting {name!r}; known settings: {', '.join(sorted(SETTING_NAMES))}")
        if value is None and name not in _CODE_ONLY:
            continue
        values[name] = _validate_override(name, value)
    return Settings(**values)


def jsonl_path_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The JSONL path the environment configures (``LLM_MONITOR_JSONL_PATH``), else the default."""
    env = os.environ if environ is None else environ
    return env.get("LLM_MONITOR_JSONL_PATH") or DEFAULT_JSONL_PATH


def configuration_reference() -> str:
    """The Markdown table of every environment variable (``docs/configuration.md`` embeds it)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for variable in (*VARIABLES, *BOOTSTRAP_VARIABLES):
        default = f"`{variable.default}`" if variable.default else "(none)"
        lines.append(f"| `{variable.name}` | {default} | {variable.help} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "BOOTSTRAP_VARIABLES",
    "DEFAULT_JSONL_PATH",
    "VARIABLES",
    "Settings",
    "Variable",
    "configuration_reference",
    "jsonl_path_from_env",
    "load_settings",
]
