"""``llm-monitor run`` in front of real servers: gunicorn (forked workers), uvicorn (spawned workers), celery.

Each app makes one chat call per request or task, naming its own pid in the prompt, so the records
show which worker process made each call. Nothing in the apps calls ``instrument()``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

PROMPT_APP = """
import os

# Work-around for a reported SDK bug (see test_background_imports.py): with openai 2.x, a request made
# while the SDK's background preload imports httpx2 fails. Importing httpx2 first avoids the window.
import httpx2
import openai

def ask():
    client = openai.OpenAI(api_key="k", base_url=os.environ["FAKE_OPENAI_URL"], max_retries=0)
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"pid {os.getpid()}"}]
    )
    return reply.choices[0].message.content
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, fake: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_MONITOR_", "OTEL_", "LANGSMITH_"))}
    env.update(
        LLM_MONITOR_JSONL_PATH=str(tmp_path / "records.jsonl"),
        LLM_MONITOR_FLUSH_INTERVAL="0.05",
        FAKE_OPENAI_URL=fake.openai_base_url,
        PYTHONPATH=str(tmp_path),
        PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    )
    return env


def _runner() -> list[str]:
    return [str(Path(sys.executable).with_name("llm-monitor")), "run"]


def _calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "records.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in lines if r.get("kind") == "llm_call"]


def _pids_in_records(tmp_path: Path) -> list[int]:
    return [int(c["input_messages"][0]["parts"][0]["content"].split()[1]) for c in _calls(tmp_path)]


def _wait_http(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.communicate()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    if process.returncode is not None:
        return process.returncode, "", ""
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def _spread_requests(url: str, workers: int, attempts: int = 60) -> list[dict[str, Any]]:
    """Concurrent requests until every worker answered at least once."""
    answers: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=workers * 2) as pool:
        for _ in range(attempts // (workers * 2)):
            answers += list(pool.map(lambda _: _get(url), range(workers * 2)))
            if len({a["pid"] for a in answers}) >= workers:
                break
    return answers


def test_gunicorn_forked_workers_all_record(tmp_path, fake):
    (tmp_path / "wsgi_app.py").write_text(
        PROMPT_APP
        + textwrap.dedent("""
        import json, time

        def app(environ, start_response):
            if environ["PATH_INFO"] == "/health":
                body = b"{}"
            else:
                time.sleep(0.2)  # keep a worker busy, so concurrent requests spread over the others
                body = json.dumps({"pid": os.getpid(), "text": ask()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        """)
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            *_runner(),
            "gunicorn",
            "-w",
            "3",
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "10",
            "wsgi_app:app",
        ],
        cwd=tmp_path,
        env=_env(tmp_path, fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/health", process)
        try:
            answers = _spread_requests(f"http://127.0.0.1:{port}/ask", workers=3)
        except OSError as exc:
            raise AssertionError(f"{exc}: {_stop(process)[2][-4000:]}") from None
    finally:
        code, _, err = _stop(process)
    assert code == 0, err
    assert all(a["text"] == "Paris is the capital of France." for a in answers)
    worker_pids = {a["pid"] for a in answers}
    assert len(worker_pids) == 3 and process.pid not in worker_pids  # forked workers, not the master
    assert sorted(_pids_in_records(tmp_path)) == sorted(a["pid"] for a in answers)


def test_uvicorn_spawned_workers_all_record(tmp_path, fake):
    (tmp_path / "asgi_app.py").write_text(
        PROMPT_APP.replace("openai.OpenAI", "openai.AsyncOpenAI")
        .replace("    reply = client", "    reply = await client")
        .replace("def ask", "async def ask")
        + textwrap.dedent("""
        import asyncio, json

        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            if scope["path"] == "/health":
                body = b"{}"
            else:
                await asyncio.sleep(0.2)
                body = json.dumps({"pid": os.getpid(), "text": await ask()}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
        """)
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            *_runner(),
            "uvicorn",
            "asgi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=tmp_path,
        env=_env(tmp_path, fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/health", process)
        answers = _spread_requests(f"http://127.0.0.1:{port}/ask", workers=2)
    finally:
        _stop(process, signal.SIGINT)
    worker_pids = {a["pid"] for a in answers}
    assert len(worker_pids) == 2
    assert sorted(_pids_in_records(tmp_path)) == sorted(a["pid"] for a in answers)


@pytest.mark.timeout(240)
def test_celery_prefork_children_record(tmp_path, fake):
    broker = tmp_path / "broker"
    for folder in ("in", "processed"):
        (broker / folder).mkdir(parents=True)
    (tmp_path / "tasks.py").write_text(
        PROMPT_APP
        + textwrap.dedent(f"""
        from celery import Celery

        app = Celery("tasks", broker="filesystem://")
        app.conf.broker_transport_options = {{
            "data_folder_in": {str(broker / "in")!r},
            "data_folder_out": {str(broker / "in")!r},
            "processed_folder": {str(broker / "processed")!r},
        }}
        app.conf.worker_hijack_root_logger = False

        @app.task
        def call_llm():
            return os.getpid(), ask()
        """)
    )
    env = _env(tmp_path, fake)
    worker = subprocess.Popen(
        [
            *_runner(),
            "celery",
            "-A",
            "tasks",
            "worker",
            "--pool=prefork",
            "-c",
            "2",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tasks = 6
    try:
        sender = subprocess.run(
            [sys.executable, "-c", f"import tasks\nfor _ in range({tasks}): tasks.call_llm.delay()"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sender.returncode == 0, sender.stderr
        deadline = time.monotonic() + 120
        while len(_calls(tmp_path)) < tasks and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.3)
    finally:
        _, _, err = _stop(worker)
    pids = _pids_in_records(tmp_path)
    assert len(pids) == tasks, err[-3000:]
    assert worker.pid not in pids  # the calls ran in the prefork children
