"""pytest plugin: the ``fake_provider`` fixture.

Enable it with ``pytest_plugins = ["llm_monitor_sdk.testing.pytest_plugin"]`` in a ``conftest.py``.
Default knobs for one test come from ``@pytest.mark.fake_provider(text="...", chunks=5)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._provider import FakeProvider


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_provider`` marker."""
    config.addinivalue_line(
        "markers", "fake_provider(**knobs): default knobs for the fake_provider fixture in this test"
    )


@pytest.fixture
def fake_provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A started :class:`FakeProvider` for one test, closed afterwards."""
    marker = request.node.get_closest_marker("fake_provider")
    knobs = dict(marker.kwargs) if marker else {}
    with FakeProvider(**knobs) as fake:
        yield fake
