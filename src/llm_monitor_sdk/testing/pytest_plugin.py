"""pytest plugin: the ``fake_provider`` and ``llm_monitor_records`` fixtures.

Enable it with ``pytest_plugins = ["llm_monitor_sdk.testing.pytest_plugin"]`` in a ``conftest.py``.

* ``fake_provider``: a started :class:`FakeProvider` for one test. Default knobs come from
  ``@pytest.mark.fake_provider(text="...", chunks=5)``.
* ``llm_monitor_records``: ``instrument()`` for one test, exporting to memory; yields a
  :class:`RecordList` of the test's records that flushes the pipeline each time it is read. Keyword
  arguments of ``instrument()`` come from ``@pytest.mark.llm_monitor(redact=False, ...)``.
* ``llm_monitor_eval``: an :class:`EvalGate` that runs ``lm.evals.run`` and fails the test when a
  metric is below its threshold or significantly below a stored baseline run.
  ``pytest --llm-monitor-update-baselines`` writes the runs as the new baselines instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, SupportsIndex, overload

import pytest

from ._provider import FakeProvider

#: Seconds a read of :class:`RecordList` waits for the pipeline to export what is queued.
FLUSH_TIMEOUT = 5.0


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--llm-monitor-update-baselines``: the ``llm_monitor_eval`` fixture writes baselines."""
    parser.getgroup("llm-monitor").addoption(
        "--llm-monitor-update-baselines",
        action="store_true",
        default=False,
        help="llm_monitor_eval.check(...) writes each run to its baseline path instead of comparing",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_provider`` and ``llm_monitor`` markers."""
    config.addinivalue_line(
        "markers", "fake_provider(**knobs): default knobs for the fake_provider fixture in this test"
    )
    config.addinivalue_line(
        "markers",
        "llm_monitor(**settings): instrument() keyword arguments for the llm_monitor_records fixture",
    )


@pytest.fixture
def fake_provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A started :class:`FakeProvider` for one test, closed afterwards."""
    marker = request.node.get_closest_marker("fake_provider")
    knobs = dict(marker.kwargs) if marker else {}
    with FakeProvider(**knobs) as fake:
        yield fake


class RecordList(list):
    """The records exported during one test, as JSON-ready dicts, oldest first.

    A live list: every read (iteration, ``len``, indexing, ``in``, comparison, :attr:`calls` ...) first
    flushes the SDK's pipeline (up to :data:`FLUSH_TIMEOUT` seconds), so records of calls that just
    returned are there. Records are what an exporter receives: redacted unless the test asked for
    ``@pytest.mark.llm_monitor(redact=False)``.
    """

    def __init__(self, source: Callable[[], list[dict[str, Any]]], flush: Callable[[float], bool]) -> None:
        super().__init__()
        self._source = source
        self._flush = flush

    def refresh(self) -> RecordList:
        """Flush the pipeline and take in every record exported so far; returns ``self``."""
        self._flush(FLUSH_TIMEOUT)
        records = self._source()
        list.clear(self)
        list.extend(self, records)
        return self

    # Reading refreshes first ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        return list.__iter__(self.refresh())

    def __len__(self) -> int:
        return list.__len__(self.refresh())

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: Any) -> Any:
        return list.__getitem__(self.refresh(), index)

    def __contains__(self, item: object) -> bool:
        return list.__contains__(self.refresh(), item)

    def __eq__(self, other: object) -> bool:
        return list.__eq__(self.refresh(), other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None

    def __bool__(self) -> bool:
        return list.__len__(self.refresh()) > 0

    def __repr__(self) -> str:
        return f"RecordList({list.__repr__(self.refresh())})"

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Records of one ``kind`` (``llm_call``, ``span``, ``feedback``, ``evaluation`` ...)."""
        return [r for r in list.__iter__(self.refresh()) if r.get("kind") == kind]

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The ``kind="llm_call"`` records: one per provider request."""
        return self.of_kind("llm_call")

    @property
    def spans(self) -> list[dict[str, Any]]:
        """The ``kind="span"`` records (from ``@observe``)."""
        return self.of_kind("span")

    def clear(self) -> None:
        """Forget the records exported so far (later ones still arrive)."""
        self._flush(FLUSH_TIMEOUT)
        self._clear_source()
        list.clear(self)

    def _clear_source(self) -> None:  # replaced by the fixture
        pass


@pytest.fixture
def llm_monitor_records(request: pytest.FixtureRequest) -> Iterator[RecordList]:
    """Instrument every installed provider for this test and yield its records (a :class:`RecordList`).

    Exports only to memory (no file, no network); other settings come from the environment and from
    ``@pytest.mark.llm_monitor(**instrument_kwargs)``. ``uninstrument()`` runs after the test.
    """
    import llm_monitor_sdk as lm

    marker = request.node.get_closest_marker("llm_monitor")
    settings: dict[str, Any] = {"flush_interval": 0.05}
    settings.update(marker.kwargs if marker else {})
    memory = lm.exporters.InMemoryExporter()
    extra = settings.pop("exporters", None)
    exporters: list[Any] = [memory]
    if extra is not None:
        exporters += list(extra) if isinstance(extra, list | tuple) else [extra]
    lm.instrument(exporters=exporters, **settings)

    def source() -> list[dict[str, Any]]:
        with memory._lock:
            return list(memory.records)

    records = RecordList(source, lm.flush)
    records._clear_source = memory.clear  # type: ignore[method-assign]
    try:
        yield records
    finally:
        lm.uninstrument()


class EvalGate:
    """The ``llm_monitor_eval`` fixture: eval runs as assertions (see :func:`lm.evals.check_run`).

    ``run(...)`` is :func:`lm.evals.run`; ``check(run, thresholds=..., baseline=PATH, ...)`` fails
    the test (``AssertionError`` listing every failed metric) when a metric is below its threshold or
    significantly worse than the baseline run stored at ``PATH``. With
    ``--llm-monitor-update-baselines`` (or when ``PATH`` does not exist yet and
    ``create_missing=True``) the run is written to ``PATH`` instead and only the thresholds apply.
    """

    def __init__(self, update_baselines: bool) -> None:
        self.update_baselines = update_baselines

    def run(self, dataset: Any, task: Callable[[Any], Any], **kwargs: Any) -> Any:
        """:func:`lm.evals.run` with the same arguments."""
        from ..evaluation.offline import run

        return run(dataset, task, **kwargs)

    def check(
        self,
        run: Any,
        *,
        thresholds: dict[str, float] | None = None,
        baseline: str | os.PathLike[str] | None = None,
        max_error_rate: float | None = None,
        alpha: float = 0.05,
        create_missing: bool = False,
    ) -> None:
        """Fail the test on a threshold or baseline regression (see :func:`lm.evals.assert_run`)."""
        from ..evaluation.gate import assert_run

        compare_to: Any = baseline
        if baseline is not None and (
            self.update_baselines or (create_missing and not os.path.exists(baseline))
        ):
            directory = os.path.dirname(os.fspath(baseline))
            if directory:
                os.makedirs(directory, exist_ok=True)
            run.write(baseline)
            compare_to = None
        assert_run(
            run, thresholds=thresholds, baseline=compare_to, max_error_rate=max_error_rate, alpha=alpha
        )


@pytest.fixture
def llm_monitor_eval(request: pytest.FixtureRequest) -> EvalGate:
    """An :class:`EvalGate` for one test (honours ``--llm-monitor-update-baselines``)."""
    return EvalGate(bool(request.config.getoption("--llm-monitor-update-baselines", default=False)))


__all__ = [
    "FLUSH_TIMEOUT",
    "EvalGate",
    "RecordList",
    "fake_provider",
    "llm_monitor_eval",
    "llm_monitor_records",
]
