"""A fork while another thread holds a lock of the redaction engine does not hang the child
(issue 13 item 4): the child redacts and exits within a timeout.

Each test holds one lock in a thread of this process (the lazy set-up of the built-in detectors,
of one redactor, of the per-process hash key, of the accelerator), forks, and lets the child redact.
Without the reset in the child the child blocks forever on that lock.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from llm_monitor_sdk.redaction import RedactionConfig, _prefilter, build_redactor, engine

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

TIMEOUT_S = 20.0
TEXT = "mail jo@example.com or call +44 20 7946 0018"


@contextmanager
def held(get_lock: Callable[[], threading.Lock]) -> Iterator[None]:
    """Hold the lock on another thread for the duration of the block."""
    acquired, release = threading.Event(), threading.Event()

    def hold() -> None:
        with get_lock():
            acquired.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert acquired.wait(5)
    try:
        yield
    finally:
        release.set()
        thread.join(5)


def run_in_child(work: Callable[[], bool]) -> None:
    """Fork; the child runs ``work`` and exits 0 when it returned True. Fails on a hang."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            code = 0 if work() else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child did not finish redacting within {TIMEOUT_S} s")


def _redacts(redactor) -> bool:
    return redactor.redact_text(TEXT) == "mail <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1>"


@pytest.mark.parametrize("accelerator", [False, True], ids=["pure", "accelerated"])
def test_child_redacts_while_the_builtin_set_up_lock_was_held(
    monkeypatch: pytest.MonkeyPatch, accelerator: bool
) -> None:
    monkeypatch.setattr(engine, "_builtins_loaded", None)  # the child must set the detectors up
    redactor = build_redactor(RedactionConfig(accelerator=accelerator))
    with held(lambda: engine._builtins_lock):
        run_in_child(lambda: _redacts(redactor))


def test_child_redacts_while_a_redactors_set_up_lock_was_held() -> None:
    redactor = build_redactor()
    with held(lambda: redactor._ready_lock):
        run_in_child(lambda: _redacts(redactor))


def test_child_hashes_while_the_key_lock_was_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_process_key", None)
    redactor = build_redactor(RedactionConfig(strategies={"EMAIL_ADDRESS": "hash"}, key=None))
    monkeypatch.setattr(redactor, "_key", None)  # the child must make the per-process key
    with held(lambda: engine._process_key_lock):
        run_in_child(lambda: redactor.redact_text("jo@example.com").startswith("<EMAIL_ADDRESS:"))


def test_child_loads_the_accelerator_while_its_lock_was_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_prefilter, "_module", None)  # the child must import it again
    with held(lambda: _prefilter._load_lock):
        run_in_child(lambda: _redacts(build_redactor(RedactionConfig(accelerator=True))))


def test_child_scans_while_the_parent_was_scanning_on_another_thread() -> None:
    # Hyperscan marks a scratch space in use for the length of a scan: a fork in the middle of another
    # thread's scan must leave the child a prefilter it can use.
    redactor = build_redactor(RedactionConfig(accelerator=True))
    assert redactor.accelerated
    scanner = build_redactor(RedactionConfig(accelerator=True))
    big = ("lorem 12 ipsum, order 4-5-6 dolor " * 60_000) + TEXT
    stop = threading.Event()

    def scan() -> None:
        while not stop.is_set():
            scanner.find(big)

    thread = threading.Thread(target=scan, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            time.sleep(0.05)
            run_in_child(lambda: _redacts(redactor) and len(scanner.find(big + ", host 10.1.2.3")) == 3)
    finally:
        stop.set()
        thread.join(10)
