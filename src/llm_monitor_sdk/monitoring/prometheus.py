"""The same alert rules as Prometheus alerting rules, over the OpenTelemetry metrics the SDK exports.

In a fleet every process exports its metrics (``LLM_MONITOR_EXPORTERS=otlp``) to an OpenTelemetry
Collector whose Prometheus (or remote-write) exporter names them the standard way: dots become
underscores, the unit is appended (``s`` -> ``_seconds``; units in braces such as ``{call}`` add
nothing; ``USD`` stays ``_USD``), monotonic counters end in ``_total`` and histograms are the
``_bucket``/``_sum``/``_count`` series. :func:`prometheus_name` does that translation, so the names
below always follow the instruments the exporter really creates (``exporters/otel.py``).

Each rule becomes one alerting rule: ``alert`` (the rule's name made a valid metric name),
``expr`` (PromQL over those series), ``for`` (``for=``), labels ``severity`` and ``owner``,
annotations ``summary``, ``description`` (the rule text) and ``runbook_url``. What PromQL can and
cannot say the same way is documented in ``docs/alerts.md`` ("The Prometheus path"): percentiles come
from the advised histogram buckets (coarser than the in-process 1 %), ``consecutive_errors`` becomes
"N provider-down errors and no successful call in the window", ``.zscore`` uses the median and
inter-quartile range of the baseline windows (PromQL has no MAD), ``cooldown=`` has no equivalent,
and ``by=user`` is not exported (user ids are never metric attributes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ..exporters.otel import (
    CALLS_METRIC,
    COST_METRIC,
    DURATION_METRIC,
    EVALUATION_SCORE_METRIC,
    EVALUATIONS_METRIC,
    FEEDBACK_METRIC,
    FEEDBACK_SCORE_METRIC,
    GUARDRAIL_METRIC,
    METRIC_INSTRUMENTS,
    TOKEN_METRIC,
    TTFC_METRIC,
)
from .rules import AlertRule, format_duration

_UNIT_NAMES = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "1": "",
    "%": "percent",
}
_PER_UNIT_NAMES = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}
_NOT_NAME_CHAR = re.compile(r"[^a-zA-Z0-9:]+")
_NOT_LABEL_CHAR = re.compile(r"[^a-zA-Z0-9_]")

#: ``by=`` dimension -> the metric attribute it is exported as (``user`` is never exported).
GROUP_ATTRIBUTES = {
    "provider": "gen_ai.provider.name",
    "model": "gen_ai.request.model",
    "feature": "llm_monitor.feature",
    "tenant": "llm_monitor.tenant_id",
    "prompt_name": "llm_monitor.prompt_name",
    "variant": "llm_monitor.variant",
}


def _clean_unit(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9:]", "_", text)).strip("_")


def prometheus_name(name: str, unit: str, kind: str) -> str:
    """The Prometheus name an OpenTelemetry metric gets (with suffixes, underscore escaping).

    ``kind`` is ``counter`` (monotonic sum: ``_total``), ``histogram`` or ``gauge`` (unit ``1``:
    ``_ratio``). Histogram series add ``_bucket``, ``_sum`` or ``_count`` to the result.
    """
    tokens = [t for t in _NOT_NAME_CHAR.split(name) if t]
    main, _, per = unit.partition("/")
    main, per = main.strip(), per.strip()
    main_suffix = (
        _clean_unit(_UNIT_NAMES.get(main, main)) if main and "{" not in main and "}" not in main else ""
    )
    per_suffix = ""
    if per and "{" not in per and "}" not in per:
        per_suffix = "per_" + _clean_unit(_PER_UNIT_NAMES.get(per, per))
    if main_suffix and main_suffix not in tokens:
        tokens.append(main_suffix)
    if per_suffix and per_suffix not in tokens:
        tokens.append(per_suffix)
    if kind == "counter":
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    result = "_".join(tokens)
    return f"_{result}" if result[:1].isdigit() else result


def label_name(attribute: str) -> str:
    """The Prometheus label an OpenTelemetry attribute becomes (``gen_ai.provider.name`` ->
    ``gen_ai_provider_name``)."""
    label = _NOT_LABEL_CHAR.sub("_", attribute)
    return f"key_{label}" if label[:1].isdigit() else label


def _names() -> dict[str, str]:
    return {name: prometheus_name(name, unit, kind) for name, unit, kind in METRIC_INSTRUMENTS}


#: OpenTelemetry instrument name -> Prometheus series name (histograms without their suffix).
PROMETHEUS_NAMES: dict[str, str] = _names()


def promql_duration(seconds: float) -> str:
    """A PromQL duration: ``300`` -> ``5m``; fractions of a second in ``ms``."""
    if float(seconds).is_integer():
        whole = int(seconds)
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if whole >= size and whole % size == 0:
                return f"{whole // size}{unit}"
        return f"{whole}s"
    return f"{max(1, round(seconds * 1000))}ms"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Builder:
    """PromQL pieces for one rule."""

    def __init__(self, rule: AlertRule) -> None:
        self.rule = rule
        self.window = promql_duration(rule.window_s)
        label = label_name(GROUP_ATTRIBUTES[rule.by]) if rule.by else None
        self.label = label
        self.by = f" by ({label})" if label else ""
        self.names = PROMETHEUS_NAMES
        judge = f'{label_name("llm_monitor.judge")}!="true"'
        self.call_base = [judge]
        info = rule.info
        self.source_base: list[str] = []
        if info.source is not None:
            attribute = (
                "llm_monitor.guardrail.name"
                if info.population == "guardrail"
                else "llm_monitor.evaluation.name"
            )
            self.source_base = [f"{label_name(attribute)}={_quote(info.source)}"]

    def selector(self, metric: str, matchers: Iterable[str], suffix: str = "") -> str:
        return f"{metric}{suffix}{{{', '.join(matchers)}}}"

    def calls(self, *extra: str, func: str = "increase") -> str:
        sel = self.selector(self.names[CALLS_METRIC], [*self.call_base, *extra])
        return f"sum{self.by} ({func}({sel}[{self.window}]))"

    def sum_of(self, metric: str, matchers: list[str], suffix: str = "") -> str:
        sel = self.selector(metric, matchers, suffix)
        return f"sum{self.by} (increase({sel}[{self.window}]))"

    def ratio(self, numerator: str, denominator: str) -> str:
        # A missing numerator series (no errors at all) means 0, not "no data".
        return f"(({numerator}) or (0 * {denominator})) / {denominator}"

    def value_and_gate(self) -> tuple[str, str | None]:
        """The metric's value expression, and the count ``min_calls`` applies to (or None)."""
        info = self.rule.info
        status = label_name("llm_monitor.status")
        category = label_name("error.category")
        if info.measure == "percentile":
            assert info.quantile is not None
            metric = self.names[DURATION_METRIC if info.field == "latency" else TTFC_METRIC]
            by = f"le, {self.label}" if self.label else "le"
            sel = self.selector(metric, self.call_base, "_bucket")
            value = f"histogram_quantile({info.quantile / 100:g}, sum by ({by}) (rate({sel}[{self.window}]))) * 1000"
            return value, self.sum_of(metric, self.call_base, "_count")
        if info.population == "calls":
            total = self.calls()
            if info.measure == "rate":
                matcher = {
                    "errors": f'{status}="error"',
                    "timeouts": f'{category}="timeout"',
                    "rate_limits": f'{category}="rate_limit"',
                    "content_filtered": f'{label_name("llm_monitor.content_filtered")}="true"',
                    "blocked": f'{status}="blocked"',
                }[info.field]
                return self.ratio(self.calls(matcher), total), total
            if info.measure == "count":
                return total, None
            if info.measure == "per_s":
                return self.calls(func="rate"), None
            if info.measure == "streak":
                return self.calls(f'{status}="error"', f'{category}=~"timeout|connection|server"'), None
            cost = self.sum_of(self.names[COST_METRIC], self.call_base)
            if info.measure == "mean":
                ok = f'{status}="ok"'
                return f"{cost} / {self.calls(ok)}", total
            if info.field == "cost":
                return cost, None
            tokens = self.names[TOKEN_METRIC]
            matchers = list(self.call_base)
            token_type = label_name("gen_ai.token.type")
            if info.field == "input_tokens":
                matchers.append(f'{token_type}="input"')
            elif info.field == "output_tokens":
                matchers.append(f'{token_type}="output"')
            return self.sum_of(tokens, matchers, "_sum"), None
        if info.population == "guardrail":
            metric = self.names[GUARDRAIL_METRIC]
            total = self.sum_of(metric, self.source_base)
            blocked = self.sum_of(
                metric, [*self.source_base, f'{label_name("llm_monitor.guardrail.blocked")}="true"']
            )
            return self.ratio(blocked, total), total
        score_metric, verdict_metric = (
            (EVALUATION_SCORE_METRIC, EVALUATIONS_METRIC)
            if info.population == "evaluation"
            else (FEEDBACK_SCORE_METRIC, FEEDBACK_METRIC)
        )
        if info.measure == "mean":
            score = self.names[score_metric]
            count = self.sum_of(score, self.source_base, "_count")
            return f"{self.sum_of(score, self.source_base, '_sum')} / {count}", count
        metric = self.names[verdict_metric]
        passed = label_name("llm_monitor.evaluation.passed")
        judged = self.sum_of(metric, [*self.source_base, f'{passed}=~"true|false"'])
        failed = self.sum_of(metric, [*self.source_base, f'{passed}="false"'])
        return self.ratio(failed, judged), judged

    def expression(self) -> str:
        rule = self.rule
        value, gate = self.value_and_gate()
        threshold = _number(rule.threshold)
        if rule.zscore:
            past = f"({value})[{promql_duration(rule.baseline_s or 0)}:{self.window}] offset {self.window}"
            median = f"quantile_over_time(0.5, {past})"
            iqr = f"(quantile_over_time(0.75, {past}) - quantile_over_time(0.25, {past}))"
            expr = f"(({value}) - {median}) / ({iqr} / 1.349) {rule.op} {threshold}"
            expr += f" and count_over_time({past}) >= {rule.min_baseline_windows}"
        else:
            expr = f"({value}) {rule.op} {threshold}"
        if rule.info.measure == "streak":
            ok = f'{label_name("llm_monitor.status")}="ok"'
            expr += f" unless ({self.calls(ok)} > 0)"
        if gate is not None and rule.info.gated:
            expr += f" and ({gate}) >= {rule.min_calls}"
        return expr


def alert_name(rule: AlertRule) -> str:
    """The rule's Prometheus alert name: its ``name=`` made of letters, digits and ``_``, or (for a rule
    without one) ``llm_monitor_<metric>[_by_<dimension>]``."""
    if rule.name != rule.text:
        text = rule.name
    else:
        text = f"llm_monitor_{rule.metric}" + (f"_by_{rule.by}" if rule.by else "")
    name = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_]", "_", text)).strip("_") or "llm_monitor_alert"
    return f"_{name}" if name[0].isdigit() else name


def unsupported_reason(rule: AlertRule) -> str | None:
    """Why a rule cannot be exported to Prometheus, or None."""
    if rule.by == "user":
        return "by=user is not exported: user ids are never metric attributes (cardinality, privacy)"
    return None


def prometheus_rule(rule: AlertRule) -> dict[str, Any]:
    """One Prometheus alerting rule (a dict in the rule-file shape).

    Raises:
        ValueError: the rule cannot be exported (see :func:`unsupported_reason`).
    """
    reason = unsupported_reason(rule)
    if reason is not None:
        raise ValueError(f"rule {rule.text!r}: {reason}")
    builder = _Builder(rule)
    where = f"{{{{ $labels.{builder.label} }}}}: " if builder.label else ""
    summary = (
        f"{where}{rule.metric} is {{{{ $value | humanize }}}} "
        f"({rule.op} {_number(rule.threshold)} over {format_duration(rule.window_s)})"
    )
    labels: dict[str, str] = {"severity": rule.severity}
    if rule.owner:
        labels["owner"] = rule.owner
    annotations: dict[str, str] = {"summary": summary, "description": f"llm-monitor rule: {rule.text}"}
    if rule.runbook:
        annotations["runbook_url"] = rule.runbook
    out: dict[str, Any] = {"alert": alert_name(rule), "expr": builder.expression()}
    if rule.for_s:
        out["for"] = promql_duration(rule.for_s)
    out["labels"] = labels
    out["annotations"] = annotations
    return out


def prometheus_rules(
    rules: Iterable[AlertRule], group: str = "llm-monitor"
) -> tuple[dict[str, Any], list[tuple[AlertRule, str]]]:
    """A Prometheus rule file (as a dict) for the rules, and the rules left out with the reason."""
    exported: list[dict[str, Any]] = []
    skipped: list[tuple[AlertRule, str]] = []
    seen: dict[str, int] = {}
    for rule in rules:
        reason = unsupported_reason(rule)
        if reason is not None:
            skipped.append((rule, reason))
            continue
        item = prometheus_rule(rule)
        count = seen[item["alert"]] = seen.get(item["alert"], 0) + 1
        if count > 1:  # two rules over the same metric: keep alert names apart
            item["alert"] = f"{item['alert']}_{count}"
        exported.append(item)
    return {"groups": [{"name": group, "rules": exported}]}, skipped


def _yaml(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            sub = _yaml(item, indent + 1)
            first = sub[0].lstrip()
            lines.append(f"{pad}- {first}")
            lines.extend(sub[1:])
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid YAML scalar


def render_rule_file(doc: dict[str, Any], skipped: Iterable[tuple[AlertRule, str]] = ()) -> str:
    """YAML text of a rule file (no YAML library needed), with a comment per skipped rule."""
    header = [
        "# Prometheus alerting rules generated by `llm-monitor alerts prometheus-rules` from",
        "# LLM_MONITOR_ALERTS, over the OpenTelemetry metrics of llm-monitor-sdk as the",
        "# OpenTelemetry Collector's Prometheus exporters name them (see docs/alerts.md).",
    ]
    for rule, reason in skipped:
        header.append(f"# skipped {rule.text!r}: {reason}")
    return "\n".join([*header, *_yaml(doc, 0)]) + "\n"


__all__ = [
    "GROUP_ATTRIBUTES",
    "PROMETHEUS_NAMES",
    "alert_name",
    "label_name",
    "prometheus_name",
    "prometheus_rule",
    "prometheus_rules",
    "promql_duration",
    "render_rule_file",
    "unsupported_reason",
]
