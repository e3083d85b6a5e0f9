"""Fork safety: what the SDK's background threads hold must not stay held in a forked child.

``os.fork()`` copies only the thread that calls it. A lock that another SDK thread (the export
worker, the tokenizer and price preloads, the HTTP sender) held at that moment stays held in the child
forever, and the child's first call that needs it hangs; a one-time set-up it was in the middle of (a
lazy import, a native compile) is copied half done. Two tools:

* :func:`critical` marks a section that must not be cut in half by a fork: lazy imports and one-time
  set-ups (tokenizer tables, the redaction detectors, the Hyperscan database, the price data). A fork
  waits (at most :data:`FORK_WAIT_S` seconds) until no thread is inside one, and no thread enters one
  while the fork runs: the child never inherits a half-done import or set-up.
* :func:`after_fork` registers a function run in the child right after the fork with a weakly held
  object (fresh locks, forgotten threads); the object's death unregisters it.

Both rest on ``os.register_at_fork``, so they also cover ``multiprocessing`` with the ``fork`` start
method and ``subprocess`` implementations that fork.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

logger = logging.getLogger("llm_monitor_sdk")

T = TypeVar("T")

#: Longest time a fork waits for SDK threads to leave their critical sections.
FORK_WAIT_S = 5.0

_cond = threading.Condition(threading.Lock())
_active = 0
_holding = False  # the forking thread holds ``_cond`` across the fork
_hooks: list[tuple[weakref.ref[Any], Callable[[Any], None]]] = []
_hooks_lock = threading.Lock()


@contextmanager
def critical() -> Iterator[None]:
    """A section a fork must not cut in half (waits while a fork is in progress)."""
    global _active
    with _cond:
        _active += 1
    try:
        yield
    finally:
        with _cond:
            _active -= 1
            if _active == 0:
                _cond.notify_all()


def after_fork(obj: T, reinit: Callable[[T], None]) -> None:
    """Call ``reinit(obj)`` in every forked child while ``obj`` is alive (exceptions are logged)."""
    ref = weakref.ref(obj)
    with _hooks_lock:
        _hooks[:] = [(r, f) for r, f in _hooks if r() is not None]
        _hooks.append((ref, reinit))


def fresh_lock(obj: Any) -> None:
    """An :func:`after_fork` reset for objects whose only fork-sensitive state is ``obj._lock``."""
    obj._lock = threading.Lock()


def _before_fork() -> None:
    global _holding
    # Keep the lock across the fork: nothing can enter a critical section until the fork is done.
    _cond.acquire()
    _holding = True
    deadline = time.monotonic() + FORK_WAIT_S
    while _active > 0:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        _cond.wait(remaining)


def _after_fork_in_parent() -> None:
    global _holding
    if _holding:
        _holding = False
        _cond.release()


def _after_fork_in_child() -> None:
    global _cond, _active, _holding, _hooks_lock
    _cond = threading.Condition(threading.Lock())
    _active = 0
    _holding = False
    _hooks_lock = threading.Lock()
    for ref, reinit in list(_hooks):
        obj = ref()
        if obj is None:
            continue
        try:
            reinit(obj)
        except Exception:  # pragma: no cover - a reset must never break the child
            logger.debug("llm_monitor_sdk: an after-fork reset failed", exc_info=True)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )

__all__ = ["FORK_WAIT_S", "after_fork", "critical", "fresh_lock"]
