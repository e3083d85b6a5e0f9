"""FakeProvider itself: knobs, layering, one-shots, the request log, lifecycle, raw transports."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from llm_monitor_sdk.testing import HEADER, FakeProvider, Knobs, ToolCall, fake_headers, mock_transport

CHAT = "/v1/chat/completions"


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _chat(fake: FakeProvider, headers: dict[str, str] | None = None, **body: Any) -> tuple[int, dict, Any]:
    status, hdrs, raw = _post(fake.url + CHAT, {"model": "m", "messages": [], **body}, headers)
    return status, hdrs, json.loads(raw) if hdrs.get("content-type") == "application/json" else raw


# ---------------------------------------------------------------- knobs
def test_knobs_validate() -> None:
    with pytest.raises(ValueError, match="unknown fake provider knob"):
        FakeProvider(txt="typo")
    for bad in ({"status": 299}, {"chunks": 0}, {"delay": -1}, {"cut_after": -2}, {"tool_calls": [{"x": 1}]}):
        with pytest.raises(ValueError):
            FakeProvider(**bad)
    fake = FakeProvider()
    with pytest.raises(ValueError):
        fake.configure(usage=True, bogus=1)
    with pytest.raises(ValueError):
        fake.once(status=1000)
    with pytest.raises(ValueError):
        fake_headers(chunk_delay="slow")


def test_text_pieces_are_even_and_capped() -> None:
    assert Knobs(text="abcdefg", chunks=3).pieces() == ["abc", "de", "fg"]
    assert Knobs(text="Hi", chunks=200).pieces() == ["H", "i"]
    assert len(Knobs(text="x" * 400, chunks=200).pieces()) == 200
    assert Knobs(text="").pieces() == []
    assert Knobs(text="abcdefgh").completion_tokens == 2 and Knobs(output_tokens=9).completion_tokens == 9


def test_fake_headers_serialises_tool_calls() -> None:
    headers = fake_headers(status=429, tool_calls=[ToolCall("f", {"a": 1}, id="c1")])
    assert json.loads(headers[HEADER]) == {
        "status": 429,
        "tool_calls": [{"name": "f", "arguments": {"a": 1}, "id": "c1"}],
    }


def test_layering_defaults_then_one_shot_then_header(fake_provider: FakeProvider) -> None:
    fake_provider.configure(text="default")
    fake_provider.once(text="once")
    assert (
        _chat(fake_provider, fake_headers(text="header"))[2]["choices"][0]["message"]["content"] == "header"
    )
    fake_provider.once(text="once")
    assert _chat(fake_provider)[2]["choices"][0]["message"]["content"] == "once"
    assert _chat(fake_provider)[2]["choices"][0]["message"]["content"] == "default"
    fake_provider.reset()
    assert _chat(fake_provider)[2]["choices"][0]["message"]["content"] == "Hello!"
    assert fake_provider.request_count == 1


def test_once_times_and_fail_next_queue_in_order(fake_provider: FakeProvider) -> None:
    fake_provider.fail_next(429, times=2).once(text="third")
    results = [_chat(fake_provider) for _ in range(4)]
    assert [r[0] for r in results] == [429, 429, 200, 200]
    assert [r[2]["choices"][0]["message"]["content"] for r in results[2:]] == ["third", "Hello!"]


def test_bad_header_is_a_provider_shaped_400(fake_provider: FakeProvider) -> None:
    status, _, body = _chat(fake_provider, {HEADER: "{not json"})
    assert status == 400 and "not valid JSON" in body["error"]["message"]
    status, hdrs, raw = _post(fake_provider.url + "/v1/messages", {}, {HEADER: '{"nope": 1}'})
    body = json.loads(raw)
    assert status == 400 and body["type"] == "error" and "nope" in body["error"]["message"]
    assert hdrs["request-id"] == body["request_id"]


def test_unknown_path_is_404_and_logged(fake_provider: FakeProvider) -> None:
    status, _, raw = _post(fake_provider.url + "/v2/whatever", {})
    assert status == 404 and "no route" in json.loads(raw)["error"]["message"]
    assert fake_provider.last_request.provider is None and fake_provider.last_request.path == "/v2/whatever"


def test_fixed_request_id(fake_provider: FakeProvider) -> None:
    fake_provider.configure(request_id="req_fixed")
    _, hdrs, body = _chat(fake_provider)
    assert hdrs["x-request-id"] == "req_fixed" and body["id"] == "chatcmpl-req_fixed"


# ---------------------------------------------------------------- request log
def test_request_log_records_and_clears(fake_provider: FakeProvider) -> None:
    with pytest.raises(LookupError):
        _ = fake_provider.last_request
    _post(fake_provider.url + "/v1/messages?beta=true", {"model": "c", "messages": []}, {"X-Custom": "1"})
    rec = fake_provider.requests[0]
    assert (rec.method, rec.path, rec.query, rec.provider, rec.operation) == (
        "POST",
        "/v1/messages",
        "beta=true",
        "anthropic",
        "messages",
    )
    assert rec.body == {"model": "c", "messages": []} and rec.headers["x-custom"] == "1"
    fake_provider.clear()
    assert fake_provider.requests == [] and fake_provider.request_count == 0


def test_record_requests_off_still_counts() -> None:
    transport_fake = FakeProvider(record_requests=False)
    httpx = pytest.importorskip("httpx")
    with httpx.Client(transport=transport_fake.mock_transport(httpx)) as client:
        client.post("http://x/v1/embeddings", json={"input": "a"})
    assert transport_fake.request_count == 1 and transport_fake.requests == []


def test_concurrent_header_overrides_do_not_race(fake_provider: FakeProvider) -> None:
    fake_provider.once(times=10, text="queued")

    def worker(i: int) -> list[str]:
        return [
            _chat(fake_provider, fake_headers(text=f"t{i}"))[2]["choices"][0]["message"]["content"]
            for _ in range(10)
        ]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    assert all(r == [f"t{i}"] * 10 for i, r in enumerate(results))
    assert fake_provider.request_count == 80 and len(fake_provider.requests) == 80
    assert len({r.request_id for r in fake_provider.requests}) == 80


# ---------------------------------------------------------------- delays
def test_delay_applies_to_json_and_before_first_stream_event(fake_provider: FakeProvider) -> None:
    fake_provider.configure(delay=0.05)
    start = time.perf_counter()
    assert _chat(fake_provider)[0] == 200
    assert time.perf_counter() - start > 0.04
    # streams: headers first, then the delay before the first event
    host, port = fake_provider.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        body = json.dumps({"model": "m", "stream": True}).encode()
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        head = sock.recv(4096)
        t_head = time.perf_counter()
        assert head.startswith(b"HTTP/1.1 200") and b"data:" not in head
        rest = b""
        while not rest.endswith(b"0\r\n\r\n"):
            rest += sock.recv(4096)
        assert time.perf_counter() - t_head > 0 and b"[DONE]" in rest


def test_chunk_delay_spaces_events(fake_provider: FakeProvider) -> None:
    httpx = pytest.importorskip("httpx")
    fake_provider.configure(text="abcd", chunks=4, chunk_delay=0.02)
    stamps = []
    with (
        httpx.Client() as client,
        client.stream("POST", fake_provider.url + CHAT, json={"model": "m", "stream": True}) as resp,
    ):
        for line in resp.iter_lines():
            if line.startswith("data:"):
                stamps.append(time.perf_counter())
    assert len(stamps) == 7  # role, 4 pieces, finish, [DONE]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert stamps[-1] - stamps[0] > 0.1


# ---------------------------------------------------------------- lifecycle
def test_lazy_start_and_close_frees_the_port() -> None:
    fake = FakeProvider()
    url = fake.url  # starts the server
    assert url.startswith("http://127.0.0.1:") and fake.openai_base_url == url + "/v1"
    assert fake.anthropic_base_url == url and fake.gemini_base_url == url
    assert _chat(fake)[0] == 200
    fake.close()
    fake.close()  # idempotent
    with pytest.raises(urllib.error.URLError):
        _post(url + CHAT, {})


def test_close_with_open_keepalive_and_delayed_reply_does_not_hang() -> None:
    httpx = pytest.importorskip("httpx")
    fake = FakeProvider(delay=30).start()
    client = httpx.Client()
    client.post(fake.url + CHAT, json={}, headers=fake_headers(delay=0))  # leaves a keep-alive connection
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            client.post(fake.url + CHAT, json={}, timeout=20)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    while fake.request_count < 2:
        time.sleep(0.005)
    fake.close()
    thread.join(10)
    assert not thread.is_alive() and isinstance(errors[0], httpx.TransportError)
    client.close()


# ---------------------------------------------------------------- raw transports
@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
def test_module_level_mock_transport_with_each_http_library(lib: str) -> None:
    hx = pytest.importorskip(lib)
    transport = mock_transport(hx, text="in-process", chunks=3)
    assert isinstance(transport, hx.MockTransport)
    with hx.Client(transport=transport) as client:
        r = client.post("http://fake/v1/chat/completions", json={"model": "mm", "messages": []})
        assert r.headers["x-request-id"] and r.json()["choices"][0]["message"]["content"] == "in-process"
        with client.stream("POST", "http://fake/v1/messages", json={"stream": True}) as s:
            kinds = [line.split(": ", 1)[1] for line in s.iter_lines() if line.startswith("event:")]
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "ping" in kinds
        transport.fake.fail_next(401)
        assert (
            client.post("http://fake/v1beta/models/g:generateContent", json={}).json()["error"]["status"]
            == "UNAUTHENTICATED"
        )
    assert transport.fake.request_count == 3


@pytest.mark.parametrize("lib", ["httpx", "httpx2"])
async def test_mock_transport_async_delay_and_cut(lib: str) -> None:
    hx = pytest.importorskip(lib)
    fake = FakeProvider(text="abcdef", chunks=6)
    async with hx.AsyncClient(transport=fake.mock_transport(hx)) as client:
        start = time.perf_counter()
        r = await client.post(
            "http://fake/v1/embeddings", json={"input": "a"}, headers=fake_headers(delay=0.03)
        )
        assert r.status_code == 200 and time.perf_counter() - start > 0.02
        fake.cut_next(after_chunks=2)
        got = []
        with pytest.raises(hx.RemoteProtocolError):
            async with client.stream("POST", "http://fake/v1/chat/completions", json={"stream": True}) as s:
                async for line in s.aiter_lines():
                    got.append(line)
        assert sum(line.startswith("data:") for line in got) == 2
        fake.cut_next()
        with pytest.raises(hx.RemoteProtocolError):
            await client.post("http://fake/v1/chat/completions", json={})
