"""Headless Chromium driven over the DevTools protocol on a pipe (standard library only).

``inspect_page(path)`` opens a local file, records every network request the page attempts, every
console error and uncaught exception, waits until the report says its charts are drawn, and returns
what a script evaluated in the page found. ``screenshot(path, png)`` saves the whole page as PNG.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

#: Flags headless Chromium needs on these machines (root, no GPU, no network beyond the page).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    # Any name lookup fails: a request the page attempts can only be seen, never answered.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _map_fds(commands: int, answers: int) -> None:
    high_commands, high_answers = os.dup(commands), os.dup(answers)
    os.dup2(high_commands, 3)
    os.dup2(high_answers, 4)


class _Pipe:
    def __init__(self, width: int, height: int) -> None:
        binary = chromium_path()
        assert binary, "chromium is not installed"
        self.profile = tempfile.mkdtemp(prefix="llm-monitor-chromium-")
        read_cmd, write_cmd = os.pipe()  # we write commands, Chromium reads fd 3
        read_out, write_out = os.pipe()  # Chromium writes fd 4, we read
        self.process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Chromium reads commands on fd 3 and writes answers on fd 4. ``close_fds`` runs after
            # ``preexec_fn`` and keeps only ``pass_fds``: so 3 and 4 are listed there.
            pass_fds=tuple({3, 4, read_cmd, write_out}),
            preexec_fn=lambda: _map_fds(read_cmd, write_out),
        )
        os.close(read_cmd)
        os.close(write_out)
        self.out = os.fdopen(write_cmd, "wb", buffering=0)
        self.inp = os.fdopen(read_out, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = self.inp.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60,
    ) -> dict[str, Any]:
        self.next_id += 1
        request: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        self.out.write(json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def _open(pipe: _Pipe, url: str) -> str:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Network", "Runtime", "Log", "Page"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send("Page.navigate", {"url": url}, session=session)
    return session


def _evaluate(pipe: _Pipe, session: str, expression: str) -> Any:
    result = pipe.send(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        session=session,
    )
    if "exceptionDetails" in result:
        raise RuntimeError(json.dumps(result["exceptionDetails"])[:500])
    return result["result"].get("value")


CHECK = """
(() => {
  const state = window.__llmMonitorReport || {};
  const sections = Array.from(document.querySelectorAll("main > section")).map(s => ({
    id: s.id, height: s.getBoundingClientRect().height, text: s.innerText.length}));
  const charts = Array.from(document.querySelectorAll("[data-chart]")).map(el => ({
    svg: el.querySelectorAll(".main-svg").length, height: el.getBoundingClientRect().height,
    drawn: el.querySelectorAll(".plot .trace, .barlayer .trace, .scatterlayer .trace").length}));
  return {done: !!state.done, declared: state.charts, drawn: state.drawn, errors: state.errors || [],
          sections, charts, width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
          none: Array.from(document.querySelectorAll(".none")).map(e => e.closest("section").id)};
})()
"""


def inspect_page(path: Path, width: int = 1366, height: int = 900, timeout: float = 90) -> dict[str, Any]:
    """Load ``path`` and report sections, charts, attempted requests and console errors."""
    pipe = _Pipe(width, height)
    try:
        session = _open(pipe, Path(path).resolve().as_uri())
        deadline = time.monotonic() + timeout
        found: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                found = _evaluate(pipe, session, CHECK) or {}
            except RuntimeError:  # still navigating
                found = {}
            if found.get("done"):
                break
            time.sleep(0.2)
        time.sleep(0.3)  # late console messages
        _evaluate(pipe, session, "1")
        requests = [
            e["params"]["request"]["url"]
            for e in pipe.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        console = [
            e["params"]
            for e in pipe.events
            if (
                e.get("method") == "Runtime.consoleAPICalled"
                and e["params"].get("type") in ("error", "assert")
            )
            or e.get("method") == "Runtime.exceptionThrown"
            or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")
        ]
        found["requests"] = requests
        found["console_errors"] = console
        return found
    finally:
        pipe.close()


def screenshot(path: Path, png: Path, width: int = 1400, height: int = 900) -> None:
    """Save the whole rendered page (after its charts are drawn) as a PNG."""
    pipe = _Pipe(width, height)
    try:
        session = _open(pipe, Path(path).resolve().as_uri())
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if _evaluate(pipe, session, "(window.__llmMonitorReport || {}).done"):
                    break
            except RuntimeError:  # still navigating
                pass
            time.sleep(0.2)
        metrics = pipe.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": int(size["height"]), "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        time.sleep(0.5)
        shot = pipe.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session
        )
        Path(png).write_bytes(base64.b64decode(shot["data"]))
    finally:
        pipe.close()
