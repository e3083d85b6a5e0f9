"""Secrets of the SDK's own sinks and stores never reach a log line, CLI output or exception message.

A faulty run plants a Redis password (dead Redis), an HTTP collector's ``user:pass@`` and ``?token=``,
and a bearer token in malformed ``LLM_MONITOR_HTTP_HEADERS``, then greps every channel: log records of
every logger at every level (messages, arguments and formatted tracebacks), the CLI's stdout and
stderr, and the messages of the exceptions raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import _secrets
from llm_monitor_sdk.budget import LedgerError, build_guard
from llm_monitor_sdk.cli import main
from llm_monitor_sdk.config import load_settings
from llm_monitor_sdk.errors import BudgetExceededError

REDIS_PW = "s3cr3t-redis-pw"
HTTP_PW = "c0llector-pw"
QUERY_TOKEN = "t0ken-in-query"
SIG = "s1g-value"
BEARER = "b3arer-t0ken-xyz"
SECRETS = (REDIS_PW, HTTP_PW, QUERY_TOKEN, SIG, BEARER)


def _dead_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Everything(logging.Handler):
    """Keeps every record of every logger, fully formatted (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(f"{record.name} args {record.args!r}")


@pytest.fixture
def every_log() -> Iterator[_Everything]:
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    touched = []
    for name in ("llm_monitor_sdk", "llm_monitor_sdk.budget", "redis", "urllib3", "httpx"):
        logger = logging.getLogger(name)
        touched.append((logger, logger.level, logger.disabled))
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for logger, level, disabled in touched:
            logger.setLevel(level)
            logger.disabled = disabled


def assert_clean(*texts: str) -> None:
    joined = "\n".join(texts)
    leaked = [secret for secret in SECRETS if secret in joined]
    assert not leaked, f"secrets {leaked} leaked into:\n{joined}"


@pytest.fixture
def faulty_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "LLM_MONITOR_BUDGETS": "user:daily=1",
        "LLM_MONITOR_BUDGET_STORE": f"redis://:{REDIS_PW}@127.0.0.1:{_dead_port()}/0",
        "LLM_MONITOR_HTTP_URL": (
            f"http://collector:{HTTP_PW}@127.0.0.1:{_dead_port()}/ingest?token={QUERY_TOKEN}&sig={SIG}&v=1"
        ),
        "LLM_MONITOR_HTTP_HEADERS": f"X-Team=core,Authorization: Bearer {BEARER}",  # ':' instead of '='
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_malformed_headers_error_names_the_variable_not_the_token(faulty_env: dict[str, str]) -> None:
    with pytest.raises(ValueError) as info:
        load_settings()
    message = str(info.value)
    assert "LLM_MONITOR_HTTP_HEADERS" in message and "Authorization" in message and "item 2" in message
    assert_clean(message, repr(info.value))
    with pytest.raises(ValueError) as from_instrument:
        lm.instrument(providers=[])
    assert_clean(str(from_instrument.value))


def test_cli_config_and_budget_status_never_print_secrets(
    faulty_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    every_log: _Everything,
) -> None:
    assert main(["config"]) == 2  # the malformed headers
    bad = capsys.readouterr()
    assert "LLM_MONITOR_HTTP_HEADERS" in bad.err
    monkeypatch.setenv("LLM_MONITOR_HTTP_HEADERS", f"Authorization=Bearer {BEARER},X-Team=core")
    assert main(["config"]) == 0
    good = capsys.readouterr()
    assert "http_url = 'http://collector:***@127.0.0.1:" in good.out and "token=***&sig=***&v=1" in good.out
    assert "budget_store = 'redis://:***@127.0.0.1:" in good.out
    assert "'Authorization': '***'" in good.out
    assert main(["budget", "status"]) == 1  # the dead Redis
    status = capsys.readouterr()
    assert "cannot read the budget store" in status.err
    assert main(["budget", "status", "--store", f"redis://:{REDIS_PW}@127.0.0.1:notaport/0"]) == 2
    bad_store = capsys.readouterr()
    assert "--store" in bad_store.err and "bad port" in bad_store.err
    assert_clean(bad.out, bad.err, good.out, good.err, status.out, status.err, bad_store.out, bad_store.err)
    assert_clean(*every_log.texts)


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_dead_redis_with_a_password_never_leaks_from_the_guard(
    faulty_env: dict[str, str], every_log: _Everything, policy: str
) -> None:
    errors: list[str] = []
    guard = build_guard(
        "user:daily=1",
        store=faulty_env["LLM_MONITOR_BUDGET_STORE"],
        on_store_error=policy,
        store_retry_s=0.01,
    )
    assert guard is not None
    for _ in range(3):
        try:
            res = guard.reserve({"user": "alice"}, 0.2)
            guard.settle(res, 0.2)
        except BudgetExceededError as exc:
            errors.append(str(exc))
            errors.append(repr(exc))
    try:
        guard.status()
    except LedgerError as exc:
        errors.append(str(exc))
    guard.close()
    assert every_log.texts  # the outage was logged
    assert any("redis://:***@" in text for text in every_log.texts)
    assert_clean(*every_log.texts, *errors)


@pytest.mark.parametrize(
    "store",
    [
        f"redis://:{REDIS_PW}@127.0.0.1:notaport/0",
        f"redis://:{REDIS_PW}@/0",
        f"postgres://admin:{REDIS_PW}@db/budgets",
        f"sqlite:/:{REDIS_PW}@x",
    ],
)
def test_store_configuration_errors_mask_the_password(store: str) -> None:
    with pytest.raises(ValueError) as info:
        build_guard("user:daily=1", store=store)
    assert "LLM_MONITOR_BUDGET_STORE" in str(info.value)
    assert_clean(str(info.value))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:p@ss#w?rd@host:1/0", "redis://user:***@host:1/0"),
        (
            "https://bob:pw@h/x?token=abc&x=1&api_key=k#frag",
            "https://bob:***@h/x?token=***&x=1&api_key=***#***",
        ),
        ("https://ghp_abc@github.com/x", "https://***@github.com/x"),
        ("https://h/x?sig=abc;sv=2024&X-Amz-Signature=zz", "https://h/x?sig=***;sv=2024&X-Amz-Signature=***"),
        ("unix://:pw@/tmp/r.sock?db=0&password=zz", "unix://:***@/tmp/r.sock?db=0&password=***"),
        ("https://example.com/users/@me", "https://example.com/users/@me"),
        ("https://host/path?email=a@b.example&token=1", "https://host/path?email=a@b.example&token=***"),
        ("memory", "memory"),
        ("sqlite:///var/lib/app/budgets.db", "sqlite:///var/lib/app/budgets.db"),
    ],
)
def test_mask_url(url: str, expected: str) -> None:
    assert _secrets.mask_url(url) == expected


def test_mask_url_path_for_webhooks() -> None:
    assert (
        _secrets.mask_url("https://hooks.slack.com/services/T0/B0/XYZ", path=True)
        == "https://hooks.slack.com/***"
    )


def test_mask_headers_and_mapping_text() -> None:
    assert _secrets.mask_headers({"Authorization": "Bearer x", "X-Empty": ""}) == {
        "Authorization": "***",
        "X-Empty": "",
    }
    assert (
        _secrets.mask_mapping_text(
            "Authorization=Bearer abc,X-Team=core,Authorization: Bearer zz,sk-123,Authorization"
        )
        == "Authorization=***,X-Team=***,Authorization: ***,***,Authorization"
    )


def test_mask_text_masks_urls_pairs_and_bearer_tokens_but_keeps_messages() -> None:
    text = (
        "store 'redis://:pw1@h:1/0': Error 111. password=pw2 Authorization: Bearer pw3 token=pw4 "
        "AuthenticationError: invalid username-password pair"
    )
    masked = _secrets.mask_text(text)
    assert not any(secret in masked for secret in ("pw1", "pw2", "pw3", "pw4"))
    assert "AuthenticationError: invalid username-password pair" in masked
    assert _secrets.mask_text("Bearer abcdefgh") == "Bearer ***"
    assert _secrets.mask_text("nothing to hide: 3 calls") == "nothing to hide: 3 calls"


_RUN: dict[str, list[str]] = {}


@pytest.fixture
def faulty_run(
    monkeypatch: pytest.MonkeyPatch, every_log: _Everything, fake_provider: object
) -> dict[str, list[str]]:
    """The whole faulty run through instrument() (run once for the tests that share it): budgets on a
    dead Redis with a password and the HTTP exporter to a dead collector with credentials and a bearer
    header, calls through the fake provider, flush and shutdown. Gives the log texts and the messages
    of the exceptions the calls raised."""
    if _RUN:
        return _RUN
    monkeypatch.setenv("LLM_MONITOR_BUDGETS", "user:daily=1")
    monkeypatch.setenv("LLM_MONITOR_BUDGET_STORE", f"redis://:{REDIS_PW}@127.0.0.1:{_dead_port()}/0")
    url = f"http://collector:{HTTP_PW}@127.0.0.1:{_dead_port()}/ingest?token={QUERY_TOKEN}&sig={SIG}"
    errors: list[str] = []
    lm.instrument(
        providers=["openai"],
        exporters="http",
        http_url=url,
        http_headers={"Authorization": f"Bearer {BEARER}"},
        flush_interval=0.05,
        http_timeout=0.5,
        shutdown_timeout=0.5,
    )
    client = fake_provider.openai_client()  # type: ignore[attr-defined]
    with lm.context(user_id="alice"):
        for _ in range(3):
            try:
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
            except BudgetExceededError as exc:
                errors.append(str(exc))
    lm.flush(timeout=1.0)
    lm.uninstrument()
    _RUN.update(logs=list(every_log.texts), errors=errors)
    return _RUN


def test_instrumented_faulty_run_leaks_nothing_outside_the_exporters(
    faulty_run: dict[str, list[str]],
) -> None:
    logs = faulty_run["logs"]
    assert any(text.startswith("llm_monitor_sdk.budget") for text in logs)
    assert_clean(*(t for t in logs if not t.startswith("llm_monitor_sdk.exporters")), *faulty_run["errors"])


def test_instrumented_faulty_run_leaks_nothing_from_the_exporters(faulty_run: dict[str, list[str]]) -> None:
    assert any(text.startswith("llm_monitor_sdk.exporters") for text in faulty_run["logs"])
    assert_clean(*faulty_run["logs"])
