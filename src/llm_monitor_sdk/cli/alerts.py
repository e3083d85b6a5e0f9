"""``llm-monitor alerts check`` and ``llm-monitor alerts prometheus-rules``.

``check`` validates ``LLM_MONITOR_ALERTS`` (or ``--rules``) and prints every rule with its options
spelled out; a malformed rule prints the error (rule, position, word) and exits with status 2.
``prometheus-rules`` writes the same rules as a Prometheus rule file over the SDK's OpenTelemetry
metrics (``docs/alerts.md``), to stdout or ``--output``; rules that cannot be exported are listed
on stderr and as comments in the file.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _rules(args: argparse.Namespace) -> list[Any] | None:
    from ..config import load_settings
    from ..monitoring.rules import parse_rules

    text = args.rules if args.rules is not None else load_settings().alerts
    rules = parse_rules(text)
    if not rules:
        print("no alert rules: set LLM_MONITOR_ALERTS (or pass --rules)", file=sys.stderr)
        return None
    return rules


def _check(args: argparse.Namespace) -> int:
    from ..monitoring.prometheus import unsupported_reason

    rules = _rules(args)
    if rules is None:
        return 1
    for rule in rules:
        print(rule.describe())
        reason = unsupported_reason(rule)
        if reason is not None:
            print(f"  note: not exported to Prometheus: {reason}")
    print(f"{len(rules)} rule{'s' if len(rules) != 1 else ''} OK")
    return 0


def _prometheus(args: argparse.Namespace) -> int:
    from ..monitoring.prometheus import prometheus_rules, render_rule_file

    rules = _rules(args)
    if rules is None:
        return 1
    doc, skipped = prometheus_rules(rules, group=args.group)
    for rule, reason in skipped:
        print(f"skipped {rule.text!r}: {reason}", file=sys.stderr)
    text = render_rule_file(doc, skipped)
    if args.output:
        directory = os.path.dirname(os.path.abspath(args.output))
        os.makedirs(directory, exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {len(doc['groups'][0]['rules'])} rules to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(commands: Any) -> None:
    """Add the ``alerts`` command group."""
    alerts = commands.add_parser("alerts", help="alert rules: validate, export to Prometheus")
    sub = alerts.add_subparsers(dest="alerts_command", required=True)
    check = sub.add_parser("check", help="validate LLM_MONITOR_ALERTS and print the rules")
    check.add_argument("--rules", default=None, help="rule text instead of LLM_MONITOR_ALERTS")
    check.set_defaults(func=_check)
    prom = sub.add_parser("prometheus-rules", help="the rules as Prometheus alerting rules")
    prom.add_argument("--rules", default=None, help="rule text instead of LLM_MONITOR_ALERTS")
    prom.add_argument("--output", "-o", default=None, help="write to this file instead of stdout")
    prom.add_argument("--group", default="llm-monitor", help="rule group name (default: llm-monitor)")
    prom.set_defaults(func=_prometheus)
