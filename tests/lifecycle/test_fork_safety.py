"""A fork at any moment after ``instrument()``: every child's calls return and are recorded.

Each case runs in a fresh interpreter (forking the test process itself would copy pytest's threads),
with hard timeouts, so a hang fails the test instead of blocking the run.
"""

from __future__ import annotations

import pytest
from process_support import Sink, jsonl_calls, run_script, script_env, user_text

CHILDREN = 20
CALLS_PER_CHILD = 2

# Forks at random points of the first second after instrument(), while the tokenizer and price
# preloads, the redaction set-up (detectors, Hyperscan database), the export worker and the HTTP
# sender are all starting. Each child makes budgeted calls, which count tokens on the caller's
# thread, and leaves through sys.exit (atexit shutdown), half of them after an explicit flush.
STRESS = """
import os, random, signal, sys, time
import llm_monitor_sdk as lm
from llm_monitor_sdk.testing import FakeProvider

random.seed(int(sys.argv[1]))
lm.instrument(
    ["openai"],
    exporters=["http"],
    http_url=sys.argv[2],
    budgets="global:daily=1000",
    redact=True,
    flush_interval=0.05,
)
fake = FakeProvider(text="reply")
client = fake.openai_client(in_process=True)
start = time.monotonic()
moments = sorted(random.random() for _ in range({children}))
pids = []
for i, moment in enumerate(moments):
    while time.monotonic() - start < moment:
        pass
    pid = os.fork()
    if pid == 0:
        signal.alarm(40)  # a hung child dies (and the test fails) rather than lingering
        for j in range({calls}):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{{"role": "user", "content": f"child-{{i}}-{{j}} mail me at a{{i}}@example.com"}}],
            )
        if i % 2:
            lm.flush(30)
        sys.exit(0)
    pids.append(pid)
bad = 0
for pid in pids:
    _, status = os.waitpid(pid, 0)
    bad += status != 0
print("bad children", bad)
"""


@pytest.mark.parametrize("seed", [1])
def test_forks_in_the_first_second_after_instrument_keep_every_childs_calls(tmp_path, seed):
    sink = Sink()
    try:
        env = script_env(tmp_path, LLM_MONITOR_SHUTDOWN_TIMEOUT="30")
        text = STRESS.format(children=CHILDREN, calls=CALLS_PER_CHILD)
        result = run_script(tmp_path, text, env, str(seed), sink.url, timeout=90)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "bad children 0", result.stderr
        texts = sorted(user_text(r).split(" ")[0] for r in sink.calls())
    finally:
        sink.close()
    expected = sorted(f"child-{i}-{j}" for i in range(CHILDREN) for j in range(CALLS_PER_CHILD))
    assert texts == expected
    # Redaction ran in every child.
    assert not any("@example.com" in user_text(r) for r in sink.calls())


# A fork while another thread is loading a tokenizer (holding its lock): the child's own first count
# must not wait forever for a load that no longer exists.
TOKENIZER = """
import os, signal, sys, threading, time
from llm_monitor_sdk.tokens import _encodings as enc

loading = threading.Event()
real_build = enc._build

def slow_build(name):
    loading.set()
    time.sleep(0.5)
    return real_build(name)

enc._build = slow_build
threading.Thread(target=enc.get_encoding, args=("cl100k_base",), daemon=True).start()
loading.wait(10)
pid = os.fork()
if pid == 0:
    signal.alarm(20)
    n = len(enc.get_encoding("cl100k_base").encode("hello world"))
    os._exit(0 if n == 2 else 3)
_, status = os.waitpid(pid, 0)
print("child status", status)
"""


def test_a_fork_during_a_tokenizer_load_does_not_hang_the_child(tmp_path):
    result = run_script(tmp_path, TOKENIZER, script_env(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "child status 0"


# The same for a budgeted, redacted call through the whole monitor: the fork happens while the
# export worker is inside the redaction set-up (here: a slow import in it).
REDACTION = """
import os, signal, sys, threading, time
import llm_monitor_sdk as lm
from llm_monitor_sdk.redaction import engine
from llm_monitor_sdk.testing import FakeProvider

real = engine._builtins

def slow_builtins():
    import slow_module  # noqa: F401 - takes half a second to import
    return real()

engine._builtins = slow_builtins
lm.instrument(["openai"], exporters=["jsonl"], budgets="global:daily=1000", redact=True, flush_interval=0.05)
client = FakeProvider(text="reply").openai_client(in_process=True)
client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "parent"}])
while "slow_module" not in sys.modules:
    time.sleep(0.001)
pid = os.fork()
if pid == 0:
    signal.alarm(20)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "child"}])
    sys.exit(0 if lm.flush(15) else 4)
_, status = os.waitpid(pid, 0)
print("child status", status)
"""


def test_a_fork_during_the_redaction_set_up_keeps_the_childs_record(tmp_path):
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(0.5)\n")
    result = run_script(tmp_path, REDACTION, script_env(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "child status 0", result.stderr
    assert sorted(user_text(r) for r in jsonl_calls(tmp_path / "records.jsonl")) == ["child", "parent"]


# Each lock an SDK thread may hold at the moment of a fork, held by a thread here; the child must
# get past every one of them (before: it blocked forever on the first).
HELD_LOCKS = """
import os, signal, sys, threading
from llm_monitor_sdk.evaluation._stats import EvaluationStats
from llm_monitor_sdk.exporters.http import HTTPExporter
from llm_monitor_sdk.monitoring.alerts import AlertProcessor
from llm_monitor_sdk.pricing import PriceBook

prices = PriceBook()
alerts = AlertProcessor("error_rate > 0.5 over 1m")
evaluation_stats = EvaluationStats()
http = HTTPExporter(sys.argv[1], max_retries=0)
locks = [prices._lock, alerts._lock, evaluation_stats._lock, http._cond, http._circuit._lock]
taken, release = threading.Event(), threading.Event()

def hold():
    for lock in locks:
        lock.acquire()
    taken.set()
    release.wait()
    for lock in reversed(locks):
        lock.release()

threading.Thread(target=hold, daemon=True).start()
taken.wait(10)
pid = os.fork()
if pid == 0:
    signal.alarm(20)
    done = []
    prices.unit_prices("openai", "no-such-model"); done.append("prices")
    alerts.firing(); done.append("alerts")
    evaluation_stats.stats(); done.append("evaluation_stats")
    http.force_flush(1.0); done.append("http.force_flush")
    http.stats; done.append("http.stats")
    print(" ".join(done), flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
release.set()
print("child status", status)
"""


def test_locks_held_by_other_threads_at_the_fork_are_fresh_in_the_child(tmp_path):
    sink = Sink()
    try:
        result = run_script(tmp_path, HELD_LOCKS, script_env(tmp_path), sink.url, timeout=60)
    finally:
        sink.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "prices alerts evaluation_stats http.force_flush http.stats",
        "child status 0",
    ], result.stderr
