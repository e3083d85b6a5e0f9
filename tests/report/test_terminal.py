"""The terminal report: rich tables when rich is installed, plain text otherwise; --by groups it."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import pytest
from analysis_support import mixed_records, write_rotated

from llm_monitor_sdk.analysis.summary import summarize
from llm_monitor_sdk.report.terminal import render_terminal


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = write_rotated(tmp_path_factory.mktemp("t"), mixed_records(300, seed=4), parts=2, gzipped=1)
    return summarize(base, targets=["error_rate<0.5"])


def test_rich_tables(summary: dict[str, Any]) -> None:
    text = render_terminal(summary, by="feature", width=200)
    assert "by feature" in text and "summarize" in text and "ALL" in text
    assert f"{summary['calls']:,}" in text
    assert "SLO error_rate<0.5: met" in text
    assert "slowest calls" in text and summary["slowest"][0]["trace_id"] in text


def test_plain_text_without_rich(summary: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_rich(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("rich"):
            raise ImportError("no rich")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_rich)
    for module in [m for m in sys.modules if m.startswith("rich")]:
        monkeypatch.delitem(sys.modules, module)
    text = render_terminal(summary, by="user")
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("user "))
    assert "cost USD" in header
    top = summary["by"]["user"][0]
    assert any(line.startswith(str(top["key"])) and f"{top['cost_usd']:.6f}" in line for line in lines)
    by_model = render_terminal(summary, by="model")
    assert any(line.startswith("ALL") and f"{summary['calls']:,}" in line for line in by_model.splitlines())


def test_empty_summary_renders(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("")
    assert "0 records" in render_terminal(summarize(path))
