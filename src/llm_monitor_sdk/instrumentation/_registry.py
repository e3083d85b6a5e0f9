"""Patch targets of every provider, applied idempotently and reversibly.

Each provider module lists its :class:`Target` objects. :func:`patch_provider` wraps each with wrapt
(a missing class or method, as in older provider versions, is skipped on its own, never fatal);
a module not imported yet is patched by an import hook the moment it is imported. Patching twice
never wraps twice. :func:`unpatch_all` puts back the exact original attribute; where another
library has wrapped on top of ours since, removing ours would remove theirs too, so ours is switched
off in place and switched back on by the next ``instrument()``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wrapt

from .._guard import guard
from ._call import Adapter
from ._wrapper import make_wrapper

logger = logging.getLogger(__name__.partition(".")[0])  # the SDK's logger


@dataclass(frozen=True)
class Target:
    """One method to patch: ``module`` + ``Class.method``, the adapter reading it, sync or async.

    ``wrapper_factory`` replaces the standard call wrapper (used for ``.stream()`` helper managers).
    """

    module: str
    qualname: str
    adapter: Adapter
    is_async: bool = False
    wrapper_factory: Callable[[Adapter, Callable[[], bool]], Callable[..., Any]] | None = None

    @property
    def key(self) -> str:
        return f"{self.module}:{self.qualname}"


@dataclass
class _Patch:
    target: Target
    owner: Any
    attribute: str
    original: Any
    installed: Any
    enabled: list[bool] = field(default_factory=lambda: [True])


_patches: dict[str, _Patch] = {}
_pending_hooks: set[str] = set()
_active_providers: dict[str, list[Target]] = {}


def _resolve(module: Any, qualname: str) -> tuple[Any, str]:
    owner = module
    *path, attribute = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attribute


def _apply(target: Target, module: Any) -> None:
    existing = _patches.get(target.key)
    try:
        owner, attribute = _resolve(module, target.qualname)
        current = owner.__dict__.get(attribute)
        if current is None:
            return  # not in this provider version
    except AttributeError:
        return
    if existing is not None:
        if existing.owner is owner and _contains(current, existing.installed):
            existing.enabled[0] = True  # still in place (maybe under a foreign wrapper): switch back on
            return
        _patches.pop(target.key, None)
    enabled = [True]
    factory = target.wrapper_factory
    wrapper = (
        factory(target.adapter, lambda: enabled[0])
        if factory is not None
        else make_wrapper(target.adapter, is_async=target.is_async, enabled=lambda: enabled[0])
    )
    installed = wrapt.FunctionWrapper(current, wrapper)
    setattr(owner, attribute, installed)
    _patches[target.key] = _Patch(target, owner, attribute, current, installed, enabled)


def _contains(attribute: Any, installed: Any) -> bool:
    """Whether ``installed`` is ``attribute`` or somewhere down its ``__wrapped__`` chain."""
    seen = 0
    while attribute is not None and seen < 32:
        if attribute is installed:
            return True
        attribute = getattr(attribute, "__wrapped__", None)
        seen += 1
    return False


def patch_targets(provider: str, targets: list[Target]) -> None:
    """Patch ``targets`` now for imported modules, and on import for the others."""
    _active_providers[provider] = targets
    for module_name in sorted({t.module for t in targets}):
        # Never import a provider module the application has not imported: the SDKs load their
        # resource modules lazily and importing them all would cost instrument() about a second.
        # The import hook patches each one the moment it is imported, before any client uses it.
        module = sys.modules.get(module_name)
        if module is not None:
            _patch_module(provider, module_name, module)
        elif module_name not in _pending_hooks:
            _pending_hooks.add(module_name)
            wrapt.register_post_import_hook(_on_import(provider, module_name), module_name)


def _on_import(provider: str, module_name: str) -> Callable[[Any], None]:
    def hook(module: Any) -> None:
        _pending_hooks.discard(module_name)
        if provider in _active_providers:  # uninstrumented before the import: leave it alone
            _patch_module(provider, module_name, module)

    return hook


def _patch_module(provider: str, module_name: str, module: Any) -> None:
    for target in _active_providers.get(provider, ()):
        if target.module != module_name:
            continue
        with guard(f"{provider}.patch"):
            _apply(target, module)


def unpatch_all() -> None:
    """Restore every original attribute (or switch ours off where a foreign wrapper sits on top)."""
    _active_providers.clear()
    for key, patch in list(_patches.items()):
        current = patch.owner.__dict__.get(patch.attribute)
        if current is patch.installed:
            setattr(patch.owner, patch.attribute, patch.original)
            del _patches[key]
        else:
            patch.enabled[0] = False
            logger.info(
                "%s is wrapped by another library on top of ours; switched ours off in place",
                key,
            )


def patched_keys() -> list[str]:
    """Targets currently patched and switched on (for tests and ``stats()``)."""
    return sorted(key for key, patch in _patches.items() if patch.enabled[0])


def original_of(key: str) -> Any:
    """The original attribute behind a patched target."""
    return _patches[key].original
