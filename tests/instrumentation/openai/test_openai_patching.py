"""Patching: every surface patched, idempotent, reversible to the exact originals, and coexisting with others."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
import wrapt
from oai_support import chat_kwargs

import llm_monitor_sdk as lm
from llm_monitor_sdk.instrumentation import openai as oai
from llm_monitor_sdk.instrumentation import patched_keys
from llm_monitor_sdk.testing import FakeProvider

_CHAT = "openai.resources.chat.completions.completions"


def _attributes() -> dict[str, Any]:
    """Every target's current class attribute, by key."""
    found = {}
    for target in oai.targets():
        owner: Any = importlib.import_module(target.module)
        *path, name = target.qualname.split(".")
        for part in path:
            owner = getattr(owner, part)
        if name in owner.__dict__:
            found[target.key] = owner.__dict__[name]
    return found


def test_every_surface_is_patched_sync_and_async(memory_exporter: lm.exporters.InMemoryExporter) -> None:
    lm.instrument(["openai"], exporters=[memory_exporter])
    keys = set(patched_keys())
    for cls in ("Completions", "AsyncCompletions"):
        for method in ("create", "parse", "stream"):
            assert f"{_CHAT}:{cls}.{method}" in keys
    for cls in ("Responses", "AsyncResponses"):
        for method in ("create", "parse", "stream"):
            assert f"openai.resources.responses.responses:{cls}.{method}" in keys
    assert "openai.resources.completions:AsyncCompletions.create" in keys
    assert "openai.resources.embeddings:Embeddings.create" in keys


def test_uninstrument_restores_the_exact_originals(memory_exporter: lm.exporters.InMemoryExporter) -> None:
    before = _attributes()
    assert len(before) == len(oai.targets()) == 18
    lm.instrument(["openai"], exporters=[memory_exporter])
    during = _attributes()
    assert all(during[key] is not before[key] for key in before)
    lm.instrument(["openai"], exporters=[memory_exporter])  # twice: nothing wrapped twice
    assert all(_attributes()[key] is during[key] for key in before)
    lm.uninstrument()
    after = _attributes()
    assert all(after[key] is before[key] for key in before)
    assert patched_keys() == []


async def test_instrument_twice_records_once(
    fake: FakeProvider, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False)
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False)
    client = fake.openai_client()
    client.chat.completions.create(**chat_kwargs())
    with client.chat.completions.stream(**chat_kwargs()) as stream:
        stream.until_done()
    assert lm.flush(5.0)
    assert [r["api"] for r in memory_exporter.calls] == [
        "chat.completions.create",
        "chat.completions.stream",
    ]


async def test_after_uninstrument_calls_are_not_recorded(
    fake: FakeProvider, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False)
    client = fake.openai_client()
    lm.uninstrument()
    result = client.chat.completions.create(**chat_kwargs(), stream=True)
    assert type(result).__name__ == "Stream"  # the SDK's own object, no proxy
    list(result)
    assert memory_exporter.records == []


@pytest.fixture
def foreign() -> Iterator[list[str]]:
    """Calls seen by another library's wrapper (see :func:`_wrap_foreign`); the original comes back after."""
    module = importlib.import_module(_CHAT)
    original = module.Completions.__dict__["create"]
    yield []
    lm.uninstrument()
    module.Completions.create = original


def _wrap_foreign(seen: list[str]) -> None:
    """Another library's wrapt wrapper around ``Completions.create``, appending to ``seen``."""
    module = importlib.import_module(_CHAT)

    def tracer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        seen.append("foreign")
        return wrapped(*args, **kwargs)

    wrapt.wrap_function_wrapper(module, "Completions.create", tracer)


@pytest.mark.parametrize("order", ["ours-first", "theirs-first"])
async def test_coexists_with_another_wrapt_instrumentation(
    order: str, foreign: list[str], fake: FakeProvider, memory_exporter: lm.exporters.InMemoryExporter
) -> None:
    if order == "theirs-first":
        _wrap_foreign(foreign)
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False)
    if order == "ours-first":
        _wrap_foreign(foreign)
    client = fake.openai_client()
    client.chat.completions.create(**chat_kwargs())
    assert lm.flush(5.0)
    assert foreign == ["foreign"] and len(memory_exporter.calls) == 1
    lm.uninstrument()  # ours goes (or is switched off under theirs); theirs keeps working
    client.chat.completions.create(**chat_kwargs())
    assert foreign == ["foreign", "foreign"]
    lm.instrument(["openai"], exporters=[memory_exporter], redact=False)  # back on, still only once
    client.chat.completions.create(**chat_kwargs())
    assert lm.flush(5.0)
    assert foreign == ["foreign"] * 3 and len(memory_exporter.calls) == 2
