"""``ConsoleExporter``: one readable line per record, for development."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..record import RecordDict


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "-"


def format_record(record: RecordDict) -> str:
    """``llm openai chat gpt-4o-mini ok 812.3ms ttft=201.0ms tok=12/3 $0.000012 user=alice``."""
    if record.get("kind") == "span":
        head = f"span {record.get('name')} {record.get('status')} {_num(record.get('latency_ms'), '.1f')}ms"
    else:
        usage = record.get("usage") or {}
        cost = record.get("cost_usd")
        head = (
            f"llm {record.get('provider')} {record.get('operation')} {record.get('request_model')} "
            f"{record.get('status')} {_num(record.get('latency_ms'), '.1f')}ms"
        )
        if record.get("ttft_ms") is not None:
            head += f" ttft={_num(record.get('ttft_ms'), '.1f')}ms"
        head += f" tok={usage.get('input_tokens', '-')}/{usage.get('output_tokens', '-')}"
        head += f" ${cost:.6f}" if isinstance(cost, int | float) else " $?"
        if record.get("partial"):
            head += " partial"
    for key in ("user_id", "tenant_id", "feature"):
        if record.get(key):
            head += f" {key.removesuffix('_id')}={record[key]}"
    error = record.get("error")
    if error:
        head += f" error={error.get('type')}: {str(error.get('message'))[:120]}"
    return head


class ConsoleExporter:
    """Print one line per record to ``stream`` (default ``sys.stderr``)."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def export(self, records: Sequence[RecordDict]) -> None:
        """Write the batch's lines and flush."""
        stream = self.stream or sys.stderr
        stream.write("".join(format_record(r) + "\n" for r in records))
        stream.flush()

    def shutdown(self) -> None:
        """Nothing to release."""
