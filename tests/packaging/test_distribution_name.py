"""The distribution name: one constant, the one in pyproject.toml, used by every install hint we own."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from llm_monitor_sdk._install import DISTRIBUTION, install_hint

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_uses_the_distribution_name():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "llm-monitor-kit"
    assert project["scripts"]["llm-monitor"] == "llm_monitor_sdk.cli:main"  # the command keeps its name
    assert {"otel", "otel-grpc"} <= set(project["optional-dependencies"])


def test_install_hint():
    assert (
        install_hint("otel")
        == "pip install -e '.[otel]' in a checkout, or pip install 'llm-monitor-kit[otel]'"
    )
    assert install_hint() == "pip install -e . in a checkout, or pip install llm-monitor-kit"


def test_no_doc_tells_users_to_install_the_unrelated_package():
    # `llm-monitor-sdk` on the public index is someone else's project.
    bad = re.compile(r"pip install [\"']?llm-monitor-sdk\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "docs").rglob("*.md"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bad.search(line) and "do not" not in line
    ]
    assert offenders == []
