"""One self-contained HTML report (``llm-monitor report --html FILE``).

The file holds everything it shows: the numbers (as JSON in the page), our own small script that
turns them into charts, and plotly.js itself, inlined from the ``plotly`` package (``pip install -e
'.[report]'``). It loads nothing from the network when opened, so it can be attached to
an incident or opened offline. Its size does not grow with the number of records: charts use the
summary's time buckets (at most 200) and tables its top lists.

There is one ``<section>`` per contract id: ``summary``, ``latency``, ``errors``, ``cost``,
``tokens``, ``breakdown``, ``alerts``, ``evaluations``, ``drift``, ``prompts``, ``slowest``. A panel
whose records were not found says "none recorded".
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..analysis._extras import require

SECTIONS = (
    "summary",
    "latency",
    "errors",
    "cost",
    "tokens",
    "breakdown",
    "alerts",
    "evaluations",
    "drift",
    "prompts",
    "slowest",
)
_TITLES = {
    "summary": "Summary",
    "latency": "Latency",
    "errors": "Errors",
    "cost": "Cost",
    "tokens": "Tokens",
    "breakdown": "Breakdown",
    "alerts": "Alerts",
    "evaluations": "Evaluations and feedback",
    "drift": "Drift",
    "prompts": "Prompts",
    "slowest": "Slowest, most expensive and failing calls",
}
_PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569"]
_CATEGORY_COLORS = {
    "rate_limit": "#d97706",
    "timeout": "#dc2626",
    "server": "#7c3aed",
    "connection": "#0891b2",
    "client": "#db2777",
    "content_filter": "#65a30d",
    "cancelled": "#64748b",
    "other": "#475569",
}
_TOP_SERIES = 8
_DASH = "\u2013"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _x(iso: str | None) -> str | None:
    # plotly reads "YYYY-MM-DD HH:MM:SS.ffffff" as a date (times are UTC; the axes say so).
    return None if iso is None else iso.replace("T", " ").rstrip("Z")


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _usd(value: Any) -> str:
    if value is None:
        return "\u2013"
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def _pct(value: Any) -> str:
    return "\u2013" if value is None else f"{value * 100:.2f}%"


class _Charts:
    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []

    def add(
        self, title: str, data: list[dict[str, Any]], layout: dict[str, Any] | None = None, height: int = 320
    ) -> str:
        base = {
            "title": {"text": title, "font": {"size": 14}, "x": 0.01},
            "height": height,
            "margin": {"l": 60, "r": 50, "t": 40, "b": 30},
            "legend": {"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
            "hovermode": "x unified",
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        }
        base.update(layout or {})
        self.specs.append({"data": data, "layout": base})
        index = len(self.specs) - 1
        return f'<div class="chart" id="chart-{index}" data-chart="{index}"></div>'


def _none(what: str) -> str:
    return f'<p class="none">No {what} recorded.</p>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            css = ' class="n"' if index in numeric else ""
            cells.append(f"<td{css}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _kpi(label: str, value: str, note: str = "") -> str:
    extra = f'<div class="note">{_e(note)}</div>' if note else ""
    return f'<div class="kpi"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div>{extra}</div>'


def _short(value: float) -> str:
    if value >= 10000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"


def _range_label(low: float, high: float) -> str:
    return "0" if not high else f"{_short(low)}\u2013{_short(high)}"


def _time_axis() -> dict[str, Any]:
    return {"type": "date"}


# ---------------------------------------------------------------------------------------------------------
# Sections


def _summary(s: dict[str, Any]) -> str:
    latency, ttft, tokens = s["latency_ms"], s["ttft_ms"], s["tokens"]
    cards = [
        _kpi("Calls", _num(s["calls"]), f"{_num(s['throughput']['calls_per_minute'], 2)} per minute"),
        _kpi("Error rate", _pct(s["error_rate"]), f"{_num(s['errors'])} errors"),
        _kpi(
            "Latency p50 / p90 / p99",
            f"{_num(latency['p50'], 0)} / {_num(latency['p90'], 0)} / {_num(latency['p99'], 0)} ms",
        ),
        _kpi(
            "TTFT p50 / p90",
            f"{_num(ttft['p50'], 0)} / {_num(ttft['p90'], 0)} ms",
            f"{_num(ttft['count'])} streams",
        ),
        _kpi("Cost", _usd(s["cost_usd"]), f"{_usd(s['cost_per_call_usd'])} per call"),
        _kpi("Cost per trace", _usd(s["cost_per_trace_usd"]), f"{_num(s['traces'])} traces"),
        _kpi("Cost per session", _usd(s["cost_per_session_usd"]), f"{_num(s['sessions'])} sessions"),
        _kpi("Tokens in / out", f"{_num(tokens['input_tokens'])} / {_num(tokens['output_tokens'])}"),
        _kpi("Blocked", _num(s["blocked"]), "by budget rules"),
        _kpi("Content filtered", _num(s["content_filtered"]), f"{_num(s['refusals'])} refusals"),
        _kpi("Users", _num(s["users"])),
        _kpi("Peak calls per minute", _num(s["throughput"]["peak_calls_per_minute"], 2)),
    ]
    parts = [f'<div class="kpis">{"".join(cards)}</div>']
    if s["slo"]:
        rows = [
            [
                _e(t["target"]),
                _e(t["source"]),
                _e(_num(t["value"], 4) if isinstance(t["value"], float) else t["value"]),
                '<span class="ok">met</span>'
                if t["met"]
                else ('<span class="bad">missed</span>' if t["met"] is False else "\u2013"),
                _e(f"{t['buckets_met']}/{t['buckets_judged']}"),
                _e(_pct(t["compliance"])),
                _e(_pct(t.get("calls_meeting"))),
            ]
            for t in s["slo"]
        ]
        parts.append("<h3>SLO compliance</h3>")
        parts.append(
            _table(
                [
                    "target",
                    "from",
                    "overall value",
                    "overall",
                    "time buckets meeting it",
                    "compliance",
                    "calls meeting it",
                ],
                rows,
                numeric=(2, 4, 5, 6),
            )
        )
    kinds = ", ".join(f"{_e(k)}: {_num(v)}" for k, v in s["records_by_kind"].items()) or "none"
    parts.append(f'<p class="muted">Records by kind: {kinds}.</p>')
    return "".join(parts)


def _latency(s: dict[str, Any], charts: _Charts, buckets: list[dict[str, Any]], x: list[Any]) -> str:
    if not s["latency_ms"]["count"]:
        return _none("call latencies")
    data = []
    for key, color in (("p50", _PALETTE[0]), ("p90", _PALETTE[3]), ("p99", _PALETTE[1])):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(x) < 40 else "lines",
                "name": f"latency {key}",
                "x": x,
                "y": [b["latency_ms"][key] for b in buckets],
                "line": {"color": color},
            }
        )
    if s["ttft_ms"]["count"]:
        for key, dash in (("p50", "dot"), ("p90", "dash")):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"TTFT {key}",
                    "x": x,
                    "y": [b["ttft_ms"][key] for b in buckets],
                    "line": {"color": _PALETTE[4], "dash": dash},
                }
            )
    out = [
        charts.add(
            "Latency and time to first token (ms)",
            data,
            {"xaxis": _time_axis(), "yaxis": {"title": {"text": "ms"}}},
        )
    ]
    bins = s["latency_histogram"]
    if bins:
        labels = [_range_label(b["lo"], b["hi"]) for b in bins]
        out.append(
            charts.add(
                "Latency distribution (calls per latency range, ms; ranges grow 1% per step on a log scale)",
                [
                    {
                        "type": "bar",
                        "name": "calls",
                        "x": labels,
                        "y": [b["count"] for b in bins],
                        "hovertemplate": "%{x} ms: %{y} calls<extra></extra>",
                        "marker": {"color": _PALETTE[0]},
                    }
                ],
                {
                    "xaxis": {"type": "category", "title": {"text": "latency (ms)"}},
                    "bargap": 0.1,
                    "hovermode": "closest",
                    "showlegend": False,
                },
                height=280,
            )
        )
    lat = s["latency_ms"]
    out.append(
        _table(
            ["", "count", "mean", "p50", "p90", "p99", "max"],
            [
                [
                    name,
                    _num(v["count"]),
                    _num(v["mean"]),
                    _num(v["p50"]),
                    _num(v["p90"]),
                    _num(v["p99"]),
                    _num(v["max"]),
                ]
                for name, v in (("latency (ms)", lat), ("TTFT (ms)", s["ttft_ms"]))
            ],
            numeric=(1, 2, 3, 4, 5, 6),
        )
    )
    return "".join(out)


def _errors(s: dict[str, Any], charts: _Charts, buckets: list[dict[str, Any]], x: list[Any]) -> str:
    if not s["calls"]:
        return _none("calls")
    categories = list(s["errors_by_category"])
    out = []
    if s["errors"]:
        data = [
            {
                "type": "bar",
                "name": category,
                "x": x,
                "y": [b["errors_by_category"].get(category, 0) for b in buckets],
                "marker": {"color": _CATEGORY_COLORS.get(category, _PALETTE[-1])},
            }
            for category in categories
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "error rate",
                "x": x,
                "y": [b["error_rate"] for b in buckets],
                "yaxis": "y2",
                "line": {"color": "#111827"},
            }
        )
        out.append(
            charts.add(
                "Errors by category and error rate",
                data,
                {
                    "barmode": "stack",
                    "xaxis": _time_axis(),
                    "yaxis": {"title": {"text": "errors"}},
                    "yaxis2": {
                        "title": {"text": "error rate"},
                        "overlaying": "y",
                        "side": "right",
                        "tickformat": ".1%",
                        "rangemode": "tozero",
                    },
                },
            )
        )
        out.append(
            _table(
                ["category", "errors", "share of calls"],
                [
                    [_e(c), _num(n), _pct(n / max(s["calls"] - s["blocked"], 1))]
                    for c, n in s["errors_by_category"].items()
                ],
                numeric=(1, 2),
            )
        )
    else:
        out.append('<p class="none">No errors recorded.</p>')
    out.append(
        f'<p class="muted">Blocked by budget rules: {_num(s["blocked"])}. Content filtered: '
        f"{_num(s['content_filtered'])}. Refusals: {_num(s['refusals'])}.</p>"
    )
    return "".join(out)


def _top_keys(rows: list[dict[str, Any]], value: str, n: int = _TOP_SERIES) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: -(r.get(value) or 0))[:n]


def _cost(s: dict[str, Any], charts: _Charts, buckets: list[dict[str, Any]], x: list[Any]) -> str:
    if not s["calls_with_cost"]:
        return _none("costs")
    totals: Counter[str] = Counter()
    for b in buckets:
        totals.update(b["cost_by_model"])
    models = [m for m, _ in totals.most_common(_TOP_SERIES)]
    data = []
    for index, model in enumerate(models):
        data.append(
            {
                "type": "bar",
                "name": model,
                "x": x,
                "y": [b["cost_by_model"].get(model, 0) for b in buckets],
                "marker": {"color": _PALETTE[index % len(_PALETTE)]},
            }
        )
    others = [sum(v for m, v in b["cost_by_model"].items() if m not in models) for b in buckets]
    if any(others):
        data.append(
            {"type": "bar", "name": "other models", "x": x, "y": others, "marker": {"color": "#94a3b8"}}
        )
    out = [
        charts.add(
            "Cost over time by model (USD)",
            data,
            {"barmode": "stack", "xaxis": _time_axis(), "yaxis": {"title": {"text": "USD"}}},
        )
    ]
    grid: list[str] = []
    for dim in ("model", "feature", "tenant", "user"):
        rows = [r for r in _top_keys(s["by"].get(dim, []), "cost_usd", 10) if r.get("cost_usd")]
        if not rows:
            continue
        labels = [str(r["key"]) if r["key"] is not None else "(none)" for r in rows][::-1]
        grid.append(
            charts.add(
                f"Cost by {dim} (USD, top {len(rows)})",
                [
                    {
                        "type": "bar",
                        "orientation": "h",
                        "x": [r["cost_usd"] for r in rows][::-1],
                        "y": labels,
                        "marker": {"color": _PALETTE[len(grid) % len(_PALETTE)]},
                        "hovertemplate": "%{y}: $%{x:.6f}<extra></extra>",
                    }
                ],
                {
                    "margin": {"l": 140, "r": 20, "t": 40, "b": 40},
                    "hovermode": "closest",
                    "showlegend": False,
                },
                height=60 + 26 * max(len(rows), 3),
            )
        )
    out.append(f'<div class="grid2">{"".join(grid)}</div>')
    out.append(
        f'<p class="muted">Calls with a known price: {_num(s["calls_with_cost"])} of {_num(s["calls"])} '
        "(a model without a price has no cost; it is never counted as free).</p>"
    )
    return "".join(out)


def _tokens(s: dict[str, Any], charts: _Charts, buckets: list[dict[str, Any]], x: list[Any]) -> str:
    totals = s["tokens"]
    if not any(totals.values()):
        return _none("token counts")
    data = []
    series = (
        ("input_tokens", "input (incl. cache)", _PALETTE[0]),
        ("cache_read_input_tokens", "of which cache reads", _PALETTE[5]),
        ("output_tokens", "output (incl. reasoning)", _PALETTE[2]),
        ("reasoning_output_tokens", "of which reasoning", _PALETTE[4]),
    )
    for key, name, color in series:
        if not totals.get(key):
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": x,
                "y": [b["tokens"][key] for b in buckets],
                "line": {"color": color},
            }
        )
    out = [
        charts.add(
            "Tokens per time bucket", data, {"xaxis": _time_axis(), "yaxis": {"title": {"text": "tokens"}}}
        )
    ]
    out.append(
        _table(
            ["input", "output", "total", "cache reads", "cache writes", "reasoning"],
            [
                [
                    _num(totals[k])
                    for k in (
                        "input_tokens",
                        "output_tokens",
                        "total_tokens",
                        "cache_read_input_tokens",
                        "cache_write_input_tokens",
                        "reasoning_output_tokens",
                    )
                ]
            ],
            numeric=(0, 1, 2, 3, 4, 5),
        )
    )
    return "".join(out)


_BREAKDOWN_DIMS = (
    ("model", "Model"),
    ("provider", "Provider"),
    ("feature", "Feature"),
    ("tenant", "Tenant"),
    ("prompt_name", "Prompt name"),
    ("prompt_version", "Prompt version"),
    ("variant", "Variant"),
    ("service", "Service"),
)


def _breakdown(s: dict[str, Any]) -> str:
    if not s["calls"]:
        return _none("calls")
    out = []
    for dim, title in _BREAKDOWN_DIMS:
        rows = s["by"].get(dim, [])
        if not rows or (len(rows) == 1 and rows[0]["key"] is None):
            continue
        out.append(f"<h3>{_e(title)}</h3>")
        out.append(
            _table(
                [
                    dim,
                    "calls",
                    "errors",
                    "error rate",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "TTFT p50",
                    "tokens in",
                    "tokens out",
                    "cost",
                    "cost/call",
                ],
                [
                    [
                        _e(r["key"] if r["key"] is not None else "(none)"),
                        _num(r["calls"]),
                        _num(r["errors"]),
                        _pct(r["error_rate"]),
                        _num(r["latency_ms"]["p50"]),
                        _num(r["latency_ms"]["p90"]),
                        _num(r["latency_ms"]["p99"]),
                        _num(r["ttft_ms"]["p50"]),
                        _num(r["tokens"]["input_tokens"]),
                        _num(r["tokens"]["output_tokens"]),
                        _usd(r["cost_usd"]),
                        _usd(r["cost_per_call_usd"]),
                    ]
                    for r in rows[:25]
                ],
                numeric=tuple(range(1, 12)),
            )
        )
    for dim, title in (
        ("user", "Users (top by cost)"),
        ("session", "Sessions / conversations (top by cost)"),
    ):
        rows = s["by"].get(dim, [])
        if not rows:
            continue
        out.append(f"<h3>{_e(title)}</h3>")
        out.append(
            _table(
                [
                    dim,
                    "calls",
                    "errors",
                    "error rate",
                    "mean latency ms",
                    "tokens in",
                    "tokens out",
                    "cost",
                    "cost/call",
                ],
                [
                    [
                        _e(r["key"]),
                        _num(r["calls"]),
                        _num(r["errors"]),
                        _pct(r["error_rate"]),
                        _num(r["latency_ms_mean"]),
                        _num(r["tokens"]["input_tokens"]),
                        _num(r["tokens"]["output_tokens"]),
                        _usd(r["cost_usd"]),
                        _usd(r["cost_per_call_usd"]),
                    ]
                    for r in rows[:20]
                ],
                numeric=tuple(range(1, 9)),
            )
        )
    return "".join(out) or _none("groups")


def _alerts(s: dict[str, Any], charts: _Charts) -> str:
    alerts = s["alerts"]
    if not alerts["records"]:
        return _none("alerts")
    recent = alerts["recent"]
    names = sorted({str(a.get("name") or a.get("rule") or "unnamed") for a in recent})
    data = []
    for state, color, symbol in (("firing", "#dc2626", "triangle-up"), ("resolved", "#16a34a", "circle")):
        points = [a for a in recent if a.get("state") == state]
        if points:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": state,
                    "x": [_x(a["time"]) for a in points],
                    "y": [str(a.get("name") or a.get("rule") or "unnamed") for a in points],
                    "text": [
                        f"{a.get('metric')} {a.get('op') or ''} {a.get('threshold')}: value {a.get('value')}"
                        for a in points
                    ],
                    "marker": {"color": color, "size": 10, "symbol": symbol},
                    "hovertemplate": "%{y}<br>%{x}<br>%{text}<extra>" + state + "</extra>",
                }
            )
    out = [
        charts.add(
            "Alert firings and resolutions",
            data,
            {"xaxis": _time_axis(), "hovermode": "closest", "margin": {"l": 220, "r": 20, "t": 40, "b": 50}},
            height=120 + 30 * min(len(names), 20),
        )
    ]
    states = ", ".join(f"{_e(k)}: {_num(v)}" for k, v in alerts["by_state"].items())
    out.append(f'<p class="muted">{_num(alerts["records"])} alert records ({states}).</p>')
    rows = [
        [
            _e(a["time"]),
            _e(a.get("name")),
            _e(a.get("state")),
            _e(a.get("severity")),
            _e(f"{a.get('metric')} {a.get('op') or ''} {a.get('threshold')}"),
            _e(a.get("value")),
            _e(json.dumps(a.get("group")) if a.get("group") else ""),
            _e(a.get("owner")),
            f'<a href="{_e(a["runbook"])}">runbook</a>' if a.get("runbook") else "",
        ]
        for a in reversed(recent[-50:])
    ]
    out.append(
        _table(
            ["time", "name", "state", "severity", "rule", "value", "group", "owner", "runbook"],
            rows,
            numeric=(5,),
        )
    )
    return "".join(out)


def _scores_chart(
    charts: _Charts, title: str, key: str, buckets: list[dict[str, Any]], x: list[Any], names: list[str]
) -> str:
    data = []
    for index, name in enumerate(names[:_TOP_SERIES]):
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "connectgaps": False,
                "name": name,
                "x": x,
                "y": [(b[key].get(name) or {}).get("mean") for b in buckets],
                "line": {"color": _PALETTE[index % len(_PALETTE)]},
            }
        )
    return charts.add(
        title, data, {"xaxis": _time_axis(), "yaxis": {"title": {"text": "mean score"}, "range": [0, 1.05]}}
    )


def _evaluations(s: dict[str, Any], charts: _Charts, buckets: list[dict[str, Any]], x: list[Any]) -> str:
    out = []
    for key, title, what in (
        ("evaluations", "Evaluation scores over time", "evaluations"),
        ("feedback", "Feedback over time", "feedback"),
    ):
        scores = s[key]
        out.append(f"<h3>{_e(what.capitalize())}</h3>")
        if not scores:
            out.append(_none(what))
            continue
        names = sorted(scores, key=lambda n: -scores[n]["count"])
        out.append(_scores_chart(charts, title, key, buckets, x, names))
        out.append(
            _table(
                ["name", "records", "scored", "mean score", "pass rate", "fail rate"],
                [
                    [
                        _e(n),
                        _num(scores[n]["count"]),
                        _num(scores[n]["scored"]),
                        _num(scores[n]["mean"], 3),
                        _pct(scores[n]["pass_rate"]),
                        _pct(scores[n]["fail_rate"]),
                    ]
                    for n in names
                ],
                numeric=(1, 2, 3, 4, 5),
            )
        )
    out.append("<h3>Guardrails</h3>")
    guards = s["guardrails"]
    if guards:
        out.append(
            _table(
                ["guardrail", "checks", "blocked", "block rate", "p50 ms", "p90 ms"],
                [
                    [
                        _e(n),
                        _num(g["count"]),
                        _num(g["blocked"]),
                        _pct(g["block_rate"]),
                        _num(g["latency_ms"]["p50"], 2),
                        _num(g["latency_ms"]["p90"], 2),
                    ]
                    for n, g in guards.items()
                ],
                numeric=(1, 2, 3, 4, 5),
            )
        )
    else:
        out.append(_none("guardrail checks"))
    return "".join(out)


def _drift_block(result: dict[str, Any]) -> list[list[str]]:
    return [
        [
            _e(name),
            _num(d["baseline_mean"], 2),
            _num(d["current_mean"], 2),
            _num(d["psi"], 4),
            '<span class="bad">drift</span>' if d["psi"] is not None and d["psi"] > 0.2 else "",
        ]
        for name, d in result["descriptors"].items()
    ]


def _drift(drift: dict[str, Any] | None, charts: _Charts) -> str:
    if not drift:
        return _none("drift comparison (no drift was computed)")
    if drift.get("skipped"):
        return f'<p class="none">{_e(drift["skipped"])}</p>'
    verdict = (
        '<span class="bad">drift detected</span>'
        if drift["drifted"]
        else '<span class="ok">no drift detected</span>'
    )
    out = [
        f"<p>Baseline <b>{_e(drift.get('baseline_range'))}</b> ({_num(drift['baseline_records'])} calls) against "
        f"current <b>{_e(drift.get('current_range'))}</b> ({_num(drift['current_records'])} calls): {verdict}. "
        f"Jensen\u2013Shannon distance of the user-input words: <b>{_num(drift['vocabulary']['js_distance'], 4)}</b> "
        "(drift above 0.1); PSI above 0.2 is drift.</p>"
    ]
    if drift.get("warning"):
        out.append(f'<p class="muted">{_e(drift["warning"])}.</p>')
    names = list(drift["descriptors"])
    out.append(
        charts.add(
            "Population stability index per descriptor (baseline deciles)",
            [
                {
                    "type": "bar",
                    "x": names,
                    "y": [drift["descriptors"][n]["psi"] for n in names],
                    "marker": {
                        "color": [
                            ("#dc2626" if (drift["descriptors"][n]["psi"] or 0) > 0.2 else _PALETTE[0])
                            for n in names
                        ]
                    },
                    "name": "PSI",
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": names,
                    "y": [0.2] * len(names),
                    "name": "threshold 0.2",
                    "line": {"dash": "dash", "color": "#111827"},
                },
            ],
            {"hovermode": "closest"},
            height=280,
        )
    )
    out.append(
        _table(
            ["descriptor", "baseline mean", "current mean", "PSI", ""], _drift_block(drift), numeric=(1, 2, 3)
        )
    )
    terms = drift.get("emerging_terms") or []
    out.append(
        f"<p>Emerging terms: {', '.join(f'<code>{_e(t)}</code>' for t in terms) if terms else 'none'}.</p>"
    )
    groups = drift.get("groups") or {}
    if groups:
        rows = [
            [
                _e(key),
                _num(g["baseline_records"]),
                _num(g["current_records"]),
                _num(max((d["psi"] or 0) for d in g["descriptors"].values()), 4),
                _num(g["vocabulary"]["js_distance"], 4),
                _e(", ".join(g["emerging_terms"][:5])),
                '<span class="bad">drift</span>' if g["drifted"] else "",
            ]
            for key, g in groups.items()
        ]
        out.append(f"<h3>Per {_e(drift.get('by'))}</h3>")
        out.append(
            _table(
                [
                    str(drift.get("by")),
                    "baseline calls",
                    "current calls",
                    "max PSI",
                    "JS distance",
                    "emerging terms",
                    "",
                ],
                rows,
                numeric=(1, 2, 3, 4),
            )
        )
    return "".join(out)


def _prompts(s: dict[str, Any], charts: _Charts, buckets: list[dict[str, Any]], x: list[Any]) -> str:
    prompts = s["prompts"]
    fingerprints = prompts["fingerprints"]
    versions = [r for r in s["by"].get("prompt_version", []) if r["key"] is not None]
    if not fingerprints and not versions and not prompts["changes"]:
        return _none("prompt fingerprints, versions or changes")
    out = []
    if fingerprints:
        top = fingerprints[:_TOP_SERIES]
        data = []
        for index, row in enumerate(top):
            label = f"{row.get('feature') or row.get('prompt_name') or '?'} {row.get('prompt_version') or ''} ({row['key'][:8]})"
            data.append(
                {
                    "type": "bar",
                    "name": label,
                    "x": x,
                    "y": [b["fingerprints"].get(row["key"], 0) for b in buckets],
                    "marker": {"color": _PALETTE[index % len(_PALETTE)]},
                }
            )
        shapes = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _x(change["time"]),
                "x1": _x(change["time"]),
                "y0": 0,
                "y1": 1,
                "line": {"color": "#dc2626", "width": 1, "dash": "dot"},
            }
            for change in prompts["changes"][-100:]
        ]
        out.append(
            charts.add(
                "Calls per system-prompt fingerprint (dotted lines: prompt_changed)",
                data,
                {"barmode": "stack", "xaxis": _time_axis(), "shapes": shapes},
            )
        )
        out.append(
            _table(
                [
                    "fingerprint",
                    "feature",
                    "prompt",
                    "version",
                    "calls",
                    "first seen",
                    "last seen",
                    "p50 ms",
                    "cost",
                ],
                [
                    [
                        f"<code>{_e(r['key'])}</code>",
                        _e(r.get("feature")),
                        _e(r.get("prompt_name")),
                        _e(r.get("prompt_version")),
                        _num(r["calls"]),
                        _e(r["first_seen"]),
                        _e(r["last_seen"]),
                        _num(r["latency_ms"]["p50"]),
                        _usd(r["cost_usd"]),
                    ]
                    for r in fingerprints[:30]
                ],
                numeric=(4, 7, 8),
            )
        )
    if versions:
        out.append("<h3>Prompt versions</h3>")
        out.append(
            _table(
                ["version", "calls", "first seen", "last seen", "error rate", "p50 ms", "cost/call"],
                [
                    [
                        _e(r["key"]),
                        _num(r["calls"]),
                        _e(r["first_seen"]),
                        _e(r["last_seen"]),
                        _pct(r["error_rate"]),
                        _num(r["latency_ms"]["p50"]),
                        _usd(r["cost_per_call_usd"]),
                    ]
                    for r in versions[:30]
                ],
                numeric=(1, 4, 5, 6),
            )
        )
    out.append("<h3>Prompt changes</h3>")
    if prompts["changes"]:
        out.append(
            _table(
                ["time", "feature", "prompt", "old fingerprint", "new fingerprint"],
                [
                    [
                        _e(c["time"]),
                        _e(c["feature"]),
                        _e(c["prompt_name"]),
                        f"<code>{_e(c['old_fingerprint'])}</code>",
                        f"<code>{_e(c['new_fingerprint'])}</code>",
                    ]
                    for c in reversed(prompts["changes"][-50:])
                ],
            )
        )
    else:
        out.append(_none("prompt_changed events"))
    return "".join(out)


def _calls_table(rows: list[dict[str, Any]]) -> str:
    return _table(
        [
            "time",
            "model",
            "feature",
            "status",
            "latency ms",
            "TTFT ms",
            "tokens in/out",
            "cost",
            "trace id",
            "record id",
        ],
        [
            [
                _e(r["time"]),
                _e(r["model"]),
                _e(r["feature"]),
                _e(
                    r["status"]
                    + (f" ({r['error_category']}: {r['error_type']})" if r["status"] == "error" else "")
                ),
                _num(r["latency_ms"]),
                _num(r["ttft_ms"]),
                _e(f"{_num(r['input_tokens'])} / {_num(r['output_tokens'])}"),
                _usd(r["cost_usd"]),
                f"<code>{_e(r['trace_id'])}</code>",
                f"<code>{_e(r['record_id'])}</code>",
            ]
            for r in rows
        ],
        numeric=(4, 5, 7),
    )


def _slowest(s: dict[str, Any]) -> str:
    out = []
    for key, title, what in (
        ("slowest", "Slowest calls", "calls"),
        ("most_expensive", "Most expensive calls", "priced calls"),
        ("failing", "Most recent failing calls", "failing calls"),
    ):
        out.append(f"<h3>{_e(title)}</h3>")
        out.append(_calls_table(s[key]) if s[key] else _none(what))
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# The page

_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f3f4f6}
header{background:#111827;color:#f9fafb;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#d1d5db;font-size:13px}
nav{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #e5e7eb;padding:6px 24px;display:flex;flex-wrap:wrap;gap:4px 14px}
nav a{color:#1d4ed8;text-decoration:none;font-size:13px}nav a:hover{text-decoration:underline}
main{max-width:1400px;margin:0 auto;padding:12px 24px 48px}section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;margin:14px 0;padding:12px 18px}
section h2{margin:2px 0 10px;font-size:17px}section h3{margin:14px 0 6px;font-size:14px;color:#374151}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px}.kpi{border:1px solid #e5e7eb;border-radius:6px;padding:8px 10px;background:#f9fafb}
.kpi .label{font-size:12px;color:#6b7280}.kpi .value{font-size:19px;font-weight:600;margin-top:2px}.kpi .note{font-size:12px;color:#6b7280}
.table{overflow-x:auto;margin:6px 0}table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left;white-space:nowrap}
th{background:#f9fafb;font-weight:600;color:#374151}td.n{text-align:right;font-variant-numeric:tabular-nums}tbody tr:hover{background:#f9fafb}
.chart{width:100%;min-height:200px}.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:8px}
.none{color:#6b7280;font-style:italic}.muted{color:#6b7280;font-size:12.5px}.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:0 3px;border-radius:3px}
"""

_SCRIPT = """
(function () {
  var state = {charts: 0, drawn: 0, errors: []};
  window.__llmMonitorReport = state;
  var specs = JSON.parse(document.getElementById("report-data").textContent);
  state.charts = specs.length;
  var pending = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = specs[Number(el.getAttribute("data-chart"))];
    try {
      pending.push(Plotly.newPlot(el, spec.data, spec.layout, {displaylogo: false, displayModeBar: false, responsive: true}).then(function () {
        state.drawn += 1;
      }));
    } catch (err) {
      state.errors.push(String(err));
    }
  });
  Promise.all(pending).then(function () { state.done = true; document.body.setAttribute("data-charts-drawn", String(state.drawn)); },
                            function (err) { state.errors.push(String(err)); state.done = true; });
})();
"""


def _json_for_script(value: Any) -> str:
    # Inside <script>, "</" would end the element; \\u003c keeps the JSON valid and inert.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace(
        "<", "\\u003c"
    )


def _clean(value: Any) -> Any:
    # NaN and infinities are not JSON: plotly gets null (a gap) instead.
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def render_html(
    summary: dict[str, Any], *, drift: dict[str, Any] | None = None, title: str = "LLM monitor report"
) -> str:
    """The report page for a summary (and an optional drift result) as one HTML string."""
    plotly = require("plotly.offline", "the HTML report")
    plotly_js = plotly.get_plotlyjs()
    charts = _Charts()
    buckets = summary["timeseries"]["buckets"]
    x = [_x(b["start"]) for b in buckets]
    bodies = {
        "summary": _summary(summary),
        "latency": _latency(summary, charts, buckets, x),
        "errors": _errors(summary, charts, buckets, x),
        "cost": _cost(summary, charts, buckets, x),
        "tokens": _tokens(summary, charts, buckets, x),
        "breakdown": _breakdown(summary),
        "alerts": _alerts(summary, charts),
        "evaluations": _evaluations(summary, charts, buckets, x),
        "drift": _drift(drift, charts),
        "prompts": _prompts(summary, charts, buckets, x),
        "slowest": _slowest(summary),
    }
    source = summary["source"]
    rng = summary["range"]
    skipped = sum(source["skipped"].values())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = (
        f"{_e(rng['from'] or _DASH)} \u2192 {_e(rng['to'] or _DASH)} \u00b7 {source['records']:,} records from "
        f"{len(source['files'])} file(s) \u00b7 engine {_e(source['engine'])} \u00b7 "
        f"{skipped:,} line(s) skipped \u00b7 all times UTC \u00b7 time buckets of {summary['timeseries']['bucket_seconds']:,} s \u00b7 generated {generated}"
    )
    files = ", ".join(_e(os.path.basename(f)) for f in source["files"][:12])
    nav = "".join(f'<a href="#{sid}">{_e(_TITLES[sid])}</a>' for sid in SECTIONS)
    sections = "".join(
        f'<section id="{sid}"><h2>{_e(_TITLES[sid])}</h2>{bodies[sid]}</section>' for sid in SECTIONS
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style>"
        f"<script>{plotly_js}</script></head>"
        f"<body><header><h1>{_e(title)}</h1><p>{subtitle}</p><p>Files: {files}</p></header>"
        f"<nav>{nav}</nav><main>{sections}</main>"
        f'<script type="application/json" id="report-data">{_json_for_script(_clean(charts.specs))}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_html(
    path: str | os.PathLike[str],
    summary: dict[str, Any],
    *,
    drift: dict[str, Any] | None = None,
    title: str = "LLM monitor report",
) -> int:
    """Write the report to ``path``; returns its size in bytes."""
    page = render_html(summary, drift=drift, title=title)
    target = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    data = page.encode("utf-8")
    with open(target, "wb") as handle:
        handle.write(data)
    return len(data)


__all__ = ["SECTIONS", "render_html", "write_html"]
