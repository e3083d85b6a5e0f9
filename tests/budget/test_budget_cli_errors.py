"""Errors a user can act on: ``budget status`` blames the flag it was given, the Redis-extra error names
the variable once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llm_monitor_sdk.budget import build_guard
from llm_monitor_sdk.cli import main


def test_bad_rules_flag_is_blamed_on_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_BUDGET_STORE", f"sqlite:///{tmp_path}/b.db")
    assert main(["budget", "status", "--rules", "user:dayly=2"]) == 2
    err = capsys.readouterr().err
    assert "--rules" in err and "dayly" in err
    assert "LLM_MONITOR_BUDGETS" not in err


def test_rules_flag_replaces_a_broken_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "user:fortnightly=2")  # broken, but overridden
    monkeypatch.setenv("LLM_MONITOR_BUDGET_STORE", f"sqlite:///{tmp_path}/b.db")
    assert main(["budget", "status", "--rules", "global:daily=5"]) == 0
    assert "global:daily=5" in capsys.readouterr().out


def test_bad_variable_is_still_blamed_on_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "user:dayly=2")
    monkeypatch.setenv("LLM_MONITOR_BUDGET_STORE", f"sqlite:///{tmp_path}/b.db")
    assert main(["budget", "status"]) == 2
    err = capsys.readouterr().err
    assert "LLM_MONITOR_BUDGETS" in err and "--rules" not in err.split("(or pass")[0]


def test_bad_store_flag_is_blamed_on_the_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "global:daily=5")
    assert main(["budget", "status", "--store", "postgres://db"]) == 2
    err = capsys.readouterr().err
    assert "--store" in err and "LLM_MONITOR_BUDGET_STORE" not in err


def test_missing_redis_extra_names_the_variable_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis now raises ImportError
    with pytest.raises(ValueError) as info:
        build_guard("global:daily=1", store="redis://:pw@127.0.0.1:6379/0")
    message = str(info.value)
    assert message.count("LLM_MONITOR_BUDGET_STORE") == 1
    assert "pip install -e '.[redis]'" in message and "llm-monitor-kit[redis]" in message
    assert "pw@" not in message
