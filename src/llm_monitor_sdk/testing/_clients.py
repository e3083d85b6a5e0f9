"""Ready-made provider SDK clients pointed at a fake provider. SDKs are imported lazily."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._provider import FakeProvider

#: Base URL used for in-process clients: never resolved, the mock transport answers first.
IN_PROCESS_URL = "http://fake-provider.invalid"

_HTTP_LIBS = ("httpx2", "httpx")


def sdk_http_module(sdk: str) -> ModuleType:
    """The httpx-compatible module (``httpx`` or ``httpx2``) that ``sdk`` builds its clients with.

    ``sdk`` is ``"openai"``, ``"anthropic"`` or ``"google.genai"``.
    """
    if sdk == "google.genai":
        api_client = importlib.import_module("google.genai._api_client")
        try:
            name = api_client._get_http_client_backend()
        except (AttributeError, TypeError):  # older releases: httpx only
            name = "httpx"
        return importlib.import_module(name)
    base = importlib.import_module(f"{sdk}._base_client")
    for cls in base.SyncHttpxClientWrapper.__mro__:
        top = cls.__module__.split(".")[0]
        if top in _HTTP_LIBS:
            return importlib.import_module(top)
    return importlib.import_module("httpx")


def _http_client(fake: FakeProvider, sdk: str, async_: bool) -> Any:
    hx = sdk_http_module(sdk)
    transport = fake.mock_transport(hx)
    return hx.AsyncClient(transport=transport) if async_ else hx.Client(transport=transport)


def openai_client(fake: FakeProvider, async_: bool, in_process: bool, kwargs: dict[str, Any]) -> Any:
    """``openai.OpenAI`` / ``AsyncOpenAI`` for ``fake``; ``kwargs`` override the defaults."""
    import openai

    options: dict[str, Any] = {"api_key": "sk-fake", "max_retries": 0}
    if in_process:
        options["base_url"] = f"{IN_PROCESS_URL}/v1"
        options["http_client"] = _http_client(fake, "openai", async_)
    else:
        options["base_url"] = fake.openai_base_url
    options.update(kwargs)
    return (openai.AsyncOpenAI if async_ else openai.OpenAI)(**options)


def anthropic_client(fake: FakeProvider, async_: bool, in_process: bool, kwargs: dict[str, Any]) -> Any:
    """``anthropic.Anthropic`` / ``AsyncAnthropic`` for ``fake``; ``kwargs`` override the defaults."""
    import anthropic

    options: dict[str, Any] = {"api_key": "sk-ant-fake", "max_retries": 0}
    if in_process:
        options["base_url"] = IN_PROCESS_URL
        options["http_client"] = _http_client(fake, "anthropic", async_)
    else:
        options["base_url"] = fake.anthropic_base_url
    options.update(kwargs)
    return (anthropic.AsyncAnthropic if async_ else anthropic.Anthropic)(**options)


def genai_client(
    fake: FakeProvider, in_process: bool, api_version: str | None, kwargs: dict[str, Any]
) -> Any:
    """``google.genai.Client`` for ``fake``; ``kwargs`` override the defaults.

    An explicit async transport keeps google-genai on httpx/httpx2 even when aiohttp is installed
    (the SDK only switches to aiohttp when no async transport is given).
    """
    from google import genai
    from google.genai import types

    hx = sdk_http_module("google.genai")
    if in_process:
        transport = fake.mock_transport(hx)
        base_url, sync_transport, async_transport = IN_PROCESS_URL, transport, transport
    else:
        base_url, sync_transport, async_transport = fake.gemini_base_url, None, hx.AsyncHTTPTransport()
    http_options = types.HttpOptions(
        base_url=base_url,
        api_version=api_version,
        client_args={"transport": sync_transport} if sync_transport else None,
        async_client_args={"transport": async_transport},
    )
    options: dict[str, Any] = {"api_key": "fake-key", "vertexai": False, "http_options": http_options}
    options.update(kwargs)
    return genai.Client(**options)
