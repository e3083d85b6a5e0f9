"""The public surface: CONTRACT.md's names, docstrings everywhere, the configuration doc in sync."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import exporters
from llm_monitor_sdk.config import configuration_reference

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_API = (
    "instrument",
    "uninstrument",
    "observe",
    "context",
    "flush",
    "shutdown",
    "stats",
    "BudgetExceededError",
    "exporters",
    "current_trace_id",
    "analysis",
    "feedback",
    "guardrail",
    "Evaluation",
    "evaluator",
    "evals",
    "alerts",
)
# Names of ours in ``lm`` beyond the contract's, listed explicitly so nothing becomes public by accident.
EXTRA_API = (
    "ContextThreadPoolExecutor",
    "ErrorInfo",
    "Monitor",
    "Record",
    "Usage",
    "__version__",
    "bind_context",
    "get_monitor",
)
CONTRACT_EXPORTERS = ("JSONLExporter", "ConsoleExporter", "HTTPExporter", "OTelExporter", "InMemoryExporter")


def test_contract_names_are_exported() -> None:
    for name in CONTRACT_API:
        assert name in lm.__all__, name
        assert getattr(lm, name) is not None
    for name in lm.__all__:
        assert hasattr(lm, name), name


def test_public_names_are_exactly_the_contracts_plus_the_listed_extras() -> None:
    assert sorted(lm.__all__) == sorted({*CONTRACT_API, *EXTRA_API})
    assert len(lm.__all__) == len(set(lm.__all__))


def test_exporters_module_has_every_builtin() -> None:
    for name in CONTRACT_EXPORTERS:
        assert name in exporters.__all__, name
        cls = getattr(lm.exporters, name)
        assert inspect.isclass(cls) and callable(cls.export) and callable(cls.shutdown)


def _public_objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for module_name, module in (("lm", lm), ("lm.exporters", exporters)):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, str):  # __version__
                continue
            found.append((f"{module_name}.{name}", obj))
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not (
                        inspect.isfunction(member) or isinstance(member, property)
                    ):
                        continue
                    found.append((f"{module_name}.{name}.{attr}", member))
    return found


@pytest.mark.parametrize(("name", "obj"), _public_objects(), ids=[n for n, _ in _public_objects()])
def test_every_public_name_has_a_docstring(name: str, obj: object) -> None:
    doc = obj.__doc__ if isinstance(obj, property) else inspect.getdoc(obj)
    assert doc and doc.strip(), f"{name} has no docstring"


def test_configuration_doc_embeds_the_generated_table() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    start, end = "<!-- config-table:start -->", "<!-- config-table:end -->"
    assert text.count(start) == 1 and text.count(end) == 1
    embedded = text.split(start, 1)[1].split(end, 1)[0]
    assert embedded.strip() == configuration_reference().strip()


def test_configuration_reference_lists_every_variable() -> None:
    from llm_monitor_sdk.config import BOOTSTRAP_VARIABLES, VARIABLES

    table = configuration_reference()
    for variable in (*VARIABLES, *BOOTSTRAP_VARIABLES):
        assert f"| `{variable.name}` |" in table
    assert len(table.strip().splitlines()) == len(VARIABLES) + len(BOOTSTRAP_VARIABLES) + 2
