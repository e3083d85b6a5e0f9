"""Configuration: environment formats, instrument(redact=...) values, errors naming the variable."""

from __future__ import annotations

import pytest

from llm_monitor_sdk.redaction import (
    BUILTIN_ENTITIES,
    RedactionConfig,
    build_redactor,
    parse_entities,
    parse_strategies,
)

ENT = "LLM_MONITOR_REDACT_ENTITIES"
STRAT = "LLM_MONITOR_REDACT_STRATEGY"


def test_parse_entities_forms() -> None:
    assert parse_entities("", ENT) is None
    assert parse_entities("all", ENT) is None
    assert parse_entities("email_address, CREDIT_CARD", ENT) == {"EMAIL_ADDRESS", "CREDIT_CARD"}
    assert parse_entities("-PHONE_NUMBER,-IP_ADDRESS", ENT) == set(BUILTIN_ENTITIES) - {
        "PHONE_NUMBER",
        "IP_ADDRESS",
    }
    assert parse_entities("EMPLOYEE_ID", ENT, known=["EMPLOYEE_ID"]) == {"EMPLOYEE_ID"}


@pytest.mark.parametrize("bad", ["EMAIL", "EMAIL_ADDRESS,-PHONE_NUMBER"])
def test_parse_entities_errors_name_the_variable(bad: str) -> None:
    with pytest.raises(ValueError, match=ENT) as info:
        parse_entities(bad, ENT)
    assert repr(bad) in str(info.value)


def test_parse_strategies_forms() -> None:
    assert parse_strategies("EMAIL_ADDRESS=hash,CREDIT_CARD=partial", STRAT) == {
        "EMAIL_ADDRESS": "hash", "CREDIT_CARD": "partial",
    }  # fmt: skip
    assert parse_strategies("hash, credit_card = PARTIAL", STRAT) == {"*": "hash", "CREDIT_CARD": "partial"}
    assert parse_strategies("", STRAT) == {}


@pytest.mark.parametrize(
    ("bad", "why"), [("EMAIL_ADDRESS=blur", "blur"), ("EMAIL=hash", "EMAIL"), ("scramble", "scramble")]
)
def test_parse_strategies_errors_name_the_variable(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=STRAT) as info:
        parse_strategies(bad, STRAT)
    assert why in str(info.value)


def test_coerce() -> None:
    assert RedactionConfig.coerce(None).enabled is True
    assert RedactionConfig.coerce(True).enabled is True
    assert RedactionConfig.coerce(False).enabled is False
    cfg = RedactionConfig(hash_user_id=True)
    assert RedactionConfig.coerce(cfg) is cfg
    built = RedactionConfig.coerce({"entities": "-PHONE_NUMBER", "strategies": "EMAIL_ADDRESS=hash",
                                    "custom_detectors": {"EMPLOYEE_ID": r"EMP-\d{6}"}})  # fmt: skip
    assert built.entities == (set(BUILTIN_ENTITIES) | {"EMPLOYEE_ID"}) - {"PHONE_NUMBER"}
    assert built.strategies == {"EMAIL_ADDRESS": "hash"}
    assert build_redactor(built, source={}).redact_text("EMP-123456") == "<EMPLOYEE_ID_1>"


@pytest.mark.parametrize("bad", [{"entitys": None}, "yes", 3])
def test_coerce_rejects_with_redact_named(bad) -> None:
    with pytest.raises(ValueError, match="redact"):
        RedactionConfig.coerce(bad)


def test_build_redactor_errors_name_the_source_variable() -> None:
    source = {"entities": ENT, "strategies": STRAT}
    with pytest.raises(ValueError, match=ENT):
        build_redactor(RedactionConfig(entities={"NOPE"}), source=source)
    with pytest.raises(ValueError, match=STRAT):
        build_redactor(RedactionConfig(strategies={"EMAIL_ADDRESS": "blur"}), source=source)
    with pytest.raises(ValueError, match=STRAT):
        build_redactor(RedactionConfig(strategies={"NOPE": "mask"}), source=source)
    with pytest.raises(ValueError, match=r"redact\.entities"):
        build_redactor(RedactionConfig(entities={"NOPE"}))


def test_bad_custom_detectors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="custom detector"):
        build_redactor(RedactionConfig(custom_detectors=[object()]))  # type: ignore[list-item]
    with pytest.raises(ValueError, match="UPPER_SNAKE_CASE"):
        build_redactor(RedactionConfig(custom_detectors=[("lower", "x")]))
    with pytest.raises(ValueError, match="invalid regular expression"):
        build_redactor(RedactionConfig(custom_detectors=[("BAD", "(")]))
