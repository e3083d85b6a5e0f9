"""PII and secret redaction: one choke point on the export worker, before any exporter.

Usage (the pipeline does this for every record)::

    from llm_monitor_sdk.redaction import RedactionConfig, build_redactor

    redactor = build_redactor(RedactionConfig(strategies={"EMAIL_ADDRESS": "hash"}))
    redactor.redact_record(record)  # in place; record["redactions"] == {"EMAIL_ADDRESS": 1, ...}

See ``docs/redaction.md`` for entity types, strategies and configuration.
"""

from ._base import Detector, RegexDetector, Span
from .config import (
    ALL_TYPES,
    BUILTIN_ENTITIES,
    RedactionConfig,
    parse_accelerator,
    parse_entities,
    parse_strategies,
)
from .engine import FAILED, FAILED_ENTITY, Redactor, build_redactor
from .strategies import STRATEGIES

__all__ = [
    "ALL_TYPES",
    "BUILTIN_ENTITIES",
    "FAILED",
    "FAILED_ENTITY",
    "STRATEGIES",
    "Detector",
    "RedactionConfig",
    "Redactor",
    "RegexDetector",
    "Span",
    "build_redactor",
    "parse_accelerator",
    "parse_entities",
    "parse_strategies",
]
