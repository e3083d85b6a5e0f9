"""Parsing and validating budget rules."""

from __future__ import annotations

import math

import pytest

from llm_monitor_sdk.budget import BudgetRule, coerce_rules, parse_rules


def test_contract_example_parses() -> None:
    rules = parse_rules(
        "global:daily=100; user:daily=2:soft=0.5; tenant=acme:monthly=500; feature=summarize:hourly=5"
    )
    assert rules == [
        BudgetRule(scope="global", key=None, window="daily", limit_usd=100.0),
        BudgetRule(scope="user", key=None, window="daily", limit_usd=2.0, soft=0.5),
        BudgetRule(scope="tenant", key="acme", window="monthly", limit_usd=500.0),
        BudgetRule(scope="feature", key="summarize", window="hourly", limit_usd=5.0),
    ]
    assert rules[2].soft == 0.8


def test_whitespace_case_trailing_separator_and_dollar_sign() -> None:
    rules = parse_rules("  USER = bob@x.io : Daily = $0.25 : SOFT = 1 ; model:total=1e3 ;")
    assert rules == [
        BudgetRule(scope="user", key="bob@x.io", window="daily", limit_usd=0.25, soft=1.0),
        BudgetRule(scope="model", key=None, window="total", limit_usd=1000.0),
    ]


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_means_no_rules(text: str) -> None:
    assert parse_rules(text) == []


def test_str_round_trips() -> None:
    text = "global:daily=100;user:daily=2:soft=0.5;tenant=acme:monthly=500.25;model=gpt-4o:total=0"
    rules = parse_rules(text)
    assert ";".join(str(rule) for rule in rules) == text
    assert parse_rules(";".join(map(str, rules))) == rules


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("org:daily=1", "unknown scope 'org'"),
        ("user:dayly=1", "unknown window 'dayly'"),
        ("user:daily=-1", "negative"),
        ("user:daily=nan", "not a finite number"),
        ("user:daily=inf", "not a finite number"),
        ("user:daily=abc", "not a number"),
        ("user:daily=", "missing amount"),
        ("user:daily", "missing '=USD'"),
        ("user daily=1", "missing ':'"),
        (":daily=1", "missing scope"),
        ("user=:daily=1", "empty key"),
        ("user::daily=1", "empty part"),
        ("user:daily=1:", "empty part"),
        ("user:daily=1:soft=0", "soft=0.0 must be a fraction in (0, 1]"),
        ("user:daily=1:soft=1.5", "must be a fraction in (0, 1]"),
        ("user:daily=1:soft=-0.1", "must be a fraction"),
        ("user:daily=1:soft", "soft needs a value"),
        ("user:daily=1:soft=0.5:soft=0.6", "soft is given twice"),
        ("user:daily=1:hard=2", "unknown option 'hard=2'"),
        ("global=all:daily=1", "'global' takes no key"),
        ("user:daily=1e10", "supported maximum"),
    ],
)
def test_malformed_rule_quotes_rule_and_reason(rule: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_rules(f"global:daily=5; {rule}")
    message = str(info.value)
    assert message.startswith(f"LLM_MONITOR_BUDGETS: rule {rule!r}: ")
    assert reason in message


@pytest.mark.parametrize("text", ["user:daily=1;;tenant:daily=2", "; user:daily=1", ";"])
def test_empty_rule_in_the_middle_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"LLM_MONITOR_BUDGETS: rule #\d is empty"):
        parse_rules(text)


def test_duplicate_identity_is_an_error_but_keyed_and_unkeyed_coexist() -> None:
    with pytest.raises(ValueError, match=r"rules 'user:daily=2' and 'user:daily=3' both limit 'user:daily'"):
        parse_rules("user:daily=2; user:daily=3")
    assert len(parse_rules("user:daily=2; user=vip:daily=20; user:monthly=30")) == 3


def test_variable_name_is_used_in_messages() -> None:
    with pytest.raises(ValueError, match=r"^budgets: rule 'x:daily=1'"):
        parse_rules("x:daily=1", variable="budgets")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"scope": "team", "key": None, "window": "daily", "limit_usd": 1}, "unknown scope"),
        ({"scope": "user", "key": None, "window": "yearly", "limit_usd": 1}, "unknown window"),
        ({"scope": "user", "key": None, "window": "daily", "limit_usd": math.nan}, "finite"),
        ({"scope": "user", "key": None, "window": "daily", "limit_usd": -0.5}, "negative"),
        ({"scope": "user", "key": None, "window": "daily", "limit_usd": "1"}, "finite"),
        ({"scope": "user", "key": None, "window": "daily", "limit_usd": True}, "finite"),
        ({"scope": "user", "key": "", "window": "daily", "limit_usd": 1}, "key is empty"),
        ({"scope": "user", "key": "a:b", "window": "daily", "limit_usd": 1}, "contains ':'"),
        ({"scope": "user", "key": " a", "window": "daily", "limit_usd": 1}, "whitespace"),
        ({"scope": "global", "key": "x", "window": "daily", "limit_usd": 1}, "takes no key"),
        ({"scope": "user", "key": None, "window": "daily", "limit_usd": 1, "soft": 0}, "soft"),
    ],
)
def test_budget_rule_object_validation(fields: dict, reason: str) -> None:
    with pytest.raises(ValueError, match="budget rule BudgetRule") as info:
        BudgetRule(**fields)
    assert reason in str(info.value)


def test_coerce_accepts_objects_strings_and_dicts() -> None:
    rules = coerce_rules(
        [
            BudgetRule(scope="user", key=None, window="daily", limit_usd=2),
            "tenant=acme:monthly=500",
            {"scope": "feature", "key": "chat", "window": "hourly", "limit_usd": 1.5, "soft": 0.5},
        ]
    )
    assert [str(r) for r in rules] == [
        "user:daily=2",
        "tenant=acme:monthly=500",
        "feature=chat:hourly=1.5:soft=0.5",
    ]
    assert coerce_rules(None) == []
    assert coerce_rules(BudgetRule(scope="global", key=None, window="total", limit_usd=9)) == [
        BudgetRule(scope="global", key=None, window="total", limit_usd=9.0)
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([42], "is not a BudgetRule"),
        ({"scope": "user"}, "expected a rule string or a list"),
        ([{"scope": "user", "window": "daily", "limit_usd": 1, "colour": "red"}], "unexpected keyword"),
        ([{"scope": "user", "key": None, "window": "daily", "limit_usd": -1}], "negative"),
        (["user:daily=1", BudgetRule(scope="user", key=None, window="daily", limit_usd=2)], "both limit"),
    ],
)
def test_coerce_rejects_bad_items(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^budgets: ") as info:
        coerce_rules(value)  # type: ignore[arg-type]
    assert reason in str(info.value)
