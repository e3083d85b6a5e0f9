"""instrument() loads no tokenizer up front; a record that needs an estimate loads only its encoding.

Each scenario runs in a fresh interpreter so the encoding cache starts empty whatever other tests did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openai")

_SCRIPT = r"""
import json, sys, time
import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

usage, model, budgets = sys.argv[1] == "usage", sys.argv[2], sys.argv[3] or None
fake = FakeProvider(record_requests=False, usage=usage, text="Hello there, how are you today?")
client = fake.openai_client(in_process=True)
monitor = lm.instrument(exporters=[lm.exporters.InMemoryExporter()], budgets=budgets)
for _ in range(20):
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hello."}])
assert lm.flush(30)
time.sleep(1.0)  # give any background loader the time to run, so a preload would show
encodings = sys.modules.get("llm_monitor_sdk.tokens._encodings")
records = [r for e in monitor.exporters for r in getattr(e, "records", [])]
print(json.dumps({
    "loaded": sorted(encodings._loaded) if encodings is not None else [],
    "tiktoken": "tiktoken" in sys.modules,
    "usage": [r["usage"] for r in records if r.get("kind") == "llm_call"],
}))
lm.shutdown()
"""


def _run(tmp_path: Path, usage: str, model: str = "gpt-4o-mini", budgets: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_MONITOR_")}
    env["LLM_MONITOR_JSONL_PATH"] = str(tmp_path / "records.jsonl")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, usage, model, budgets],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_provider_reported_usage_loads_no_encoding(tmp_path: Path) -> None:
    result = _run(tmp_path, "usage")
    assert len(result["usage"]) == 20
    assert all(u["source"] == "provider" for u in result["usage"])
    assert result["loaded"] == []
    assert result["tiktoken"] is False  # not even the tokenizer library is imported


def test_record_without_usage_gets_an_estimate_from_its_encoding_only(tmp_path: Path) -> None:
    # gpt-4 counts with cl100k_base: only that encoding may be loaded, not o200k_base as well.
    result = _run(tmp_path, "no-usage", model="gpt-4")
    assert len(result["usage"]) == 20
    for usage in result["usage"]:
        assert usage["source"] == "estimated"
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert result["loaded"] == ["cl100k_base"]


def test_budgets_still_preload_the_encodings(tmp_path: Path) -> None:
    # Budgets count the request's tokens on the caller's thread, so instrument() loads them ahead.
    result = _run(tmp_path, "usage", budgets="global:daily=100")
    assert result["loaded"] == ["cl100k_base", "o200k_base"]
