"""The numbers the terminal and HTML reports show, from the records of JSONL files.

:func:`summarize` reads records through :mod:`.reader` and returns one plain dict: calls, errors by
category, blocked and content-filtered calls, error rate, P50/P90/P99 latency and TTFT, throughput,
tokens, cost (per call, per trace, per session), breakdowns by model, provider, feature, tenant, user,
session, prompt name/version/fingerprint, variant and service, a time series in auto-sized buckets,
SLO compliance, the slowest, most expensive and failing calls, evaluations, feedback, guardrails,
alerts and prompt changes.

Two engines give the same numbers: a streaming pure-Python accumulator (memory grows with the
number of distinct groups, users, sessions and traces, never with the number of records) and DuckDB
SQL over the reader's table. Both produce the same intermediate *parts* (counts, sums, and the
histogram bucket holding each percentile; see :mod:`._hist`), and one function turns parts into the
summary.
"""

from __future__ import annotations

import heapq
import importlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import reader
from ._hist import QUANTILES, SQL_BUCKET, ZERO_BUCKET, Hist, bucket_bounds, bucket_of, summary_from
from .reader import ALL_TIME, ReadStats, TimeRange, format_us

#: ``--by`` dimensions: output name -> normalised column. Full groups keep latency percentiles.
FULL_DIMENSIONS = {
    "model": "model",
    "provider": "provider",
    "feature": "feature",
    "tenant": "tenant",
    "prompt_name": "prompt_name",
    "prompt_version": "prompt_version",
    "prompt_fingerprint": "fingerprint",
    "variant": "variant",
    "service": "service",
}
#: Dimensions with many keys: counts, cost and tokens only (top N by cost).
LIGHT_DIMENSIONS = {"user": "user", "session": "session"}
DIMENSIONS = tuple(FULL_DIMENSIONS) + tuple(LIGHT_DIMENSIONS)
TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "reasoning_output_tokens",
)
_TOKEN_COLUMNS = ("in_tok", "out_tok", "tot_tok", "cache_read", "cache_write", "reasoning")
#: Candidate time-bucket sizes in seconds (each a multiple of the one before; doubling after the last).
BUCKET_SIZES = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800, 2419200)
#: At most this many time buckets span the range.
MAX_BUCKETS = 200
TOP_CALLS = 20
ALERTS_KEPT = 500
EVENTS_KEPT = 500

SLO_METRICS = (
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "ttft_p50_ms",
    "ttft_p90_ms",
    "ttft_p99_ms",
    "error_rate",
    "timeout_rate",
    "rate_limit_rate",
    "content_filter_rate",
    "blocked_rate",
    "cost_per_call_usd",
)
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_SLO = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([0-9.eE+-]+)\s*$")
_NEGATE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


# ---------------------------------------------------------------------------------------------------------
# Time buckets


def bucket_sizes() -> Iterator[int]:
    """Every candidate bucket size, smallest first."""
    yield from BUCKET_SIZES
    size = BUCKET_SIZES[-1]
    while True:
        size *= 2
        yield size


def spanned(tmin_us: int, tmax_us: int, seconds: int) -> int:
    """How many buckets of ``seconds`` the range touches."""
    width = seconds * 1_000_000
    return tmax_us // width - tmin_us // width + 1


def choose_bucket_seconds(tmin_us: int, tmax_us: int) -> int:
    """The smallest candidate size whose buckets over the range number at most :data:`MAX_BUCKETS`."""
    for size in bucket_sizes():
        if spanned(tmin_us, tmax_us, size) <= MAX_BUCKETS:
            return size
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------------------------------------
# SLO targets


@dataclass(frozen=True)
class Target:
    """An SLO target: ``metric op threshold`` must hold (e.g. ``latency_p99_ms <= 2000``)."""

    metric: str
    op: str
    threshold: float
    source: str = "command line"
    min_calls: int = 1

    @property
    def text(self) -> str:
        """``metric<=threshold``."""
        return f"{self.metric}{self.op}{self.threshold:g}"

    def holds(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target (None when there is no value)."""
        if value is None:
            return None
        return {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
        }[self.op]


def parse_targets(texts: Iterable[str]) -> list[Target]:
    """Targets like ``latency_p99_ms<=2000`` or ``error_rate<0.01`` (``;`` separates several)."""
    targets = []
    for text in texts:
        for part in text.split(";"):
            if not part.strip():
                continue
            match = _SLO.match(part)
            if not match or match.group(1) not in SLO_METRICS:
                raise ValueError(
                    f"not an SLO target: {part.strip()!r} (expected METRIC OP NUMBER with METRIC one of "
                    f"{', '.join(SLO_METRICS)}, e.g. latency_p99_ms<=2000)"
                )
            try:
                threshold = float(match.group(3))
            except ValueError:
                raise ValueError(f"not an SLO target: {part.strip()!r} (bad number)") from None
            targets.append(Target(match.group(1), match.group(2), threshold))
    return targets


def targets_from_alerts(text: str | None = None) -> list[Target]:
    """SLO targets implied by ``LLM_MONITOR_ALERTS`` rules on the metrics a report can judge.

    Uses the alert rule parser (``llm_monitor_sdk.monitoring.rules``) when it is installed; a rule
    ``latency_p99_ms>4000 over 5m`` becomes the target ``latency_p99_ms<=4000``. Returns no targets
    when there are no rules or no parser.
    """
    text = os.environ.get("LLM_MONITOR_ALERTS") if text is None else text
    if not text or not text.strip():
        return []
    try:
        rules_module = importlib.import_module("llm_monitor_sdk.monitoring.rules")
    except ImportError:
        return []
    parse = getattr(rules_module, "parse_rules", None) or getattr(rules_module, "parse", None)
    if parse is None:
        return []
    targets = []
    for rule in parse(text):
        metric = _field(rule, "metric")
        op = _field(rule, "op")
        threshold = _field(rule, "threshold")
        if metric not in SLO_METRICS or op not in _NEGATE or not isinstance(threshold, int | float):
            continue
        min_calls = _field(rule, "min_calls")
        targets.append(
            Target(
                metric,
                _NEGATE[op],
                float(threshold),
                source=f"LLM_MONITOR_ALERTS: {_field(rule, 'text') or _field(rule, 'name') or metric}",
                min_calls=int(min_calls) if isinstance(min_calls, int) else 20,
            )
        )
    return targets


def _field(rule: Any, name: str) -> Any:
    return rule.get(name) if isinstance(rule, dict) else getattr(rule, name, None)


def metric_value(group: dict[str, Any], metric: str) -> float | None:
    """The value of an SLO metric in a summarised group."""
    if metric.startswith(("latency_", "ttft_")):
        field_name, quantile = metric.rsplit("_", 2)[0], metric.rsplit("_", 2)[1]
        return group[f"{field_name}_ms"][quantile]
    attempted = group["calls"] - group["blocked"]
    categories = group["errors_by_category"]
    if metric == "error_rate":
        return group["error_rate"] if group["calls"] else None
    if metric == "timeout_rate":
        return categories.get("timeout", 0) / attempted if attempted else None
    if metric == "rate_limit_rate":
        return categories.get("rate_limit", 0) / attempted if attempted else None
    if metric == "content_filter_rate":
        return group["content_filtered"] / attempted if attempted else None
    if metric == "blocked_rate":
        return group["blocked"] / group["calls"] if group["calls"] else None
    if metric == "cost_per_call_usd":
        return group["cost_per_call_usd"]
    raise ValueError(f"unknown SLO metric {metric!r}")  # pragma: no cover - parse_targets checks


def _within_key(target: Target) -> tuple[str, str, float] | None:
    if target.metric.startswith("latency_"):
        return "latency", target.op, target.threshold
    if target.metric.startswith("ttft_"):
        return "ttft", target.op, target.threshold
    return None


# ---------------------------------------------------------------------------------------------------------
# Python accumulator


def _hist_parts(hist: Hist) -> tuple[int, float, float, float, list[int | None]]:
    return hist.count, hist.total, hist.low, hist.high, [hist.quantile_bucket(q) for q in QUANTILES]


class _Group:
    __slots__ = (
        "blocked",
        "calls",
        "cats",
        "cost",
        "cost_calls",
        "errors",
        "filtered",
        "latency",
        "refusals",
        "tmax",
        "tmin",
        "tokens",
        "ttft",
    )

    def __init__(self) -> None:
        self.calls = self.errors = self.blocked = self.filtered = self.refusals = self.cost_calls = 0
        self.cats: Counter[str] = Counter()
        self.latency = Hist()
        self.ttft = Hist()
        self.tokens = [0.0] * 6
        self.cost = 0.0
        self.tmin = math.inf
        self.tmax = -math.inf

    def add(self, p: tuple[Any, ...]) -> None:
        # ``p`` is prepared once per call by ``Accumulator._add_call``:
        # (status 0 ok / 1 error / 2 blocked, category, filtered, refusal, latency, its bucket or None,
        #  ttft, its bucket or None, six token counts, cost or None, time)
        self.calls += 1
        status = p[0]
        if status == 1:
            self.errors += 1
            self.cats[p[1]] += 1
        elif status == 2:
            self.blocked += 1
        if p[2]:
            self.filtered += 1
        if p[3]:
            self.refusals += 1
        bucket = p[5]
        if bucket is not None:
            value = p[4]
            hist = self.latency
            hist.buckets[bucket] += 1
            hist.count += 1
            hist.total += value
            if value < hist.low:
                hist.low = value
            if value > hist.high:
                hist.high = value
        bucket = p[7]
        if bucket is not None:
            value = p[6]
            hist = self.ttft
            hist.buckets[bucket] += 1
            hist.count += 1
            hist.total += value
            if value < hist.low:
                hist.low = value
            if value > hist.high:
                hist.high = value
        tokens, counts = self.tokens, p[8]
        tokens[0] += counts[0]
        tokens[1] += counts[1]
        tokens[2] += counts[2]
        tokens[3] += counts[3]
        tokens[4] += counts[4]
        tokens[5] += counts[5]
        cost = p[9]
        if cost is not None:
            self.cost += cost
            self.cost_calls += 1
        tus = p[10]
        if tus < self.tmin:
            self.tmin = tus
        if tus > self.tmax:
            self.tmax = tus

    def merge(self, other: _Group) -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.blocked += other.blocked
        self.filtered += other.filtered
        self.refusals += other.refusals
        self.cats.update(other.cats)
        self.latency.merge(other.latency)
        self.ttft.merge(other.ttft)
        self.tokens = [a + b for a, b in zip(self.tokens, other.tokens, strict=True)]
        self.cost += other.cost
        self.cost_calls += other.cost_calls
        self.tmin = min(self.tmin, other.tmin)
        self.tmax = max(self.tmax, other.tmax)

    def parts(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "blocked": self.blocked,
            "content_filtered": self.filtered,
            "refusals": self.refusals,
            "cats": dict(self.cats),
            "latency": _hist_parts(self.latency),
            "ttft": _hist_parts(self.ttft),
            "tokens": list(self.tokens),
            "cost": self.cost,
            "cost_calls": self.cost_calls,
            "tmin": self.tmin if self.calls else None,
            "tmax": self.tmax if self.calls else None,
        }


class _Light:
    __slots__ = (
        "blocked",
        "calls",
        "cost",
        "cost_calls",
        "errors",
        "in_tok",
        "latency_count",
        "latency_total",
        "out_tok",
    )

    def __init__(self) -> None:
        self.calls = self.errors = self.blocked = self.cost_calls = self.latency_count = 0
        self.cost = self.in_tok = self.out_tok = self.latency_total = 0.0

    def add(self, row: dict[str, Any], has_latency: bool) -> None:
        self.calls += 1
        status = row["status"]
        if status == "error":
            self.errors += 1
        elif status == "blocked":
            self.blocked += 1
        cost = row["cost"]
        if cost is not None:
            self.cost += cost
            self.cost_calls += 1
        if row["in_tok"] is not None:
            self.in_tok += row["in_tok"]
        if row["out_tok"] is not None:
            self.out_tok += row["out_tok"]
        if has_latency:
            self.latency_total += row["latency"]
            self.latency_count += 1

    def parts(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "blocked": self.blocked,
            "cost": self.cost,
            "cost_calls": self.cost_calls,
            "in_tok": self.in_tok,
            "out_tok": self.out_tok,
            "latency_total": self.latency_total,
            "latency_count": self.latency_count,
        }


def _score_parts() -> dict[str, Any]:
    return {"count": 0, "scored": 0, "score_sum": 0.0, "passed": 0, "judged": 0}


def _add_score(parts: dict[str, Any], score: float | None, passed: bool | None) -> None:
    parts["count"] += 1
    if score is not None:
        parts["scored"] += 1
        parts["score_sum"] += score
    if passed is not None:
        parts["judged"] += 1
        parts["passed"] += 1 if passed else 0


def _merge_scores(into: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]]) -> None:
    for name, parts in other.items():
        mine = into.setdefault(name, _score_parts())
        for key in mine:
            mine[key] += parts[key]


def _passed(row: dict[str, Any]) -> bool | None:
    # Human feedback without a verdict passes when its score is at least 0.5 (the contract's rule).
    if row["ev_passed"] is None and row["kind"] == "feedback" and row["ev_score"] is not None:
        return row["ev_score"] >= 0.5
    return row["ev_passed"]


class _Bucket:
    __slots__ = (
        "alerts",
        "cost_by_model",
        "evals",
        "events",
        "feedback",
        "fingerprints",
        "group",
        "guardrails",
        "spans",
    )

    def __init__(self) -> None:
        self.group = _Group()
        self.cost_by_model: Counter[str] = Counter()
        self.evals: dict[str, dict[str, Any]] = {}
        self.feedback: dict[str, dict[str, Any]] = {}
        self.guardrails: dict[str, list[int]] = {}
        self.fingerprints: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()
        self.events = 0
        self.spans = 0

    def merge(self, other: _Bucket) -> None:
        self.group.merge(other.group)
        self.cost_by_model.update(other.cost_by_model)
        _merge_scores(self.evals, other.evals)
        _merge_scores(self.feedback, other.feedback)
        for name, (count, blocked) in other.guardrails.items():
            mine = self.guardrails.setdefault(name, [0, 0])
            mine[0] += count
            mine[1] += blocked
        self.fingerprints.update(other.fingerprints)
        self.alerts.update(other.alerts)
        self.events += other.events
        self.spans += other.spans

    def parts(self) -> dict[str, Any]:
        return {
            "group": self.group.parts(),
            "cost_by_model": dict(self.cost_by_model),
            "evals": self.evals,
            "feedback": self.feedback,
            "guardrails": {name: list(v) for name, v in self.guardrails.items()},
            "fingerprints": dict(self.fingerprints),
            "alerts": dict(self.alerts),
            "events": self.events,
            "spans": self.spans,
        }


def _call_brief(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": format_us(row["tus"]),
        "record_id": row["record_id"],
        "trace_id": row["trace_id"],
        "provider": row["provider"],
        "model": row["model"],
        "feature": row["feature"],
        "tenant": row["tenant"],
        "user": row["user"],
        "status": row["status"],
        "error_type": row["err_type"],
        "error_category": row["err_cat"],
        "error_message": (row["err_msg"] or "")[:300] or None,
        "latency_ms": row["latency"],
        "ttft_ms": row["ttft"],
        "cost_usd": row["cost"],
        "input_tokens": None if row["in_tok"] is None else int(row["in_tok"]),
        "output_tokens": None if row["out_tok"] is None else int(row["out_tok"]),
    }


class _Top:
    """The ``n`` largest items by key (ties broken by the same key SQL orders by)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.heap: list[tuple[Any, ...]] = []
        self.counter = 0

    def offer(self, key: tuple[Any, ...], make: Any, *args: Any) -> None:
        heap = self.heap
        if len(heap) >= self.n and key <= heap[0][0]:
            return
        self.counter += 1
        item = (key, self.counter, make(*args))
        if len(heap) < self.n:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    def items(self) -> list[Any]:
        return [item[2] for item in sorted(self.heap, key=lambda i: i[0], reverse=True)]


class Accumulator:
    """Streams normalised rows into summary parts (the pure-Python engine)."""

    def __init__(self, targets: Sequence[Target] = ()) -> None:
        self.kinds: Counter[str] = Counter()
        self.overall = _Group()
        self.dims: dict[str, dict[Any, _Group]] = {name: {} for name in FULL_DIMENSIONS}
        self.light: dict[str, dict[Any, _Light]] = {name: {} for name in LIGHT_DIMENSIONS}
        self.traces: set[str | int] = set()
        self.trace_cost = 0.0
        self.tmin: int | None = None
        self.tmax: int | None = None
        self.sizes = bucket_sizes()
        self.bucket_seconds = next(self.sizes)
        self.buckets: dict[int, _Bucket] = {}
        self.evaluations: dict[str, dict[str, Any]] = {}
        self.feedback: dict[str, dict[str, Any]] = {}
        self.guardrails: dict[str, list[Any]] = {}
        self.labels: dict[str, tuple[int, Any, Any, Any]] = {}
        self.slowest = _Top(TOP_CALLS)
        self.expensive = _Top(TOP_CALLS)
        self.failing = _Top(TOP_CALLS)
        self.alerts = _Top(ALERTS_KEPT)
        self.alert_states: Counter[str] = Counter()
        self.alert_names: Counter[str] = Counter()
        self.events = _Top(EVENTS_KEPT)
        self.event_types: Counter[str] = Counter()
        self.within = {key: 0 for key in (_within_key(t) for t in targets) if key is not None}

    # time buckets -------------------------------------------------------------------------------------

    def _bucket(self, tus: int) -> _Bucket:
        if self.tmin is None or self.tmax is None:
            self.tmin = self.tmax = tus
        elif tus < self.tmin or tus > self.tmax:
            self.tmin = min(self.tmin, tus)
            self.tmax = max(self.tmax, tus)
            if spanned(self.tmin, self.tmax, self.bucket_seconds) > MAX_BUCKETS:
                self._coarsen()
        index = tus // (self.bucket_seconds * 1_000_000)
        bucket = self.buckets.get(index)
        if bucket is None:
            bucket = self.buckets[index] = _Bucket()
        return bucket

    def _coarsen(self) -> None:
        assert self.tmin is not None and self.tmax is not None
        old = self.bucket_seconds
        size = old
        while spanned(self.tmin, self.tmax, size) > MAX_BUCKETS:
            size = next(self.sizes)
        merged: dict[int, _Bucket] = {}
        for index, bucket in self.buckets.items():
            target = (index * old) // size
            if target in merged:
                merged[target].merge(bucket)
            else:
                merged[target] = bucket
        self.buckets = merged
        self.bucket_seconds = size

    # rows ---------------------------------------------------------------------------------------------

    def add(self, row: dict[str, Any], record: dict[str, Any] | None = None) -> None:
        """Fold one normalised row in (``record`` is the raw record, needed for alerts and events)."""
        kind = row["kind"]
        self.kinds[kind] += 1
        bucket = self._bucket(row["tus"])
        if kind == "llm_call":
            self._add_call(row, bucket)
        elif kind == "evaluation" or kind == "feedback":
            name = row["ev_name"] or "unnamed"
            passed = _passed(row)
            scores = self.evaluations if kind == "evaluation" else self.feedback
            _add_score(scores.setdefault(name, _score_parts()), row["ev_score"], passed)
            into = bucket.evals if kind == "evaluation" else bucket.feedback
            _add_score(into.setdefault(name, _score_parts()), row["ev_score"], passed)
        elif kind == "guardrail":
            name = row["gr_name"] or "unnamed"
            entry = self.guardrails.get(name)
            if entry is None:
                entry = self.guardrails[name] = [0, 0, Hist()]
            entry[0] += 1
            entry[1] += 1 if row["gr_blocked"] else 0
            if row["gr_latency"] is not None:
                entry[2].add(row["gr_latency"])
            counts = bucket.guardrails.setdefault(name, [0, 0])
            counts[0] += 1
            counts[1] += 1 if row["gr_blocked"] else 0
        elif kind == "span":
            bucket.spans += 1
        elif kind == "alert":
            alert = (record or {}).get("alert")
            alert = alert if isinstance(alert, dict) else {}
            state = reader._str(alert.get("state")) or "unknown"
            self.alert_states[state] += 1
            bucket.alerts[state] += 1
            if state == "firing":
                self.alert_names[reader._str(alert.get("name")) or "unnamed"] += 1
            self.alerts.offer((row["tus"], row["record_id"] or ""), _alert_brief, row["tus"], alert)
        elif kind == "event":
            event = (record or {}).get("event")
            event = event if isinstance(event, dict) else {}
            kind_of_event = reader._str(event.get("type")) or "unknown"
            self.event_types[kind_of_event] += 1
            if kind_of_event == "prompt_changed":
                bucket.events += 1
                self.events.offer((row["tus"], row["record_id"] or ""), _event_brief, row["tus"], event)

    def _add_call(self, row: dict[str, Any], bucket: _Bucket) -> None:
        latency = row["latency"]
        status = row["status"]
        has_latency = latency is not None and status != "blocked"
        latency_bucket = bucket_of(latency) if has_latency else None
        ttft = row["ttft"]
        ttft_bucket = bucket_of(ttft) if ttft is not None else None
        prepared = (
            1 if status == "error" else 2 if status == "blocked" else 0,
            row["err_cat"],
            row["content_filtered"],
            row["refusal"],
            latency,
            latency_bucket,
            ttft,
            ttft_bucket,
            tuple(0.0 if row[c] is None else row[c] for c in _TOKEN_COLUMNS),
            row["cost"],
            row["tus"],
        )
        self.overall.add(prepared)
        bucket.group.add(prepared)
        for name, column in FULL_DIMENSIONS.items():
            groups = self.dims[name]
            key = row[column]
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group()
            group.add(prepared)
        for name, column in LIGHT_DIMENSIONS.items():
            key = row[column]
            if key is None:
                continue
            groups_light = self.light[name]
            light = groups_light.get(key)
            if light is None:
                light = groups_light[key] = _Light()
            light.add(row, has_latency)
        cost = row["cost"]
        if cost is not None:
            bucket.cost_by_model[row["model"] or "unknown"] += cost
        trace = row["trace_id"]
        if trace is not None:
            # 32 hex digits as one int: half the memory of the text, the same distinct count.
            self.traces.add(int(trace, 16) if len(trace) == 32 and _HEX32.fullmatch(trace) else trace)
            if cost is not None:
                self.trace_cost += cost
        fingerprint = row["fingerprint"]
        if fingerprint is not None:
            bucket.fingerprints[fingerprint] += 1
            seen = self.labels.get(fingerprint)
            if seen is None or row["tus"] > seen[0]:
                self.labels[fingerprint] = (
                    row["tus"],
                    row["feature"],
                    row["prompt_name"],
                    row["prompt_version"],
                )
        rid = row["record_id"] or ""
        if has_latency:
            self.slowest.offer((latency, rid), _call_brief, row)
        if cost is not None:
            self.expensive.offer((cost, rid), _call_brief, row)
        if row["status"] == "error":
            self.failing.offer((row["tus"], rid), _call_brief, row)
        if self.within:
            for key in self.within:
                value = latency if key[0] == "latency" else ttft
                if value is None or (key[0] == "latency" and not has_latency):
                    continue
                if (value < key[2]) if key[1] in ("<", ">=") else (value <= key[2]):
                    self.within[key] += 1

    def parts(self) -> dict[str, Any]:
        """Everything as the engine-independent parts :func:`build_summary` reads."""
        return {
            "kinds": dict(self.kinds),
            "tmin": self.tmin,
            "tmax": self.tmax,
            "overall": self.overall.parts(),
            "dims": {name: {k: g.parts() for k, g in groups.items()} for name, groups in self.dims.items()},
            "light": {name: {k: g.parts() for k, g in groups.items()} for name, groups in self.light.items()},
            "traces": len(self.traces),
            "trace_cost": self.trace_cost,
            "bucket_seconds": self.bucket_seconds,
            "buckets": {index: bucket.parts() for index, bucket in self.buckets.items()},
            "evaluations": self.evaluations,
            "feedback": self.feedback,
            "guardrails": {
                name: {"count": c, "blocked": b, "latency": _hist_parts(h)}
                for name, (c, b, h) in self.guardrails.items()
            },
            "labels": {
                fp: {"feature": f, "prompt_name": n, "prompt_version": v}
                for fp, (_, f, n, v) in self.labels.items()
            },
            "slowest": self.slowest.items(),
            "expensive": self.expensive.items(),
            "failing": self.failing.items(),
            "alerts": list(reversed(self.alerts.items())),
            "alert_states": dict(self.alert_states),
            "alert_names": dict(self.alert_names),
            "events": list(reversed(self.events.items())),
            "event_types": dict(self.event_types),
            "within": dict(self.within),
        }


def _alert_brief(tus: int, alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "rule", "metric", "op", "threshold", "value", "window_s", "group", "state", "severity")
    brief = {"time": format_us(tus)}
    brief.update({key: alert.get(key) for key in keys})
    brief.update({key: alert.get(key) for key in ("owner", "runbook", "calls", "fired_at", "resolved_at")})
    return brief


def _event_brief(tus: int, event: dict[str, Any]) -> dict[str, Any]:
    found = event.get("key")
    key: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "time": format_us(tus),
        "feature": key.get("feature"),
        "prompt_name": key.get("prompt_name"),
        "old_fingerprint": event.get("old_fingerprint"),
        "new_fingerprint": event.get("new_fingerprint"),
    }


# ---------------------------------------------------------------------------------------------------------
# DuckDB engine: the same parts in SQL


def _duck_group_columns() -> str:
    tokens = ", ".join(f"sum({c})" for c in _TOKEN_COLUMNS)
    return (
        "count(*), count(*) FILTER (WHERE status = 'error'), count(*) FILTER (WHERE status = 'blocked'), "
        "count(*) FILTER (WHERE content_filtered), count(*) FILTER (WHERE refusal), "
        f"{tokens}, sum(cost), count(cost), min(tus), max(tus)"
    )


def _grouping_key(columns: dict[str, str]) -> tuple[str, str]:
    """SQL for (which grouping set, its key) over GROUPING SETS of single columns."""
    dim = "CASE " + " ".join(f"WHEN GROUPING({col}) = 0 THEN '{name}'" for name, col in columns.items())
    key = "CASE " + " ".join(f"WHEN GROUPING({col}) = 0 THEN {col}::VARCHAR" for col in columns.values())
    return dim + " ELSE '' END", key + " END"


class _Duck:
    """Summary parts from the reader's DuckDB table ``rows``."""

    def __init__(self, connection: Any, targets: Sequence[Target]) -> None:
        self.c = connection
        self.targets = targets

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.c.execute(sql, list(params)).fetchall())

    def parts(self) -> dict[str, Any]:
        kinds = dict(self.q("SELECT kind, count(*) FROM rows GROUP BY kind"))
        tmin, tmax = self.q("SELECT min(tus), max(tus) FROM rows")[0]
        if tmin is None:
            return Accumulator(self.targets).parts()
        seconds = choose_bucket_seconds(tmin, tmax)
        width = seconds * 1_000_000
        self.c.execute(
            f"CREATE OR REPLACE TEMP VIEW calls AS SELECT *, tus // {width} AS tb FROM rows WHERE kind = 'llm_call'"
        )
        columns = {"_bucket": "tb", **{name: _q(col) for name, col in FULL_DIMENSIONS.items()}}
        groups = self._groups(columns)
        overall = groups.pop(("", None), None) or _empty_group_parts()
        dims: dict[str, dict[Any, Any]] = {name: {} for name in FULL_DIMENSIONS}
        bucket_groups: dict[int, dict[str, Any]] = {}
        for (dim, key), parts in groups.items():
            if dim == "_bucket":
                bucket_groups[int(key)] = parts
            else:
                dims[dim][key] = parts
        buckets = self._buckets(width, bucket_groups)
        traces, trace_cost = self.q(
            "SELECT count(DISTINCT trace_id), sum(cost) FILTER (WHERE trace_id IS NOT NULL) FROM calls"
        )[0]
        return {
            "kinds": kinds,
            "tmin": tmin,
            "tmax": tmax,
            "overall": overall,
            "dims": dims,
            "light": self._light(),
            "traces": traces,
            "trace_cost": trace_cost or 0.0,
            "bucket_seconds": seconds,
            "buckets": buckets,
            **self._scores(),
            "guardrails": self._guardrails(),
            "labels": self._labels(),
            **self._top_calls(),
            **self._alerts_and_events(),
            "within": self._within(),
        }

    def _groups(self, columns: dict[str, str]) -> dict[tuple[str, Any], dict[str, Any]]:
        sets = "(), " + ", ".join(f"({col})" for col in columns.values())
        dim, key = _grouping_key(columns)
        result: dict[tuple[str, Any], dict[str, Any]] = {}
        for row in self.q(
            f"SELECT {dim}, {key}, {_duck_group_columns()} FROM calls GROUP BY GROUPING SETS ({sets})"
        ):
            calls, errors, blocked, filtered, refusals = row[2:7]
            tokens = [float(v or 0.0) for v in row[7:13]]
            cost, cost_calls, tmin, tmax = row[13:17]
            result[(row[0], row[1])] = {
                "calls": calls,
                "errors": errors,
                "blocked": blocked,
                "content_filtered": filtered,
                "refusals": refusals,
                "cats": {},
                "latency": _EMPTY_HIST,
                "ttft": _EMPTY_HIST,
                "tokens": tokens,
                "cost": cost or 0.0,
                "cost_calls": cost_calls,
                "tmin": tmin,
                "tmax": tmax,
            }
        cats_sets = "(err_cat), " + ", ".join(f"({col}, err_cat)" for col in columns.values())
        for row in self.q(
            f"SELECT {dim}, {key}, err_cat, count(*) FROM calls WHERE status = 'error' "
            f"GROUP BY GROUPING SETS ({cats_sets})"
        ):
            result[(row[0], row[1])]["cats"][row[2]] = row[3]
        for field_name, value, where in (
            ("latency", "latency", "latency IS NOT NULL AND status <> 'blocked'"),
            ("ttft", "ttft", "ttft IS NOT NULL"),
        ):
            for (group_dim, group_key), parts in self._hists(value, where, columns).items():
                result[(group_dim, group_key)][field_name] = parts
        return result

    def _hists(
        self, value: str, where: str, columns: dict[str, str], source: str = "calls"
    ) -> dict[tuple[str, Any], tuple[int, float, float, float, list[int | None]]]:
        """Histogram parts of ``value`` overall ('' key) and per grouping column."""
        sets = "(b), " + ", ".join(f"({col}, b)" for col in columns.values())
        dim, key = _grouping_key(columns) if columns else ("''", "NULL")
        quantiles = ", ".join(
            f"min(b) FILTER (WHERE c >= greatest(1, ceil(tot * {q} / 100.0)))" for q in QUANTILES
        )
        sql = f"""
WITH base AS (SELECT *, {SQL_BUCKET.format(v=value)} AS b FROM {source} WHERE {where}),
hb AS (SELECT {dim} AS dim, {key} AS key, b, count(*) AS n, sum({value}) AS total, min({value}) AS lo,
              max({value}) AS hi FROM base GROUP BY GROUPING SETS ({sets})),
cum AS (SELECT *, sum(n) OVER (PARTITION BY dim, key ORDER BY b ROWS UNBOUNDED PRECEDING) AS c,
               sum(n) OVER (PARTITION BY dim, key) AS tot FROM hb)
SELECT dim, key, sum(n), sum(total), min(lo), max(hi), {quantiles} FROM cum GROUP BY dim, key
"""
        result = {}
        for row in self.q(sql):
            result[(row[0], row[1])] = (
                int(row[2]),
                float(row[3]),
                float(row[4]),
                float(row[5]),
                [None if b is None else int(b) for b in row[6:]],
            )
        return result

    def _buckets(self, width: int, groups: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        buckets: dict[int, dict[str, Any]] = {}

        def bucket(index: int) -> dict[str, Any]:
            if index not in buckets:
                buckets[index] = {
                    "group": groups.get(index) or _empty_group_parts(),
                    "cost_by_model": {},
                    "evals": {},
                    "feedback": {},
                    "guardrails": {},
                    "fingerprints": {},
                    "alerts": {},
                    "events": 0,
                    "spans": 0,
                }
            return buckets[index]

        for index in groups:
            bucket(index)
        for index, model, cost in self.q(
            "SELECT tb, coalesce(model, 'unknown'), sum(cost) FROM calls WHERE cost IS NOT NULL GROUP BY ALL"
        ):
            bucket(index)["cost_by_model"][model] = cost
        for index, fingerprint, count in self.q(
            "SELECT tb, fingerprint, count(*) FROM calls WHERE fingerprint IS NOT NULL GROUP BY ALL"
        ):
            bucket(index)["fingerprints"][fingerprint] = count
        for index, kind, name, parts in self._score_rows(f"tus // {width}"):
            bucket(index)["evals" if kind == "evaluation" else "feedback"][name] = parts
        for index, name, count, blocked in self.q(
            f"SELECT tus // {width}, coalesce(gr_name, 'unnamed'), count(*), count(*) FILTER (WHERE gr_blocked) "
            "FROM rows WHERE kind = 'guardrail' GROUP BY ALL"
        ):
            bucket(index)["guardrails"][name] = [count, blocked]
        for index, state, count in self.q(
            f"SELECT tus // {width}, coalesce(json_extract_string(j, '$.alert.state'), 'unknown'), count(*) "
            "FROM rows WHERE kind = 'alert' GROUP BY ALL"
        ):
            bucket(index)["alerts"][state] = count
        for index, count in self.q(
            f"SELECT tus // {width}, count(*) FROM rows WHERE kind = 'event' "
            "AND json_extract_string(j, '$.event.type') = 'prompt_changed' GROUP BY ALL"
        ):
            bucket(index)["events"] = count
        for index, count in self.q(
            f"SELECT tus // {width}, count(*) FROM rows WHERE kind = 'span' GROUP BY ALL"
        ):
            bucket(index)["spans"] = count
        return buckets

    def _score_rows(self, group: str) -> list[tuple[Any, str, str, dict[str, Any]]]:
        passed = (
            "CASE WHEN ev_passed IS NULL AND kind = 'feedback' AND ev_score IS NOT NULL "
            "THEN ev_score >= 0.5 ELSE ev_passed END"
        )
        rows = self.q(
            f"""SELECT {group}, kind, coalesce(ev_name, 'unnamed'), count(*), count(ev_score), sum(ev_score),
            count(*) FILTER (WHERE {passed}), count({passed})
            FROM rows WHERE kind IN ('evaluation', 'feedback') GROUP BY ALL"""
        )
        return [
            (
                row[0],
                row[1],
                row[2],
                {
                    "count": row[3],
                    "scored": row[4],
                    "score_sum": row[5] or 0.0,
                    "passed": row[6],
                    "judged": row[7],
                },
            )
            for row in rows
        ]

    def _scores(self) -> dict[str, Any]:
        evaluations: dict[str, Any] = {}
        feedback: dict[str, Any] = {}
        for _, kind, name, parts in self._score_rows("1"):
            (evaluations if kind == "evaluation" else feedback)[name] = parts
        return {"evaluations": evaluations, "feedback": feedback}

    def _guardrails(self) -> dict[str, Any]:
        self.c.execute("CREATE OR REPLACE TEMP VIEW guards AS SELECT * FROM rows WHERE kind = 'guardrail'")
        hists = self._hists(
            "gr_latency", "gr_latency IS NOT NULL", {"g": "coalesce(gr_name, 'unnamed')"}, "guards"
        )
        result = {}
        for name, count, blocked in self.q(
            "SELECT coalesce(gr_name, 'unnamed'), count(*), count(*) FILTER (WHERE gr_blocked) FROM guards GROUP BY ALL"
        ):
            result[name] = {
                "count": count,
                "blocked": blocked,
                "latency": hists.get(("g", name), _EMPTY_HIST),
            }
        return result

    def _labels(self) -> dict[str, Any]:
        return {
            fp: {"feature": f, "prompt_name": n, "prompt_version": v}
            for fp, f, n, v in self.q(
                "SELECT fingerprint, arg_max(feature, tus), arg_max(prompt_name, tus), arg_max(prompt_version, tus) "
                "FROM calls WHERE fingerprint IS NOT NULL GROUP BY fingerprint"
            )
        }

    def _light(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, column in LIGHT_DIMENSIONS.items():
            column = _q(column)
            result[name] = {
                row[0]: {
                    "calls": row[1],
                    "errors": row[2],
                    "blocked": row[3],
                    "cost": row[4] or 0.0,
                    "cost_calls": row[5],
                    "in_tok": row[6] or 0.0,
                    "out_tok": row[7] or 0.0,
                    "latency_total": row[8] or 0.0,
                    "latency_count": row[9],
                }
                for row in self.q(
                    f"""SELECT {column}, count(*), count(*) FILTER (WHERE status = 'error'),
                    count(*) FILTER (WHERE status = 'blocked'), sum(cost), count(cost), sum(in_tok), sum(out_tok),
                    sum(latency) FILTER (WHERE status <> 'blocked'),
                    count(latency) FILTER (WHERE status <> 'blocked')
                    FROM calls WHERE {column} IS NOT NULL GROUP BY 1"""
                )
            }
        return result

    def _top_calls(self) -> dict[str, Any]:
        columns = ", ".join(
            [
                "tus",
                "record_id",
                "trace_id",
                "provider",
                "model",
                "feature",
                "tenant",
                '"user"',
                "status",
                "err_type",
                "err_cat",
                "err_msg",
                "latency",
                "ttft",
                "cost",
                "in_tok",
                "out_tok",
            ]
        )
        names = [c.strip('"') for c in columns.split(", ")]

        def fetch(where: str, order: str) -> list[dict[str, Any]]:
            rows = self.q(
                f"SELECT {columns} FROM calls WHERE {where} ORDER BY {order}, coalesce(record_id, '') DESC "
                f"LIMIT {TOP_CALLS}"
            )
            return [_call_brief(dict(zip(names, row, strict=True))) for row in rows]

        return {
            "slowest": fetch("latency IS NOT NULL AND status <> 'blocked'", "latency DESC"),
            "expensive": fetch("cost IS NOT NULL", "cost DESC"),
            "failing": fetch("status = 'error'", "tus DESC"),
        }

    def _alerts_and_events(self) -> dict[str, Any]:
        alerts = self.q(
            f"SELECT tus, j FROM rows WHERE kind = 'alert' ORDER BY tus DESC, coalesce(record_id, '') DESC "
            f"LIMIT {ALERTS_KEPT}"
        )
        states = dict(
            self.q(
                "SELECT coalesce(json_extract_string(j, '$.alert.state'), 'unknown'), count(*) FROM rows "
                "WHERE kind = 'alert' GROUP BY ALL"
            )
        )
        names = dict(
            self.q(
                "SELECT coalesce(json_extract_string(j, '$.alert.name'), 'unnamed'), count(*) FROM rows "
                "WHERE kind = 'alert' AND json_extract_string(j, '$.alert.state') = 'firing' GROUP BY ALL"
            )
        )
        events = self.q(
            "SELECT tus, j FROM rows WHERE kind = 'event' AND json_extract_string(j, '$.event.type') = "
            f"'prompt_changed' ORDER BY tus DESC, coalesce(record_id, '') DESC LIMIT {EVENTS_KEPT}"
        )
        types = dict(
            self.q(
                "SELECT coalesce(json_extract_string(j, '$.event.type'), 'unknown'), count(*) FROM rows "
                "WHERE kind = 'event' GROUP BY ALL"
            )
        )
        return {
            "alerts": [_alert_brief(tus, _sub(j, "alert")) for tus, j in reversed(alerts)],
            "alert_states": states,
            "alert_names": names,
            "events": [_event_brief(tus, _sub(j, "event")) for tus, j in reversed(events)],
            "event_types": types,
        }

    def _within(self) -> dict[tuple[str, str, float], int]:
        result = {}
        for target in self.targets:
            key = _within_key(target)
            if key is None or key in result:
                continue
            column, op, threshold = key
            compare = "<" if op in ("<", ">=") else "<="
            extra = " AND status <> 'blocked'" if column == "latency" else ""
            (count,) = self.q(
                f"SELECT count(*) FROM calls WHERE {column} IS NOT NULL{extra} AND {column} {compare} ?",
                [threshold],
            )[0]
            result[key] = count
        return result


def _q(column: str) -> str:
    return f'"{column}"'


def _sub(text: str | None, key: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}").get(key)
    except (ValueError, AttributeError):
        return {}
    return value if isinstance(value, dict) else {}


_EMPTY_HIST: tuple[int, float, float, float, list[int | None]] = (
    0,
    0.0,
    math.inf,
    -math.inf,
    [None, None, None],
)


def _empty_group_parts() -> dict[str, Any]:
    return _Group().parts()


# ---------------------------------------------------------------------------------------------------------
# Parts -> summary


def _round(value: float | None, digits: int = 10) -> float | None:
    return None if value is None else round(value, digits)


def _hist_out(parts: tuple[int, float, float, float, list[int | None]]) -> dict[str, Any]:
    count, total, low, high, buckets = parts
    return summary_from(count, total, low, high, list(buckets))


def group_out(parts: dict[str, Any]) -> dict[str, Any]:
    """A summarised group (overall, one key of a dimension, one time bucket)."""
    calls = parts["calls"]
    attempted = calls - parts["blocked"]
    cost = parts["cost"]
    return {
        "calls": calls,
        "errors": parts["errors"],
        "error_rate": round(parts["errors"] / attempted, 6) if attempted else 0.0,
        "blocked": parts["blocked"],
        "content_filtered": parts["content_filtered"],
        "refusals": parts["refusals"],
        "errors_by_category": dict(sorted(parts["cats"].items(), key=lambda kv: (-kv[1], str(kv[0])))),
        "latency_ms": _hist_out(parts["latency"]),
        "ttft_ms": _hist_out(parts["ttft"]),
        "tokens": {key: round(value) for key, value in zip(TOKEN_KEYS, parts["tokens"], strict=True)},
        "cost_usd": _round(cost),
        "calls_with_cost": parts["cost_calls"],
        "cost_per_call_usd": _round(cost / parts["cost_calls"]) if parts["cost_calls"] else None,
        "first_seen": format_us(parts["tmin"]),
        "last_seen": format_us(parts["tmax"]),
    }


def _light_out(key: Any, parts: dict[str, Any]) -> dict[str, Any]:
    attempted = parts["calls"] - parts["blocked"]
    return {
        "key": key,
        "calls": parts["calls"],
        "errors": parts["errors"],
        "error_rate": round(parts["errors"] / attempted, 6) if attempted else 0.0,
        "cost_usd": _round(parts["cost"]),
        "cost_per_call_usd": _round(parts["cost"] / parts["cost_calls"]) if parts["cost_calls"] else None,
        "tokens": {
            "input_tokens": round(parts["in_tok"]),
            "output_tokens": round(parts["out_tok"]),
        },
        "latency_ms_mean": round(parts["latency_total"] / parts["latency_count"], 3)
        if parts["latency_count"]
        else None,
    }


def _scores_out(scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name in sorted(scores):
        parts = scores[name]
        out[name] = {
            "count": parts["count"],
            "mean": round(parts["score_sum"] / parts["scored"], 6) if parts["scored"] else None,
            "scored": parts["scored"],
            "pass_rate": round(parts["passed"] / parts["judged"], 6) if parts["judged"] else None,
            "fail_rate": round(1 - parts["passed"] / parts["judged"], 6) if parts["judged"] else None,
        }
    return out


def build_summary(
    parts: dict[str, Any],
    stats: ReadStats,
    *,
    time_range: TimeRange = ALL_TIME,
    targets: Sequence[Target] = (),
    top: int = TOP_CALLS,
    histogram: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The summary dict from engine parts."""
    overall = group_out(parts["overall"])
    tmin, tmax = parts["tmin"], parts["tmax"]
    seconds = parts["bucket_seconds"]
    span_s = (tmax - tmin) / 1e6 if tmin is not None and tmax is not None else None
    width = seconds * 1_000_000
    series = []
    peak = 0
    if tmin is not None and tmax is not None:
        for index in range(tmin // width, tmax // width + 1):
            bucket = parts["buckets"].get(index)
            group = group_out(bucket["group"] if bucket else _empty_group_parts())
            peak = max(peak, group["calls"])
            series.append(
                {
                    "start": format_us(index * width),
                    "calls": group["calls"],
                    "errors": group["errors"],
                    "error_rate": group["error_rate"],
                    "errors_by_category": group["errors_by_category"],
                    "blocked": group["blocked"],
                    "content_filtered": group["content_filtered"],
                    "latency_ms": group["latency_ms"],
                    "ttft_ms": group["ttft_ms"],
                    "tokens": group["tokens"],
                    "cost_usd": group["cost_usd"],
                    "cost_by_model": {
                        k: _round(v) for k, v in sorted((bucket or {}).get("cost_by_model", {}).items())
                    },
                    "evaluations": _scores_out((bucket or {}).get("evals", {})),
                    "feedback": _scores_out((bucket or {}).get("feedback", {})),
                    "guardrails": {
                        name: {"count": c, "blocked": b}
                        for name, (c, b) in sorted((bucket or {}).get("guardrails", {}).items())
                    },
                    "fingerprints": dict(sorted((bucket or {}).get("fingerprints", {}).items())),
                    "alerts": dict(sorted((bucket or {}).get("alerts", {}).items())),
                    "prompt_changes": (bucket or {}).get("events", 0),
                    "spans": (bucket or {}).get("spans", 0),
                    "_group": group,
                }
            )
    by: dict[str, list[dict[str, Any]]] = {}
    for name, groups in parts["dims"].items():
        rows = sorted(groups.items(), key=lambda kv: (-kv[1]["calls"], kv[0] is None, str(kv[0] or "")))
        by[name] = [{"key": key, **group_out(g)} for key, g in rows[: max(top, 1) * 5]]
    for name, groups in parts["light"].items():
        rows = sorted(groups.items(), key=lambda kv: (-kv[1]["cost"], -kv[1]["calls"], str(kv[0])))
        by[name] = [_light_out(key, g) for key, g in rows[:top]]
    sessions = parts["light"].get("session", {})
    session_cost = sum(p["cost"] for p in sessions.values())
    slo = []
    for target in targets:
        value = metric_value(overall, target.metric)
        judged = [b for b in series if b["calls"] >= target.min_calls]
        met = [b for b in judged if target.holds(metric_value(b["_group"], target.metric))]
        entry: dict[str, Any] = {
            "target": target.text,
            "source": target.source,
            "metric": target.metric,
            "op": target.op,
            "threshold": target.threshold,
            "value": value,
            "met": target.holds(value),
            "buckets_judged": len(judged),
            "buckets_met": len(met),
            "compliance": round(len(met) / len(judged), 6) if judged else None,
        }
        key = _within_key(target)
        if key is not None:
            population = overall["latency_ms" if key[0] == "latency" else "ttft_ms"]["count"]
            inside = parts["within"].get(key, 0)
            if target.op in (">", ">="):
                inside = population - inside
            entry["calls_meeting"] = round(inside / population, 6) if population else None
        slo.append(entry)
    for bucket in series:
        del bucket["_group"]
    fingerprint_rows = []
    for row in by["prompt_fingerprint"]:
        if row["key"] is None:
            continue
        labels = parts["labels"].get(row["key"], {})
        fingerprint_rows.append({**row, **labels})
    calls = overall["calls"]
    guardrails = {
        name: {
            "count": g["count"],
            "blocked": g["blocked"],
            "block_rate": round(g["blocked"] / g["count"], 6) if g["count"] else None,
            "latency_ms": _hist_out(g["latency"]),
        }
        for name, g in sorted(parts["guardrails"].items())
    }
    return {
        "source": stats.as_dict(),
        "range": {
            "from": format_us(tmin),
            "to": format_us(tmax),
            "seconds": span_s,
            "requested_from": format_us(time_range.start_us),
            "requested_to": format_us(time_range.end_us),
        },
        "records_by_kind": dict(sorted(parts["kinds"].items())),
        **overall,
        "by_status": {
            status: count
            for status, count in (
                ("ok", overall["calls"] - overall["errors"] - overall["blocked"]),
                ("error", overall["errors"]),
                ("blocked", overall["blocked"]),
            )
            if count
        },
        "throughput": {
            "calls_per_minute": round(calls / (span_s / 60), 6) if span_s else None,
            "peak_calls_per_minute": round(peak / (seconds / 60), 6) if series else None,
        },
        "traces": parts["traces"],
        "cost_per_trace_usd": _round(parts["trace_cost"] / parts["traces"]) if parts["traces"] else None,
        "sessions": len(sessions),
        "cost_per_session_usd": _round(session_cost / len(sessions)) if sessions else None,
        "users": len(parts["light"].get("user", {})),
        "by": by,
        "timeseries": {"bucket_seconds": seconds, "buckets": series},
        "latency_histogram": histogram or [],
        "slo": slo,
        "slowest": parts["slowest"][:top],
        "most_expensive": parts["expensive"][:top],
        "failing": parts["failing"][:top],
        "evaluations": _scores_out(parts["evaluations"]),
        "feedback": _scores_out(parts["feedback"]),
        "guardrails": guardrails,
        "alerts": {
            "records": sum(parts["alert_states"].values()),
            "by_state": dict(sorted(parts["alert_states"].items())),
            "firings_by_name": dict(sorted(parts["alert_names"].items(), key=lambda kv: (-kv[1], kv[0]))),
            "recent": parts["alerts"],
        },
        "prompts": {
            "fingerprints": fingerprint_rows,
            "changes": parts["events"],
            "events_by_type": dict(sorted(parts["event_types"].items())),
        },
        "spans": parts["kinds"].get("span", 0),
    }


# ---------------------------------------------------------------------------------------------------------
# Latency histogram for display: the overall 1% buckets grouped into at most ~40 bars


def display_histogram(buckets: dict[int, int], bars: int = 40) -> list[dict[str, Any]]:
    """Bars ``{lo, hi, count}`` (ms) over the 1% buckets, grouped so at most ``bars`` remain."""
    if not buckets:
        return []
    zeros = buckets.get(ZERO_BUCKET, 0)
    positive = {b: n for b, n in buckets.items() if b != ZERO_BUCKET}
    out = []
    if zeros:
        out.append({"lo": 0.0, "hi": 0.0, "count": zeros})
    if positive:
        first, last = min(positive), max(positive)
        step = max(1, math.ceil((last - first + 1) / bars))
        for start in range(first, last + 1, step):
            count = sum(positive.get(b, 0) for b in range(start, start + step))
            lo, _ = bucket_bounds(start)
            _, hi = bucket_bounds(start + step - 1)
            out.append({"lo": round(lo, 3), "hi": round(hi, 3), "count": count})
    return out


def _python_histogram(accumulator: Accumulator) -> dict[int, int]:
    return dict(accumulator.overall.latency.buckets)


def _duck_histogram(connection: Any) -> dict[int, int]:
    return {
        int(b): int(n)
        for b, n in connection.execute(
            f"SELECT {SQL_BUCKET.format(v='latency')} AS b, count(*) FROM calls "
            "WHERE latency IS NOT NULL AND status <> 'blocked' GROUP BY b"
        ).fetchall()
    }


# ---------------------------------------------------------------------------------------------------------
# Entry point


def summarize(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    since: str | float | None = None,
    start: str | None = None,
    end: str | None = None,
    time_range: TimeRange | None = None,
    engine: str = "auto",
    targets: Sequence[Target | str] = (),
    alert_targets: bool = True,
    top: int = TOP_CALLS,
    stats: ReadStats | None = None,
    drift: bool = False,
    baseline: Any = None,
    drift_sample: int = 2000,
    drift_by: str | None = "feature",
) -> dict[str, Any]:
    """Summarise the records of ``paths`` (files, directories, globs; rotated and ``.gz`` files included).

    ``since`` (``"24h"``), ``start``/``end`` (ISO) or ``time_range`` select a time range; ``engine`` is
    ``auto`` (DuckDB for large inputs when installed), ``duckdb`` or ``python``; ``targets`` are SLO
    targets (``"latency_p99_ms<=2000"``), joined by those implied by ``LLM_MONITOR_ALERTS`` when
    ``alert_targets`` is true. What the read skipped or defaulted is in ``summary["source"]``.
    ``drift=True`` adds ``summary["drift"]``: the first third of the range against the last third (or
    ``baseline``, a time range, against the whole range), ``drift_sample`` calls a side at most.
    """
    from .drift import drift_of_samples, report_drift, report_sides

    window = time_range or TimeRange.build(since, start, end)
    chosen: list[Target] = [t for t in targets if isinstance(t, Target)]
    chosen += parse_targets([t for t in targets if isinstance(t, str)])
    if alert_targets:
        chosen += targets_from_alerts()
    stats = stats if stats is not None else ReadStats()
    files = reader.expand_paths(paths)
    which = reader.choose_engine(engine, files)
    drift_result: dict[str, Any] | None = None
    if which == "duckdb":
        keep = reader.keep_below_for(files, drift_sample) if drift else None
        connection = reader.load_duckdb(files, window, stats, keep_below=keep)
        duck = _Duck(connection, chosen)
        parts = duck.parts()
        histogram = display_histogram(_duck_histogram(connection)) if parts["tmin"] is not None else []
        result = build_summary(parts, stats, time_range=window, targets=chosen, top=top, histogram=histogram)
        if drift:
            sides = report_sides(result, baseline)
            if isinstance(sides, str):
                drift_result = {"skipped": sides}
            else:
                assert keep is not None
                samples = reader.sample_from_duckdb(connection, files, sides, drift_sample, keep)
                drift_result = drift_of_samples(samples, sides, drift_by)
        connection.close()
    else:
        stats.engine = "python"
        accumulator = Accumulator(chosen)
        for row, record in reader.iter_rows(files, window, stats, files=files):
            accumulator.add(row, record)
        parts = accumulator.parts()
        histogram = display_histogram(_python_histogram(accumulator))
        result = build_summary(parts, stats, time_range=window, targets=chosen, top=top, histogram=histogram)
        if drift:
            drift_result = report_drift(
                files, result, baseline=baseline, sample=drift_sample, by=drift_by, engine="python"
            )
    if drift:
        result["drift"] = drift_result
    return result


__all__ = [
    "BUCKET_SIZES",
    "DIMENSIONS",
    "FULL_DIMENSIONS",
    "LIGHT_DIMENSIONS",
    "MAX_BUCKETS",
    "SLO_METRICS",
    "Accumulator",
    "Target",
    "build_summary",
    "choose_bucket_seconds",
    "display_histogram",
    "group_out",
    "metric_value",
    "parse_targets",
    "summarize",
    "targets_from_alerts",
]
