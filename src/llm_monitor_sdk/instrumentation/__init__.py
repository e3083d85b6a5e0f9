"""Provider instrumentation: one module per provider, one shared call lifecycle (``_call``, ``_stream``)."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from ._registry import Target, patch_targets, patched_keys, unpatch_all

#: Our provider names -> (the provider's distribution module, our adapter module).
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("openai", f"{__name__}.openai"),
    "anthropic": ("anthropic", f"{__name__}.anthropic"),
    "google_genai": ("google.genai", f"{__name__}.google_genai"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def instrument_providers(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Patch the named providers (all installed ones when ``names`` is None); return those patched.

    A provider named explicitly but not installed is a ``ValueError``; auto-discovery skips it.
    """
    explicit = names is not None
    wanted = list(PROVIDERS) if names is None else list(names)
    done: list[str] = []
    for name in wanted:
        if name not in PROVIDERS:
            raise ValueError(f"unknown provider {name!r}; expected one of {', '.join(PROVIDERS)}")
        package, adapter_module = PROVIDERS[name]
        if not _installed(package):
            if explicit:
                raise ValueError(
                    f"provider {name!r} is not installed (pip install {package.replace('.', '-')})"
                )
            continue
        try:
            module: Any = importlib.import_module(adapter_module)
        except ModuleNotFoundError as exc:
            if exc.name == adapter_module:
                continue  # this SDK build has no adapter for it yet
            raise
        patch_targets(name, module.targets())
        done.append(name)
    return done


__all__ = ["PROVIDERS", "Target", "instrument_providers", "patched_keys", "unpatch_all"]
