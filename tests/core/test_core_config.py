"""Every ``LLM_MONITOR_*`` variable: default, a good value, a bad value; keyword overrides."""

from __future__ import annotations

import dataclasses

import pytest

import llm_monitor_sdk as lm
from llm_monitor_sdk import config
from llm_monitor_sdk.config import VARIABLES, Settings, load_settings

# variable -> (a good value, what it parses to, a bad value or None when any text is acceptable).
# Bad values checked only by instrument() (budget grammar, prices file, entity names) are in _LATE.
CASES: dict[str, tuple[str, object, str | None]] = {
    "LLM_MONITOR_DISABLED": ("YES", True, "maybe"),
    "LLM_MONITOR_EXPORTERS": ("JSONL, console", ("jsonl", "console"), "jsonl,kafka"),
    "LLM_MONITOR_JSONL_PATH": ("/var/log/x.jsonl", "/var/log/x.jsonl", None),
    "LLM_MONITOR_JSONL_MAX_BYTES": ("2048", 2048, "-1"),
    "LLM_MONITOR_JSONL_BACKUPS": ("3", 3, "three"),
    "LLM_MONITOR_HTTP_URL": ("http://127.0.0.1:9/in", "http://127.0.0.1:9/in", None),
    "LLM_MONITOR_HTTP_HEADERS": (
        "Authorization=Bearer a=b, X-Team = core",
        {"Authorization": "Bearer a=b", "X-Team": "core"},
        "Authorization",
    ),
    "LLM_MONITOR_HTTP_TIMEOUT": ("2.5", 2.5, "0"),
    "LLM_MONITOR_SPOOL_DIR": ("/tmp/spool", "/tmp/spool", None),
    "LLM_MONITOR_SPOOL_MAX_BYTES": ("1000", 1000, "1e3x"),
    "LLM_MONITOR_CAPTURE_CONTENT": ("off", False, "sometimes"),
    "LLM_MONITOR_REDACT": ("0", False, "2"),
    "LLM_MONITOR_REDACT_ENTITIES": ("email_address, us_ssn", ("EMAIL_ADDRESS", "US_SSN"), "NOT_A_TYPE"),
    "LLM_MONITOR_REDACT_STRATEGY": ("EMAIL_ADDRESS=hash", {"EMAIL_ADDRESS": "hash"}, "EMAIL_ADDRESS"),
    "LLM_MONITOR_REDACT_KEY": ("s3cret", "s3cret", None),
    "LLM_MONITOR_REDACT_USER_ID": ("true", True, "hashed"),
    "LLM_MONITOR_REDACT_ACCELERATOR": ("off", False, "sometimes"),
    "LLM_MONITOR_SAMPLE_RATE": ("0.25", 0.25, "1.5"),
    "LLM_MONITOR_BUDGETS": ("global:daily=100", "global:daily=100", "user:fortnightly=5"),
    "LLM_MONITOR_BUDGET_MODE": ("WARN", "warn", "block"),
    "LLM_MONITOR_BUDGET_STORE": ("sqlite:///tmp/b.db", "sqlite:///tmp/b.db", "postgres://db"),
    "LLM_MONITOR_BUDGET_ON_STORE_ERROR": ("closed", "closed", "ajar"),
    "LLM_MONITOR_BUDGET_RESERVATION_TTL": ("30", 30.0, "0.5"),
    "LLM_MONITOR_BUDGET_DEFAULT_MAX_TOKENS": ("100", 100, "0"),
    "LLM_MONITOR_PRICES_FILE": ("/etc/prices.json", "/etc/prices.json", "/nonexistent/prices.json"),
    "LLM_MONITOR_SERVICE_NAME": ("checkout", "checkout", None),
    "LLM_MONITOR_STREAM_USAGE": ("false", False, "nope"),
    "LLM_MONITOR_QUEUE_SIZE": ("10", 10, "0"),
    "LLM_MONITOR_BATCH_SIZE": ("64", 64, "nan"),
    "LLM_MONITOR_FLUSH_INTERVAL": ("0.5", 0.5, "inf"),
    "LLM_MONITOR_SHUTDOWN_TIMEOUT": ("0.5", 0.5, "-1"),
    "LLM_MONITOR_MAX_CONTENT_CHARS": ("1000", 1000, "many"),
    "LLM_MONITOR_ALERTS": (
        "error_rate>0.02 over 5m",
        "error_rate>0.02 over 5m",
        "error_rate>0.02 over 5 min",
    ),
    "LLM_MONITOR_ALERT_WEBHOOK": ("http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook", None),
    "LLM_MONITOR_EVALUATORS": ("refusal,grounding:0.5", "refusal,grounding:0.5", "refusal,bogus"),
}
# Bad values that parse as text but are rejected when instrument() builds the monitor.
_LATE = {
    "LLM_MONITOR_BUDGETS",
    "LLM_MONITOR_PRICES_FILE",
    "LLM_MONITOR_REDACT_ENTITIES",
    "LLM_MONITOR_EVALUATORS",
    "LLM_MONITOR_ALERTS",
}

_IDS = [variable.name for variable in VARIABLES]


def test_every_variable_has_cases() -> None:
    assert set(CASES) == {variable.name for variable in VARIABLES}


@pytest.mark.parametrize("variable", VARIABLES, ids=_IDS)
def test_default_matches_settings_default(variable: config.Variable) -> None:
    # The table's default text parses to the dataclass default, so docs and code agree.
    settings = load_settings({})
    declared = {f.name: f for f in dataclasses.fields(Settings)}[variable.field]
    default = declared.default if declared.default is not dataclasses.MISSING else declared.default_factory()
    parsed = variable.parse(variable.default, variable.name)
    if variable.field == "service_name":
        assert parsed is None and settings.service_name == "unknown_service"
        return
    assert parsed == default
    assert getattr(settings, variable.field) == default


@pytest.mark.parametrize("variable", VARIABLES, ids=_IDS)
def test_good_value(variable: config.Variable) -> None:
    text, expected, _ = CASES[variable.name]
    settings = load_settings({variable.name: text})
    assert getattr(settings, variable.field) == expected


_BAD = [v for v in VARIABLES if CASES[v.name][2] is not None]


@pytest.mark.parametrize(
    "variable", [v for v in _BAD if v.name not in _LATE], ids=[v.name for v in _BAD if v.name not in _LATE]
)
def test_bad_value_rejected_by_load_settings(variable: config.Variable) -> None:
    bad = CASES[variable.name][2]
    assert bad is not None
    with pytest.raises(ValueError) as info:
        load_settings({variable.name: bad})
    assert variable.name in str(info.value)
    assert bad in str(info.value)


@pytest.mark.parametrize("variable", _BAD, ids=[v.name for v in _BAD])
def test_bad_env_value_makes_instrument_raise(
    variable: config.Variable, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = CASES[variable.name][2]
    assert bad is not None
    monkeypatch.setenv(variable.name, bad)
    with pytest.raises(ValueError) as info:
        lm.instrument(providers=[])
    assert variable.name in str(info.value)
    assert bad in str(info.value)
    assert lm.get_monitor() is None  # nothing was switched on


def test_service_name_falls_back_to_otel_service_name() -> None:
    assert load_settings({"OTEL_SERVICE_NAME": "billing"}).service_name == "billing"
    env = {"OTEL_SERVICE_NAME": "billing", "LLM_MONITOR_SERVICE_NAME": "checkout"}
    assert load_settings(env).service_name == "checkout"


def test_http_exporter_without_url_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MONITOR_EXPORTERS", "http")
    with pytest.raises(ValueError, match="LLM_MONITOR_HTTP_URL"):
        lm.instrument(providers=[])


def test_none_cannot_be_combined() -> None:
    with pytest.raises(ValueError, match="LLM_MONITOR_EXPORTERS"):
        load_settings({"LLM_MONITOR_EXPORTERS": "none,jsonl"})


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("sample_rate", 2),
        ("sample_rate", -0.1),
        ("sample_rate", "lots"),
        ("queue_size", 0),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("flush_interval", 0),
        ("flush_interval", float("nan")),
        ("jsonl_backups", -1),
        ("http_timeout", -5),
        ("capture_content", "perhaps"),
        ("budget_mode", "block"),
    ],
)
def test_bad_keyword_override_raises(keyword: str, value: object) -> None:
    with pytest.raises(ValueError) as info:
        lm.instrument(providers=[], exporters="none", **{keyword: value})
    assert keyword in str(info.value)
    assert str(value) in str(info.value)
    assert lm.get_monitor() is None


def test_keyword_overrides_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MONITOR_SAMPLE_RATE", "0.5")
    monkeypatch.setenv("LLM_MONITOR_CAPTURE_CONTENT", "true")
    monitor = lm.instrument(
        providers=[],
        exporters="none",
        sample_rate=1,
        capture_content=False,
        queue_size=7,
        flush_interval=0.25,
    )
    assert monitor.settings.sample_rate == 1.0
    assert monitor.settings.capture_content is False
    assert monitor.settings.queue_size == 7
    assert monitor.settings.flush_interval == 0.25
    assert monitor.pipeline is not None and monitor.pipeline.queue_size == 7


def test_keyword_string_values_use_the_env_parser() -> None:
    settings = load_settings({}, capture_content="off", exporters="console", queue_size="12")
    assert settings.capture_content is False
    assert settings.exporters == ("console",)
    assert settings.queue_size == 12


def test_unknown_keyword_raises() -> None:
    with pytest.raises(ValueError, match="sample_rte"):
        lm.instrument(providers=[], sample_rte=0.5)


def test_exporter_objects_are_checked() -> None:
    with pytest.raises(ValueError, match="exporters"):
        lm.instrument(providers=[], exporters=[object()])


def test_disabled_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MONITOR_DISABLED", "true")
    monitor = lm.instrument(providers=[])
    assert monitor.disabled and monitor.pipeline is None
    assert lm.get_monitor() is None


# --- errors a user can act on (issue 14 item 5) ---------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", ",", " , "])
def test_empty_exporters_raises_instead_of_exporting_nothing(text: str) -> None:
    with pytest.raises(ValueError) as info:
        load_settings({"LLM_MONITOR_EXPORTERS": text})
    assert "LLM_MONITOR_EXPORTERS" in str(info.value) and "none" in str(info.value)


def test_empty_exporters_makes_instrument_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MONITOR_EXPORTERS", "")
    with pytest.raises(ValueError, match="LLM_MONITOR_EXPORTERS"):
        lm.instrument(providers=[])
    assert lm.get_monitor() is None


def test_none_still_means_no_exporter() -> None:
    assert load_settings({"LLM_MONITOR_EXPORTERS": "none"}).exporters == ("none",)


@pytest.fixture
def fresh_warnings() -> None:
    config._warned_unknown.clear()


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("LLM_MONITOR_BUDGET", "LLM_MONITOR_BUDGETS"),
        ("LLM_MONITOR_EXPORTER", "LLM_MONITOR_EXPORTERS"),
        ("LLM_MONITOR_SAMPLERATE", "LLM_MONITOR_SAMPLE_RATE"),
        ("LLM_MONITOR_JSONL_PTH", "LLM_MONITOR_JSONL_PATH"),
        ("llm_monitor_redact", "LLM_MONITOR_REDACT"),
    ],
)
def test_misspelt_variable_gives_one_warning_with_the_closest_name(
    name: str, suggestion: str, fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="llm_monitor_sdk"):
        for _ in range(3):
            load_settings({name: "x"})
    warnings = [r for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelname == "WARNING"
    assert f"did you mean {suggestion}?" in warnings[0].getMessage()


def test_unrelated_variable_warning_names_no_false_suggestion(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="llm_monitor_sdk"):
        load_settings({"LLM_MONITOR_ZZZQQQ": "1"})
    (record,) = [r for r in caplog.records if "LLM_MONITOR_ZZZQQQ" in r.getMessage()]
    assert "did you mean" not in record.getMessage() and "--reference" in record.getMessage()


def test_valid_variables_and_other_prefixes_are_not_warned_about(
    fresh_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    env = {variable.name: variable.default for variable in VARIABLES}
    env.update({"OTEL_SERVICE_NAME": "svc", "LLM_MONITORING": "x", "PATH": "/bin"})
    with caplog.at_level("WARNING", logger="llm_monitor_sdk"):
        load_settings(env)
    assert not [r for r in caplog.records if "not an llm-monitor-sdk setting" in r.getMessage()]


def test_malformed_headers_error_masks_values_but_names_the_item() -> None:
    with pytest.raises(ValueError) as info:
        load_settings({"LLM_MONITOR_HTTP_HEADERS": "X-Team=core,Authorization Bearer sk-live-123"})
    message = str(info.value)
    assert "LLM_MONITOR_HTTP_HEADERS" in message and "item 2" in message and "key=value" in message
    assert "sk-live-123" not in message and "core" not in message


def test_otel_resource_attributes_name_the_service_and_reach_every_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=checkout,deployment.environment=prod%20eu")
    exporter = lm.exporters.InMemoryExporter()
    lm.instrument(providers=[], exporters=[exporter], flush_interval=0.02)

    @lm.observe
    def step() -> None:
        pass

    step()
    assert lm.flush(5)
    [record] = exporter.records
    assert record["service_name"] == "checkout"
    assert record["resource"] == {"service.name": "checkout", "deployment.environment": "prod eu"}
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing")
    monkeypatch.setenv("LLM_MONITOR_SERVICE_NAME", "")
    assert load_settings().service_name == "billing"  # OTEL_SERVICE_NAME wins over the attributes
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES")
    assert load_settings().resource == {}
