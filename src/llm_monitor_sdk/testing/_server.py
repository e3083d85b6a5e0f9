"""A stdlib HTTP/1.1 server on 127.0.0.1 that plays :class:`Reply` objects.

JSON replies carry ``content-length``; streams use chunked encoding, so keep-alive clients always
know where a reply ends. A cut stream closes the socket mid-body, which HTTP clients report as
an incomplete read, just like a dropped connection to the real API.
"""

from __future__ import annotations

import socket
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._reply import Reply

#: ``handle(method, target, headers, body) -> Reply``; ``headers`` is any case-insensitive
#: mapping-like object with ``get`` and ``items`` (``email.message.Message``, ``httpx.Headers``).
Handle = Callable[[str, str, Any, bytes], Reply]

_PHRASES = {529: "Overloaded"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handle: Handle) -> None:
        super().__init__(address, _Handler)
        self.handle_fn = handle
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Shut down every open client socket so idle keep-alive handler threads exit."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-reply is normal in tests (timeouts, early stream close).
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError) or self.stopping.is_set():
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; avoid 40 ms stalls
    server: _Server

    def do_POST(self) -> None:
        """Serve any method through the fake provider's router."""
        body = self._read_body()
        try:
            reply = self.server.handle_fn(self.command, self.path, self.headers, body)
        except Exception:  # a bug in the fake: say so loudly, in the reply and on stderr
            traceback.print_exc()
            text = b"fake provider internal error"
            self._send_head(500, {"content-type": "text/plain", "content-length": str(len(text))})
            self.wfile.write(text)
            self.close_connection = True
            return
        self._play(reply)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def _read_body(self) -> bytes:
        length = self.headers.get("content-length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return b""

    def _wait(self, seconds: float) -> bool:
        """Sleep; True when the server is stopping meanwhile (then give up on the reply)."""
        return bool(seconds) and self.server.stopping.wait(seconds)

    def _send_head(self, status: int, headers: Mapping[str, str]) -> None:
        phrase = _PHRASES.get(status) or self.responses.get(status, ("",))[0]
        head = [f"HTTP/1.1 {status} {phrase}\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in headers.items()]
        head.append("\r\n")
        self.wfile.write("".join(head).encode("latin-1"))

    def _play(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True  # no reply at all: the client sees a disconnect
            return
        if not reply.is_stream:
            if self._wait(reply.delay):
                self.close_connection = True
                return
            self._send_head(reply.status, {**reply.headers, "content-length": str(len(reply.body))})
            self.wfile.write(reply.body)
            return
        self._send_head(reply.status, {**reply.headers, "transfer-encoding": "chunked"})
        parts = reply.stream_parts()
        if self._wait(reply.delay):
            self.close_connection = True
            return
        if not reply.chunk_delay:
            parts = [b"".join(parts)] if parts else []  # one write: benchmarks send thousands of streams
        for i, part in enumerate(parts):
            if i and self._wait(reply.chunk_delay):
                self.close_connection = True
                return
            if part:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        if reply.cut_after is not None:
            self.close_connection = True  # stop mid-body: no terminating zero-length chunk
            return
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""


class FakeServer:
    """Serves ``handle`` on ``host`` (default 127.0.0.1) and a random free port, in a daemon thread."""

    def __init__(self, handle: Handle, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-provider",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop serving, wake delayed replies, close open connections and the listening socket."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(timeout=5)
