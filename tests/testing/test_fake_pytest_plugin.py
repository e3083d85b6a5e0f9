"""The pytest plugin: the ``fake_provider`` fixture, its marker, and enabling it as users do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llm_monitor_sdk.testing import FakeProvider

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.fake_provider(text="from marker", chunks=3)
def test_marker_sets_default_knobs(fake_provider: FakeProvider) -> None:
    assert isinstance(fake_provider, FakeProvider)
    assert fake_provider.knobs.text == "from marker" and fake_provider.knobs.chunks == 3
    assert fake_provider.url.startswith("http://127.0.0.1:")


def test_fixture_defaults(fake_provider: FakeProvider) -> None:
    assert fake_provider.knobs.text == "Hello!" and fake_provider.request_count == 0


def test_users_enable_the_plugin_with_pytest_plugins(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["llm_monitor_sdk.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent("""
        import json, urllib.request
        import pytest

        @pytest.mark.fake_provider(text="user text")
        def test_it(fake_provider):
            req = urllib.request.Request(fake_provider.openai_base_url + "/chat/completions",
                                         data=b'{"model": "m"}', method="POST")
            with urllib.request.urlopen(req, timeout=5) as resp:
                assert json.load(resp)["choices"][0]["message"]["content"] == "user text"
            assert fake_provider.request_count == 1
    """)
    )
    # Autoloaded third-party plugins only slow the child down; ours comes from pytest_plugins.
    env = {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
