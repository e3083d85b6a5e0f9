"""The record schema: what a JSONL line, an HTTP batch item and an OpenTelemetry span are made from.

Internally the export worker builds records as plain JSON-ready dicts (fast to build, redact and
serialize once). These pydantic models are the typed, validated view of exactly the same shape:
``Record.model_validate(json.loads(line))`` reads any line the SDK writes. The field names are
fixed by the public contract; new fields may be added, none renamed.

The model classes load on first access (building them takes ~30 ms, and the SDK itself only needs
the dict shape), so importing this module for ``RecordDict`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._record_models import BudgetAlert, ErrorInfo, Message, MessagePart, Record, Usage

SCHEMA_VERSION = 1

RecordKind = Literal["llm_call", "span"]
Status = Literal["ok", "error", "blocked"]
UsageSource = Literal["provider", "estimated"]

#: The contract's ``provider`` values (OpenTelemetry ``gen_ai.provider.name``).
PROVIDERS = ("openai", "anthropic", "gcp.gemini", "gcp.vertex_ai", "azure.ai.openai")
#: The contract's ``operation`` values (OpenTelemetry ``gen_ai.operation.name``).
OPERATIONS = ("chat", "text_completion", "embeddings", "generate_content")

#: A record as exporters receive it: the JSON-ready dict form of :class:`Record`.
RecordDict = dict[str, Any]

_MODELS = frozenset({"BudgetAlert", "ErrorInfo", "Message", "MessagePart", "Record", "Usage"})


def __getattr__(name: str) -> Any:
    # PEP 562: build the pydantic models the first time one is asked for.
    if name in _MODELS:
        from . import _record_models

        value = getattr(_record_models, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OPERATIONS",
    "PROVIDERS",
    "SCHEMA_VERSION",
    "BudgetAlert",
    "ErrorInfo",
    "Message",
    "MessagePart",
    "Record",
    "RecordDict",
    "Usage",
]
