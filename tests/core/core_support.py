"""Helpers for the core tests: controllable exporters and a provider-free fake LLM client."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import wrapt

from llm_monitor_sdk.instrumentation._call import Adapter, Request
from llm_monitor_sdk.instrumentation._wrapper import make_wrapper


class RecordingExporter:
    """Keeps records and counts shutdown calls; ``delay`` seconds per batch, after ``gate`` opens."""

    def __init__(
        self, name: str = "recording", delay: float = 0.0, gate: threading.Event | None = None
    ) -> None:
        self.name = name
        self.delay = delay
        self.gate = gate
        self.entered = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.batches = 0
        self.shutdowns = 0

    def export(self, records: Sequence[dict[str, Any]]) -> None:
        """Store the batch (after waiting for the gate and sleeping ``delay``)."""
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30), "test gate never opened"
        if self.delay:
            time.sleep(self.delay)
        self.batches += 1
        self.records.extend(dict(record) for record in records)

    def shutdown(self) -> None:
        """Count the call."""
        self.shutdowns += 1


class FailingExporter:
    """Raises on every batch."""

    name = "failing"

    def __init__(self) -> None:
        self.attempts = 0

    def export(self, records: Sequence[dict[str, Any]]) -> None:
        """Always fail."""
        self.attempts += 1
        raise ConnectionError("sink is down")

    def shutdown(self) -> None:
        """Nothing to release."""


class FakeChatAdapter(Adapter):
    """A minimal adapter for :class:`DummyClient.create` (no real provider involved)."""

    provider = "openai"
    operation = "chat"
    api = "dummy.create"
    param_keys = ("temperature", "max_tokens")
    snapshot_keys = ("messages",)

    def messages(self, request: Request) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """Plain ``{"role", "content"}`` messages in the OTel shape."""
        items = (request.snapshot or {}).get("messages") or []
        return None, [
            {"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in items
        ]

    def fill_response(self, record: dict[str, Any], request: Request, response: Any) -> None:
        """The dummy response is a dict with text, model and token counts."""
        record["response_model"] = response["model"]
        record["finish_reasons"] = ["stop"]
        record["response_id"] = response["id"]
        record["output_messages"] = [
            {
                "role": "assistant",
                "finish_reason": "stop",
                "parts": [{"type": "text", "content": response["text"]}],
            }
        ]
        record["usage"] = {
            "input_tokens": response["in"],
            "output_tokens": response["out"],
            "total_tokens": response["in"] + response["out"],
            "cache_read_input_tokens": None,
            "cache_write_input_tokens": None,
            "reasoning_output_tokens": None,
            "source": "provider",
        }


class DummyError(RuntimeError):
    """What the dummy client raises when asked to fail."""


class DummyClient:
    """Stands in for a provider client; ``create`` is patched with the SDK's real call wrapper."""

    def create(self, *, model: str, messages: list[dict[str, str]], fail: bool = False, **params: Any) -> Any:
        """Return a canned response (or raise :class:`DummyError`)."""
        if fail:
            raise DummyError("provider said no")
        return {"id": "resp-1", "model": model, "text": "hello back", "in": 10, "out": 5}


wrapt.wrap_function_wrapper(DummyClient, "create", make_wrapper(FakeChatAdapter(), is_async=False))
