"""Issue 14.3: paths that do damage. Foreign files are never repaired, symlinks never followed, foreign
spool files never replayed or deleted, unusable paths rejected by ``instrument()``, and ``flush()``
tells the truth about failed writes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk.exporters import JSONLExporter
from llm_monitor_sdk.exporters._spool import DiskSpool, spool_header
from llm_monitor_sdk.exporters.http import HTTPExporter


def _record(n: int) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "span", "n": n}


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


# ---------------------------------------------------------------- a. foreign file without a final newline

SETTINGS = b"[server]\nhost = example.org\nport = 8080\n# no newline at the end"


@pytest.mark.parametrize(
    "content",
    [
        SETTINGS,
        b'{"name": "settings", "debug": true}',  # one JSON object, not a record
        b'{"a": 1}\n{"b": 2',  # JSON lines that are not records
        b"x" * 200_000,  # a large binary-ish blob
    ],
    ids=["ini", "json-object", "foreign-jsonl", "blob"],
)
def test_foreign_file_without_final_newline_is_left_untouched(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.conf"
    path.write_bytes(content)
    exporter = JSONLExporter(path)
    with caplog.at_level(logging.ERROR, logger="llm_monitor_sdk"):
        for n in range(3):
            with pytest.raises(OSError, match="not an llm-monitor JSONL file"):
                exporter.export([_record(n)])
    exporter.shutdown()
    assert path.read_bytes() == content
    logged = _messages(caplog, "does not look like an llm-monitor JSONL file")
    assert len(logged) == 1 and str(path) in logged[0].getMessage()


def test_foreign_file_at_the_configured_path_is_a_value_error_at_instrument(tmp_path: Path) -> None:
    path = tmp_path / "app.ini"
    path.write_bytes(SETTINGS)
    with pytest.raises(ValueError, match="LLM_MONITOR_JSONL_PATH") as info:
        lm.instrument(providers=[], exporters=["jsonl"], jsonl_path=str(path))
    assert str(path) in str(info.value) and "not an llm-monitor JSONL file" in str(info.value)
    assert path.read_bytes() == SETTINGS


@pytest.mark.internal_errors_expected
def test_foreign_file_appearing_after_instrument_fails_the_batches_and_flush(tmp_path: Path) -> None:
    path = tmp_path / "app.ini"
    lm.instrument(providers=[], exporters=["jsonl"], jsonl_path=str(path), flush_interval=60)
    path.write_bytes(SETTINGS)

    @lm.observe("step")
    def step() -> None:
        pass

    step()
    assert lm.flush(10) is False
    assert path.read_bytes() == SETTINGS
    assert lm.stats()["exporters"]["jsonl"]["failed"] == 1


def test_our_file_with_a_torn_tail_is_still_repaired(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(json.dumps(_record(0)).encode() + b'\n{"kind": "span", "n": 1, "te')
    exporter = JSONLExporter(path)
    exporter.export([_record(2)])
    exporter.shutdown()
    assert [json.loads(line)["n"] for line in path.read_bytes().splitlines()] == [0, 2]


# ---------------------------------------------------------------- b. symlinks are not followed


def test_planted_symlink_is_refused_and_its_target_untouched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "victim.txt"
    target.write_bytes(b"precious\n")
    path = tmp_path / "records.jsonl"
    path.symlink_to(target)
    exporter = JSONLExporter(path)
    with caplog.at_level(logging.ERROR, logger="llm_monitor_sdk"):
        for n in range(2):
            with pytest.raises(OSError, match="symlink"):
                exporter.export([_record(n)])
    exporter.shutdown()
    assert target.read_bytes() == b"precious\n" and path.is_symlink()
    logged = _messages(caplog, "is a symlink; refusing to follow it")
    assert len(logged) == 1 and str(path) in logged[0].getMessage()


def test_symlink_swapped_in_before_rotation_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_bytes(b"precious\n")
    path = tmp_path / "records.jsonl"
    exporter = JSONLExporter(path, max_bytes=10_000)
    exporter.export([_record(0)])
    path.unlink()
    path.symlink_to(target)  # another writer's "rotation", by an attacker
    with pytest.raises(OSError):
        exporter.export([_record(1)])
    exporter.shutdown()
    assert target.read_bytes() == b"precious\n"


@pytest.mark.internal_errors_expected
def test_symlink_through_instrument_is_logged_counted_and_flush_is_false(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "victim.txt"
    target.write_bytes(b"precious\n")
    path = tmp_path / "records.jsonl"
    path.symlink_to(target)
    with caplog.at_level(logging.ERROR, logger="llm_monitor_sdk"):
        lm.instrument(providers=[], exporters=["jsonl"], jsonl_path=str(path), flush_interval=60)

        @lm.observe("step")
        def step() -> None:
            pass

        step()
        step()
        assert lm.flush(10) is False
    assert target.read_bytes() == b"precious\n"
    assert lm.stats()["exporters"]["jsonl"]["failed"] == 2
    assert len(_messages(caplog, "is a symlink; refusing to follow it")) == 1
    # Once the path is fixed, records flow again and flush says so.
    path.unlink()
    step()
    assert lm.flush(10) is True
    assert [json.loads(line)["kind"] for line in path.read_bytes().splitlines()] == ["span"]


# ---------------------------------------------------------------- c. foreign files in the spool


def _foreign_body() -> bytes:
    return json.dumps({"records": [{"record_id": "planted", "kind": "llm_call"}]}).encode()


def test_foreign_files_in_the_spool_are_never_replayed_nor_deleted(
    receiver: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    planted = {
        # Named like a batch but without our header: an attacker's payload for the collector.
        "00000000000000000000-1.json": _foreign_body(),
        # Our header, another user's uid.
        "00000000000000000001-1.json": spool_header(1).replace(f"uid={os.getuid()}".encode(), b"uid=424242")
        + _foreign_body(),
        # Named like an interrupted write of ours: was deleted on start-up.
        ".tmp-1-00000000000000000002-1.json": b"someone else's notes",
        "notes.txt": b"keep me",
    }
    for name, data in planted.items():
        (spool / name).write_bytes(data)
    outside = tmp_path / "outside.json"
    outside.write_bytes(_foreign_body())
    (spool / "00000000000000000003-1.json").symlink_to(outside)

    with caplog.at_level(logging.WARNING, logger="llm_monitor_sdk"):
        exporter = HTTPExporter(
            receiver.url, {"Authorization": "Bearer secret"}, spool_dir=str(spool), spool_fsync=False
        )
        exporter.export([{"record_id": "ours", "kind": "llm_call"}])
        assert exporter.force_flush(10)
        exporter.shutdown()
    assert receiver.record_ids() == ["ours"]
    for name, data in planted.items():
        assert (spool / name).read_bytes() == data
    assert (spool / "00000000000000000003-1.json").is_symlink() and outside.read_bytes() == _foreign_body()
    warned = _messages(caplog, "is not an llm-monitor spool file of this user")
    assert len(warned) == 4  # each foreign file once, notes.txt (not batch-like) not at all
    assert not _messages(caplog, "notes.txt")


def test_our_spooled_batches_carry_the_header_and_are_replayed(receiver: Any, tmp_path: Path) -> None:
    spool = DiskSpool(str(tmp_path), max_bytes=10_000, fsync=False)
    body = json.dumps({"records": [{"record_id": "spooled", "kind": "llm_call"}]}).encode()
    entry = spool.put(0, body, 1)
    assert entry is not None
    data = Path(entry.path).read_bytes()
    assert data == spool_header(1) + body
    assert data.startswith(b"LLMMON-SPOOL/1 uid=%d " % os.getuid())
    exporter = HTTPExporter(receiver.url, spool_dir=str(tmp_path), spool_fsync=False)
    assert exporter.force_flush(10)
    exporter.shutdown()
    assert receiver.record_ids() == ["spooled"] and os.listdir(tmp_path) == []


def test_spool_write_never_follows_a_symlink_at_the_temporary_name(tmp_path: Path) -> None:
    spool = DiskSpool(str(tmp_path / "spool"), max_bytes=10_000, fsync=False)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    (tmp_path / "spool" / f".tmp-{os.getpid()}-00000000000000000000-1.json").symlink_to(victim)
    assert spool.put(0, b"{}", 1) is not None
    assert victim.read_bytes() == b"precious"


# ---------------------------------------------------------------- d. unusable paths fail at instrument()


def test_jsonl_path_through_a_file_is_a_value_error_naming_the_variable(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a file, not a folder")
    bad = str(tmp_path / "a" / "b" / ".." / ".." / "x" / "records.jsonl")
    with pytest.raises(ValueError, match="LLM_MONITOR_JSONL_PATH") as info:
        lm.instrument(providers=[], exporters=["jsonl"], jsonl_path=bad)
    assert bad in str(info.value) and "cannot be written" in str(info.value)


def test_jsonl_path_from_the_environment_that_is_a_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LLM_MONITOR_JSONL_PATH", str(tmp_path))
    with pytest.raises(ValueError, match=r"LLM_MONITOR_JSONL_PATH.*is a directory"):
        lm.instrument(providers=[])


def test_dotdot_path_that_can_be_written_lands_where_the_kernel_resolves_it(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / ".." / ".." / "x" / "records.jsonl"
    lm.instrument(providers=[], exporters=["jsonl"], jsonl_path=str(path), flush_interval=60)

    @lm.observe("step")
    def step() -> None:
        pass

    step()
    assert lm.flush(10)
    assert (tmp_path / "x" / "records.jsonl").read_bytes().count(b"\n") == 1


@pytest.mark.parametrize("kind", ["through-a-file", "is-a-file"])
def test_unusable_spool_dir_is_a_value_error_naming_the_variable(tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    spool = blocker / "spool" if kind == "through-a-file" else blocker
    with pytest.raises(ValueError, match="LLM_MONITOR_SPOOL_DIR") as info:
        lm.instrument(
            providers=[],
            exporters=["http"],
            http_url="http://127.0.0.1:9/ingest",
            spool_dir=str(spool),
        )
    assert str(spool) in str(info.value)


# ---------------------------------------------------------------- e. flush() reports failed writes


@pytest.mark.internal_errors_expected
def test_flush_is_false_after_a_failed_write_and_true_again_after_a_good_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "records.jsonl"
    exporter = JSONLExporter(path)
    lm.instrument(providers=[], exporters=[exporter], flush_interval=60)

    @lm.observe("step")
    def step() -> None:
        pass

    step()
    assert lm.flush(10) is True
    real_write = os.write

    def failing(fd: int, data: Any) -> int:
        if fd == exporter._fd:
            raise PermissionError(13, "Permission denied")
        return real_write(fd, data)

    monkeypatch.setattr("llm_monitor_sdk.exporters.jsonl.os.write", failing)
    step()
    assert lm.flush(10) is False  # the PermissionError is logged and counted: not exported
    monkeypatch.undo()
    step()
    assert lm.flush(10) is True
    assert lm.stats()["exporters"]["jsonl"]["failed"] == 1
