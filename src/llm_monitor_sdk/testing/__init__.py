"""A local fake LLM provider for tests, demos and benchmarks.

``FakeProvider`` speaks the OpenAI, Anthropic and Gemini wire formats (JSON and SSE, errors,
delays, cut streams, tool calls) on 127.0.0.1, or in-process through an ``httpx``/``httpx2``
``MockTransport``. The pytest fixture ``fake_provider`` lives in
``llm_monitor_sdk.testing.pytest_plugin``. See ``docs/testing.md``.
"""

from ._clients import IN_PROCESS_URL, sdk_http_module
from ._knobs import HEADER, Knobs, ToolCall, fake_headers
from ._provider import FakeProvider, RecordedRequest, mock_transport

__all__ = [
    "HEADER",
    "IN_PROCESS_URL",
    "FakeProvider",
    "Knobs",
    "RecordedRequest",
    "ToolCall",
    "fake_headers",
    "mock_transport",
    "sdk_http_module",
]
