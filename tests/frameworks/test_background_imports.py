"""The SDK's background start-up work must never make a provider call fail (openai 2.x with httpx2).

``instrument()`` starts threads that load price and token tables. Loading ``genai_prices`` imports
``httpx2``. openai 2.x looks at ``sys.modules["httpx2"]`` on every client construction and request; while
another thread is half-way through importing httpx2 it finds a module without ``URL`` or ``Timeout`` and
the user's call raises ``AttributeError: partially initialized module 'httpx2'``. Seen for real under
gunicorn (the first requests after a worker boots answer 500). Here a slow disk is simulated for that one
import, off the main thread, so the window is wide and the outcome does not depend on timing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROGRAM = textwrap.dedent("""
    import importlib.machinery, sys, threading, time

    IMPORTING = threading.Event()

    class SlowHttpx2:
        # The SDK's background thread imports httpx2 slowly: the module sits in sys.modules, empty.
        def find_spec(self, name, path=None, target=None):
            if name != "httpx2" or threading.current_thread() is threading.main_thread():
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            run = spec.loader.exec_module
            def slow(module):
                IMPORTING.set()
                time.sleep(3)
                run(module)
            spec.loader.exec_module = slow
            return spec

    sys.meta_path.insert(0, SlowHttpx2())
    import llm_monitor_sdk as lm
    from llm_monitor_sdk.testing import FakeProvider

    def ask(client):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    with FakeProvider() as fake:
        client = fake.openai_client()
        ask(client)  # everything the call path needs is imported before the SDK starts
        assert "httpx2" not in sys.modules
        lm.instrument(exporters=["none"])
        IMPORTING.wait(3)  # a background import of httpx2 would be under way now: instrument() does it first
        try:
            ask(client)
            print("ok")
        except Exception as exc:
            print(f"failed: {exc!r}")
""")


def test_a_call_made_while_the_sdk_loads_its_tables_succeeds():
    out = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
