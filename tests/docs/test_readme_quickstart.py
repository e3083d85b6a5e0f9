"""The README's quickstart prints what its comment says, run as a user would (against the fake provider)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from llm_monitor_sdk.testing import FakeProvider

README = Path(__file__).resolve().parents[2] / "README.md"


def _quickstart() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_quickstart_prints_one_call(tmp_path: Path) -> None:
    code = _quickstart()
    ast.parse(code)
    with FakeProvider(text="It ships tomorrow.") as fake:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LLM_MONITOR_")},
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": fake.openai_base_url,
            "LLM_MONITOR_JSONL_PATH": str(tmp_path / "records.jsonl"),
        }
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
    assert done.returncode == 0, done.stderr
    printed = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert printed["count"] == 1 and printed["p50"] > 0
    assert "jane.doe@example.com" not in (tmp_path / "records.jsonl").read_text()
