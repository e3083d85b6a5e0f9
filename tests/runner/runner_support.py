"""Helpers for the ``llm-monitor run`` tests: run the real console script on small apps in a tmp folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

#: An app that makes one chat call per argument through a fake OpenAI API and never calls instrument().
APP = """
import sys
from llm_monitor_sdk.testing import FakeProvider

def main(words):
    with FakeProvider(text="reply") as fake:
        client = fake.openai_client()
        for word in words:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": word}])
            print("got", r.choices[0].message.content, flush=True)

if __name__ == "__main__":
    main(sys.argv[1:])
"""


def runner() -> list[str]:
    """The ``llm-monitor`` console script of this interpreter (``python -m`` when it is not installed)."""
    script = Path(sys.executable).with_name("llm-monitor")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "llm_monitor_sdk.cli"]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without LLM_MONITOR_*/OTEL_*, this venv first on PATH, records to tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_MONITOR_", "OTEL_"))}
    env["LLM_MONITOR_JSONL_PATH"] = str(tmp_path / "records.jsonl")
    env["LLM_MONITOR_FLUSH_INTERVAL"] = "0.05"
    env.pop("PYTHONPATH", None)
    # As in an activated virtual environment: "python" is this interpreter.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(extra)
    return env


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 60, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``llm-monitor run ARGS`` in ``tmp_path``."""
    return subprocess.run(
        [*runner(), "run", *args],
        cwd=tmp_path,
        env=env if env is not None else base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def records(tmp_path: Path, name: str = "records.jsonl") -> list[dict[str, Any]]:
    path = tmp_path / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def calls(tmp_path: Path, name: str = "records.jsonl") -> list[dict[str, Any]]:
    return [r for r in records(tmp_path, name) if r.get("kind") == "llm_call"]


def user_texts(call: dict[str, Any]) -> list[str]:
    return [
        part.get("content")
        for message in call.get("input_messages") or []
        for part in message.get("parts") or []
        if part.get("type") == "text"
    ]
