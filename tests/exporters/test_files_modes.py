"""Issue 14.2: everything the SDK writes to disk is private to the process user, whatever the umask.

Files 0600, directories 0700, under ``umask 000`` (run in a subprocess so the test process's umask is
never changed): the JSONL file and its folders, the HTTP spool's folder and batch files, the SQLite
budget database with its ``-wal``/``-shm`` files. A pre-existing JSONL file others can read is
logged once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import llm_monitor_sdk
from llm_monitor_sdk.exporters import JSONLExporter

SRC = str(Path(llm_monitor_sdk.__file__).resolve().parents[1])  # the package under test


def _dead_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_every_file_and_folder_created_under_umask_000_is_private(tmp_path: Path) -> None:
    jsonl = tmp_path / "logs" / "deep" / "records.jsonl"
    spool = tmp_path / "spool" / "http"
    db = tmp_path / "state" / "budgets.db"
    script = textwrap.dedent(f"""
        import os, time
        os.umask(0)
        import llm_monitor_sdk as lm
        from llm_monitor_sdk.testing import FakeProvider

        lm.instrument(
            ["openai"], exporters=["jsonl", "http"], jsonl_path={str(jsonl)!r},
            http_url="http://127.0.0.1:{_dead_port()}/ingest", spool_dir={str(spool)!r},
            budgets="global:daily=100", budget_store="sqlite:///{db}", flush_interval=0.05,
        )
        with FakeProvider() as fake:
            client = fake.openai_client()
            client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
            lm.flush(1)
            deadline = time.monotonic() + 20
            while not [n for n in os.listdir({str(spool)!r}) if n.endswith(".json")]:
                assert time.monotonic() < deadline, "nothing spooled"
                time.sleep(0.02)
            # Inspect while the database is open: the -wal and -shm files exist now.
            import stat as st
            for suffix in ("", "-wal", "-shm"):
                print("DB", suffix, oct(st.S_IMODE(os.stat({str(db)!r} + suffix).st_mode)), flush=True)
        os._exit(0)
    """)
    env = {**os.environ, "PYTHONPATH": SRC}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    db_modes = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("DB")]
    assert db_modes == ["0o600", "0o600", "0o600"]
    assert _mode(jsonl) == 0o600
    assert _mode(jsonl.parent) == _mode(jsonl.parent.parent) == 0o700
    assert _mode(spool) == _mode(spool.parent) == 0o700
    spooled = [p for p in spool.iterdir()]
    assert spooled and all(_mode(p) == 0o600 for p in spooled)
    assert _mode(db.parent) == 0o700
    assert json.loads(jsonl.read_text().splitlines()[0])["kind"] == "llm_call"


def test_existing_folders_are_left_as_they_are(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    exporter = JSONLExporter(shared / "new" / "records.jsonl")
    exporter.export([{"kind": "span", "n": 0}])
    exporter.shutdown()
    assert _mode(shared) == 0o755  # not ours to change
    assert _mode(shared / "new") == 0o700


def test_readable_pre_existing_jsonl_file_is_logged_once_naming_it(tmp_path: Path, caplog) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text('{"kind": "span", "n": 0}\n')
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
        exporter = JSONLExporter(path, max_bytes=200, backups=1)
        for n in range(1, 20):  # rotations reopen the file: still one warning
            exporter.export([{"kind": "span", "n": n, "pad": "x" * 40}])
        exporter.shutdown()
    warnings = [r for r in caplog.records if "can be read by other users" in r.getMessage()]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage() and warnings[0].levelno == logging.WARNING
    assert _mode(path) == 0o600  # the files rotation created are ours again


def test_private_jsonl_file_is_not_logged(tmp_path: Path, caplog) -> None:
    path = tmp_path / "records.jsonl"
    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
        exporter = JSONLExporter(path)
        exporter.export([{"kind": "span", "n": 0}])
        exporter.shutdown()
        exporter = JSONLExporter(path)
        exporter.export([{"kind": "span", "n": 1}])
        exporter.shutdown()
    assert not [r for r in caplog.records if "other users" in r.getMessage()]
