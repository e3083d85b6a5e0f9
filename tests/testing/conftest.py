"""Shared fixtures: the plugin's ``fake_provider`` and a server/in-process switch."""

from __future__ import annotations

import pytest

# Imported rather than listed in pytest_plugins, which only a rootdir conftest may use.
from llm_monitor_sdk.testing.pytest_plugin import fake_provider, pytest_configure  # noqa: F401


@pytest.fixture(params=["server", "in_process"])
def in_process(request: pytest.FixtureRequest) -> bool:
    """Run a test once over the socket server and once through the mock transport."""
    return request.param == "in_process"
