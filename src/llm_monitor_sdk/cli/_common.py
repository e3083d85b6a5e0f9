"""What several commands share: the default records path, as configuration defines it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from ..config import DEFAULT_JSONL_PATH, jsonl_path_from_env


def default_path() -> str:
    """``LLM_MONITOR_JSONL_PATH``, else the default records file."""
    return jsonl_path_from_env()


def read_records(path: str) -> Iterator[dict[str, Any]]:
    """The JSON lines of one file; lines that are not JSON are skipped with a note on stderr."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                print(f"{path}:{number}: skipped a line that is not JSON", file=sys.stderr)


__all__ = ["DEFAULT_JSONL_PATH", "default_path", "read_records"]
