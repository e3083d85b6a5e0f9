"""Process endings that skip ``atexit``: multiprocessing children (fork start method) leave through
``os._exit``, SIGTERM/SIGHUP kill without it. And exit with a collector that never answers: one bound
for the whole exit, one WARNING naming what was not delivered and where."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
from process_support import SilentCollector, jsonl_calls, run_script, script_env, start_script, user_text

from llm_monitor_sdk.pipeline import Pipeline

# A long flush interval: nothing is exported while the program runs, so every record kept was
# kept by the exit path under test.
SLOW = {"LLM_MONITOR_FLUSH_INTERVAL": "60", "LLM_MONITOR_SHUTDOWN_TIMEOUT": "10"}

PRELUDE = """
import os, signal, sys, time
import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

def call(client, text):
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
"""

MULTIPROCESSING = (
    PRELUDE
    + """
import multiprocessing as mp

def work(text):
    call(FakeProvider(text="reply").openai_client(in_process=True), text)
    return os.getpid()

if __name__ == "__main__":
    lm.instrument(["openai"], exporters=["jsonl"], redact=False)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=work, args=(f"process-{i}",)) for i in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    print("exit codes", sorted({p.exitcode for p in procs}))
    with ctx.Pool(2) as pool:
        pids = pool.map(work, [f"pool-{i}" for i in range(10)], chunksize=1)
        pool.close()
        pool.join()
    print("workers", len(set(pids)))
"""
)


def test_multiprocessing_fork_children_keep_their_records(tmp_path):
    result = run_script(tmp_path, MULTIPROCESSING, script_env(tmp_path, **SLOW), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["exit codes [0]", "workers 2"], result.stderr
    texts = sorted(user_text(r) for r in jsonl_calls(tmp_path / "records.jsonl"))
    assert texts == sorted([*(f"process-{i}" for i in range(5)), *(f"pool-{i}" for i in range(10))])


FIVE_CALLS = (
    PRELUDE
    + """
{handler}
lm.instrument(["openai"], exporters=["jsonl"], redact=False)
client = FakeProvider(text="reply").openai_client(in_process=True)
for i in range(5):
    call(client, f"call-{i}")
print("ready", flush=True)
time.sleep(30)
print("not stopped", flush=True)
"""
)

APP_HANDLER = """
def on_signal(signum, frame):
    print("app handler", signum, flush=True)
    sys.exit(3)

signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGHUP, on_signal)
"""


def _stop_after_five_calls(tmp_path, signum: int, handler: str = "") -> tuple[int, str]:
    proc = start_script(tmp_path, FIVE_CALLS.replace("{handler}", handler), script_env(tmp_path, **SLOW))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "ready\n", proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "not stopped" not in out, err
    return proc.returncode, out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_keeps_the_records_and_still_kills_the_process(tmp_path, signum):
    returncode, _ = _stop_after_five_calls(tmp_path, signum)
    assert returncode == -signum  # killed by the signal, as without the SDK
    texts = sorted(user_text(r) for r in jsonl_calls(tmp_path / "records.jsonl"))
    assert texts == [f"call-{i}" for i in range(5)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_apps_own_signal_handler_still_runs(tmp_path, signum):
    returncode, out = _stop_after_five_calls(tmp_path, signum, APP_HANDLER)
    assert out.splitlines()[-1] == f"app handler {int(signum)}"
    assert returncode == 3
    # The app's handler exits normally, so atexit keeps the records.
    assert len(jsonl_calls(tmp_path / "records.jsonl")) == 5


def test_uninstrument_gives_the_default_signal_handlers_back(tmp_path):
    text = (
        PRELUDE
        + """
lm.instrument(["openai"], exporters=["jsonl"], redact=False)
ours = signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
lm.uninstrument()
print(ours, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, signal.getsignal(signal.SIGHUP) is signal.SIG_DFL)
"""
    )
    result = run_script(tmp_path, text, script_env(tmp_path), timeout=60)
    assert (result.returncode, result.stdout) == (0, "True True True\n"), result.stderr


ONE_CALL_THEN_EXIT = (
    PRELUDE
    + """
lm.instrument(["openai"], exporters=["http"], http_url=sys.argv[1], redact=False, flush_interval=0.05)
call(FakeProvider(text="reply").openai_client(in_process=True), "only")
time.sleep(0.3)  # the batch is handed to the sender, which now waits for an answer
print("exiting", flush=True)
"""
)

#: Exit bound for these tests, and the allowance for the interpreter's own teardown.
BOUND = 1.0
MARGIN = 3.0


def _exit_time(tmp_path, script: str, env: dict[str, str], *args: str) -> tuple[int, float, str]:
    """Run ``script`` until it prints ``exiting``; return its exit code, the seconds it took to exit
    from there, and its stderr."""
    proc = start_script(tmp_path, script, env, *args)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == "exiting\n"
        began = time.monotonic()
        proc.wait(timeout=30)
        return proc.returncode, time.monotonic() - began, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("spool", [False, True], ids=["no-spool", "spool"])
def test_exit_with_a_collector_that_never_answers_is_bounded_and_says_what_was_lost(tmp_path, spool):
    collector = SilentCollector()
    extra = {"LLM_MONITOR_SHUTDOWN_TIMEOUT": str(BOUND)}
    if spool:
        extra["LLM_MONITOR_SPOOL_DIR"] = str(tmp_path / "spool")
    try:
        code, took, err = _exit_time(
            tmp_path, ONE_CALL_THEN_EXIT, script_env(tmp_path, **extra), collector.url
        )
    finally:
        collector.close()
    assert code == 0, err
    # Before: 10.9 s (a 5 s flush, then a 5.5 s exporter shutdown). A bound, not a benchmark.
    assert took < BOUND + MARGIN, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # one warning, nothing else
    assert "1 records could not be delivered" in lines[0]
    assert collector.url in lines[0]
    if spool:
        assert "spool" in lines[0] and str(tmp_path / "spool") in lines[0]
        assert [p for p in os.listdir(tmp_path / "spool") if not p.startswith(".")]
    else:
        assert "lost" in lines[0]


ONE_OTLP_CALL_THEN_EXIT = (
    PRELUDE
    + """
lm.instrument(["openai"], exporters=["otlp"], redact=False, flush_interval=0.05)
call(FakeProvider(text="reply").openai_client(in_process=True), "only")
time.sleep(0.5)  # the span is in the OTLP exporter's request, which the collector never answers
print("exiting", flush=True)
"""
)


def test_exit_with_an_otlp_collector_that_never_answers_names_the_span_in_flight(tmp_path):
    collector = SilentCollector()
    extra = {
        "LLM_MONITOR_SHUTDOWN_TIMEOUT": str(BOUND),
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url.rstrip("/"),
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    try:
        code, took, err = _exit_time(tmp_path, ONE_OTLP_CALL_THEN_EXIT, script_env(tmp_path, **extra))
    finally:
        collector.close()
    assert code == 0, err
    assert took < BOUND + MARGIN, err
    # The export was still waiting for an answer at exit: not failed yet, but not delivered either.
    warnings = [line for line in err.splitlines() if "could not be delivered" in line]
    assert len(warnings) == 1, err
    assert "1 records could not be delivered" in warnings[0] and "OTLP endpoint" in warnings[0], err
    assert "lost" in warnings[0]
    # An unanswered export is the endpoint's condition, not a fault of ours: no traceback.
    assert "Traceback" not in err


class _StuckExporter:
    """An exporter whose ``export`` blocks until ``shutdown`` (a sink that hangs)."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.shutdown_timeouts: list[float | None] = []

    def export(self, records: Any) -> None:
        self.release.wait(30)

    def shutdown(self, timeout: float | None = None) -> None:
        self.shutdown_timeouts.append(timeout)
        self.release.set()


@pytest.mark.loose_records
def test_shutdown_stops_at_its_bound_and_counts_what_the_worker_never_reached():
    stuck = _StuckExporter()
    pipeline = Pipeline([stuck], lambda items: [{"n": n} for n in items], batch_size=1, flush_interval=0.01)
    for n in range(5):
        assert pipeline.submit(n)
    assert pipeline.shutdown(0.3) is False
    # The first item is stuck in export; the worker reached at most one more before the bound.
    assert pipeline.unexported >= 3
    assert pipeline.dropped == pipeline.unexported
    assert pipeline.undelivered()[0][0] == pipeline.unexported
    assert "export queue" in pipeline.undelivered()[0][1]
    # The exporter got what was left of the bound, not a time of its own.
    assert len(stuck.shutdown_timeouts) == 1
    assert stuck.shutdown_timeouts[0] is not None and stuck.shutdown_timeouts[0] <= 0.3
