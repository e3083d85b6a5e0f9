"""The worker's fast paths give exactly what the plain ones did; heavy modules load lazily."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime

from llm_monitor_sdk._records import iso
from llm_monitor_sdk.exporters import _base


def test_iso_matches_datetime_formatting() -> None:
    rng = random.Random(7)
    stamps = [rng.uniform(0, 4_000_000_000) for _ in range(20_000)]
    stamps += [1_700_000_000.9999996, 1_700_000_000.0000004, 1_700_000_000.0, 1_700_000_001.4999995]
    for ts in stamps:
        expected = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert iso(ts) == expected, ts


def test_encode_record_matches_the_standard_library() -> None:
    record = {
        "schema_version": 1,
        "kind": "llm_call",
        "latency_ms": 12.5,
        "cost_usd": 1.44e-05,
        "input_messages": [{"role": "user", "parts": [{"type": "text", "content": 'héllo ✓ "q" \n'}]}],
        "usage": {"input_tokens": 12, "output_tokens": None},
        "tags": ["a"],
        "partial": False,
        "big": 2**70,
        "metadata": {"nested": {"list": [1, 2.5, None, True]}},
    }
    fast = _base.encode_record(record)
    plain = _base._encode_stdlib(record)
    assert json.loads(fast) == json.loads(plain) == json.loads(json.dumps(record))
    assert b"\n" not in fast and fast.decode().startswith('{"schema_version":1,')


def test_heavy_modules_load_off_the_callers_path() -> None:
    script = (
        "import sys, llm_monitor_sdk as lm\n"
        "lm.instrument(exporters='none')\n"
        "print(sorted(m for m in ('llm_monitor_sdk._record_models', 'llm_monitor_sdk.redaction.detectors',"
        " 'llm_monitor_sdk.redaction.secrets', 'openai.resources.chat.completions.completions')"
        " if m in sys.modules))\n"
        "lm.Record  # first use loads the models\n"
        "print('llm_monitor_sdk._record_models' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    first, second = out.stdout.splitlines()
    assert first == "[]"
    assert second == "True"
