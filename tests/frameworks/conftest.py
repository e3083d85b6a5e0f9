"""Real frameworks over the official clients, through the fake provider (the third virtual environment).

These tests need the framework packages pinned in ``constraints.txt``; ``scripts/test-frameworks.sh``
builds that environment and sets ``LLM_MONITOR_FRAMEWORKS=1``. Elsewhere (the main environment, where
the frameworks are not installed) the folder is not collected at all: nothing here is skipped.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# LiteLLM fetches a model price map from the internet at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

FRAMEWORK_MODULES = (
    "langchain_openai",
    "langchain_anthropic",
    "llama_index.llms.openai",
    "instructor",
    "pydantic_ai",
    "litellm",
    "agents.run",
    "langsmith",
    "logfire",
    "gunicorn",
    "uvicorn",
    "celery",
)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class LangSmithStandIn:
    """A local stand-in for the LangSmith API: keeps every body LangChain's tracer sends."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.bodies.append(body)
                self._reply()

            do_PATCH = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, needle: bytes) -> int:
        with self.lock:
            return sum(body.count(needle) for body in self.bodies)


if os.environ.get("LLM_MONITOR_FRAMEWORKS") != "1" and not all(_installed(m) for m in FRAMEWORK_MODULES):
    collect_ignore_glob = ["test_*.py"]
    LANGSMITH = None
else:
    # LangSmith tracing is on for every test here, sending to a local stand-in: our instrumentation must
    # work beside it. LangSmith reads these once, so they are set before any test imports LangChain.
    LANGSMITH = LangSmithStandIn()
    os.environ.update(
        LANGSMITH_TRACING="true",
        LANGSMITH_ENDPOINT=LANGSMITH.url,
        LANGSMITH_API_KEY="fake-key",
        LANGSMITH_PROJECT="llm-monitor-tests",
    )


@pytest.fixture
def langsmith() -> LangSmithStandIn:
    """The LangSmith stand-in every LangChain call of these tests is traced to."""
    assert LANGSMITH is not None
    return LANGSMITH


@pytest.fixture
def fake() -> Iterator[object]:
    """A fake provider whose response and request ids are fixed, so two runs answer byte for byte alike."""
    from llm_monitor_sdk.testing import FakeProvider

    with FakeProvider(text="Paris is the capital of France.", request_id="req_fixed") as provider:
        yield provider
