"""Helpers for the fork, signal and exit tests: run a small script in a fresh interpreter (the package
under test on its path), an HTTP sink that records what arrives, a collector that never answers."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import llm_monitor_sdk

#: The ``src`` directory of the package under test (a worktree's, not an installed copy).
SRC = str(Path(llm_monitor_sdk.__file__).resolve().parents[1])


def script_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without LLM_MONITOR_*/OTEL_*, the package under test first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_MONITOR_", "OTEL_"))}
    env["PYTHONPATH"] = SRC
    env["LLM_MONITOR_JSONL_PATH"] = str(tmp_path / "records.jsonl")
    env.update(extra)
    return env


def write_script(tmp_path: Path, text: str, name: str = "app.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def start_script(tmp_path: Path, text: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """Start ``text`` as a script with ``env`` and ``args``; stdout and stderr are pipes."""
    path = write_script(tmp_path, text)
    return subprocess.Popen(
        [sys.executable, str(path), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_script(
    tmp_path: Path, text: str, env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``text`` with ``args`` to its end (a hang fails the test through ``timeout``)."""
    path = write_script(tmp_path, text)
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def jsonl_calls(path: Path) -> list[dict[str, Any]]:
    """The ``llm_call`` records of a JSONL file (none when it does not exist)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("kind") == "llm_call":
                out.append(record)
    return out


def user_text(record: dict[str, Any]) -> str:
    """The text of the record's first input message."""
    return "".join(
        p.get("content", "") for p in record["input_messages"][0]["parts"] if p.get("type") == "text"
    )


class Sink:
    """A local HTTP endpoint in this process that accepts every batch and keeps its records."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with sink._lock:
                    sink.records.extend(json.loads(body)["records"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.records if r.get("kind") == "llm_call"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SilentCollector:
    """Accepts connections and reads requests, never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/"
        self._conns: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)  # held open, never read from or answered

    def close(self) -> None:
        self._stop = True
        self._sock.close()
        for conn in self._conns:
            conn.close()
