"""The HTML report: one self-contained file with every contract section, checked in headless Chromium
(every section rendered, charts drawn, no network request attempted, no console error)."""

from __future__ import annotations

import builtins
import os
import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from analysis_support import START, call, mixed_records, write_rotated
from chromium import chromium_path, inspect_page

from llm_monitor_sdk.analysis._extras import MissingExtraError
from llm_monitor_sdk.analysis.drift import report_drift
from llm_monitor_sdk.analysis.reader import expand_paths
from llm_monitor_sdk.analysis.summary import summarize
from llm_monitor_sdk.report.html import SECTIONS, render_html, write_html

CONTRACT_SECTIONS = (
    "summary",
    "latency",
    "errors",
    "cost",
    "tokens",
    "breakdown",
    "alerts",
    "evaluations",
    "drift",
    "prompts",
    "slowest",
)

needs_chromium = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"),
    reason="headless Chromium is not installed (CI installs Debian's chromium)",
)


def _report(base: Path, out: Path, **options: Any) -> tuple[dict[str, Any], int]:
    summary = summarize(base, **options)
    drift = report_drift(expand_paths(base), summary)
    return summary, write_html(out, summary, drift=drift)


def _check_in_chromium(page: Path) -> dict[str, Any]:
    found = inspect_page(page)
    assert found["done"], "the report's script never finished"
    assert found["errors"] == [] and found["console_errors"] == []
    # Nothing but the file itself was requested (no CDN, no fonts, no beacons).
    assert found["requests"] and all(
        url.startswith(("file://", "data:", "about:")) for url in found["requests"]
    ), found["requests"]
    assert [s["id"] for s in found["sections"]] == list(CONTRACT_SECTIONS)
    assert all(s["height"] > 40 and s["text"] > 10 for s in found["sections"])
    assert found["declared"] == len(found["charts"]) == found["drawn"]
    assert all(c["svg"] >= 1 and c["height"] > 100 and c["drawn"] >= 1 for c in found["charts"])
    assert found["width"] <= 1366, "the page is wider than a laptop screen"
    return found


def test_sections_are_the_contract_ids() -> None:
    assert SECTIONS == CONTRACT_SECTIONS


@needs_chromium
def test_a_large_report_renders_every_section_offline(tmp_path: Path) -> None:
    records = mixed_records(6000, seed=2, hours=7 * 24)
    base = write_rotated(tmp_path / "logs", records, parts=4, gzipped=1)
    page = tmp_path / "report.html"
    _, size = _report(base, page, targets=["latency_p99_ms<=3000"])
    text = page.read_text()
    for section in CONTRACT_SECTIONS:
        assert len(re.findall(f'<section id="{section}">', text)) == 1
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', text)
    found = _check_in_chromium(page)
    assert (
        found["declared"] >= 12
    )  # latency, histogram, errors, cost (5), tokens, alerts, evaluations (2), drift, prompts
    assert found["none"] == [] or set(found["none"]) <= {"drift"}
    assert size < 10 * 2**20


@needs_chromium
def test_a_ten_record_report_says_none_recorded_where_nothing_was(tmp_path: Path) -> None:
    rng = random.Random(1)
    records = [
        call(START + timedelta(seconds=7 * i), rng, latency_ms=float(100 + i), feature="chat")
        for i in range(10)
    ]
    base = write_rotated(tmp_path / "logs", records, parts=1, gzipped=0)
    page = tmp_path / "small.html"
    _report(base, page)
    found = _check_in_chromium(page)
    assert {"alerts", "evaluations", "prompts"} <= set(found["none"])
    text = page.read_text()
    assert (
        "No alerts recorded." in text
        and "No evaluations recorded." in text
        and "No feedback recorded." in text
    )


@needs_chromium
def test_hostile_text_is_escaped(tmp_path: Path) -> None:
    rng = random.Random(2)
    evil = '</script><script>console.error("pwned")</script><img src=x onerror=alert(1)>'
    records = [
        call(
            START + timedelta(minutes=i),
            rng,
            feature=evil,
            request_model=evil,
            response_model=evil,
            status="error",
            error={"type": evil, "message": evil, "status_code": 500},
        )
        for i in range(12)
    ]
    base = write_rotated(tmp_path / "logs", records, parts=1, gzipped=0)
    page = tmp_path / "evil.html"
    _report(base, page)
    assert evil not in page.read_text()
    found = _check_in_chromium(page)
    assert found["console_errors"] == []


def test_the_file_size_does_not_grow_with_the_number_of_records(tmp_path: Path) -> None:
    sizes = []
    for n in (10, 20000):
        base = write_rotated(tmp_path / f"logs{n}", mixed_records(n, seed=3, hours=72), parts=2, gzipped=1)
        _, size = _report(base, tmp_path / f"r{n}.html")
        sizes.append(size)
    assert sizes[1] < 10 * 2**20
    assert sizes[1] - sizes[0] < 2 * 2**20, sizes


def test_without_plotly_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_import = builtins.__import__

    def no_plotly(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("plotly"):
            raise ImportError("no plotly here")
        return real_import(name, *args, **kwargs)

    summary = summarize(write_rotated(tmp_path, mixed_records(20), parts=1, gzipped=0))
    monkeypatch.setattr(builtins, "__import__", no_plotly)
    for module in [m for m in list(__import__("sys").modules) if m.startswith("plotly")]:
        monkeypatch.delitem(__import__("sys").modules, module)
    with pytest.raises(MissingExtraError, match=r"pip install -e '\.\[report\]'"):
        render_html(summary)
