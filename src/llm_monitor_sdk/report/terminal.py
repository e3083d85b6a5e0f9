"""The terminal report of a summary: ``rich`` tables when ``rich`` is installed, plain text otherwise."""

from __future__ import annotations

import io
from typing import Any

from ..analysis.summary import LIGHT_DIMENSIONS


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _usd(value: Any) -> str:
    return "-" if value is None else f"{value:.6f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _rows(summary: dict[str, Any], by: str) -> tuple[list[str], list[list[str]]]:
    groups = summary["by"].get(by, [])
    if by in LIGHT_DIMENSIONS:
        headers = [by, "calls", "errors", "error rate", "mean ms", "tokens in", "tokens out", "cost USD"]
        rows = [
            [
                str(g["key"]),
                _num(g["calls"]),
                _num(g["errors"]),
                _pct(g["error_rate"]),
                _num(g["latency_ms_mean"]),
                _num(g["tokens"]["input_tokens"]),
                _num(g["tokens"]["output_tokens"]),
                _usd(g["cost_usd"]),
            ]
            for g in groups
        ]
        return headers, rows
    headers = [
        by,
        "calls",
        "errors",
        "error rate",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "ttft p50",
        "tokens in",
        "tokens out",
        "cost USD",
    ]
    rows = []
    for g in [*groups, {"key": "ALL", **summary}]:
        rows.append(
            [
                "(none)" if g["key"] is None else str(g["key"]),
                _num(g["calls"]),
                _num(g["errors"]),
                _pct(g["error_rate"]),
                _num(g["latency_ms"]["p50"]),
                _num(g["latency_ms"]["p90"]),
                _num(g["latency_ms"]["p99"]),
                _num(g["ttft_ms"]["p50"]),
                _num(g["tokens"]["input_tokens"]),
                _num(g["tokens"]["output_tokens"]),
                _usd(g["cost_usd"]),
            ]
        )
    return headers, rows


def _lines(summary: dict[str, Any]) -> list[str]:
    rng, source = summary["range"], summary["source"]
    lines = [
        f"{source['records']:,} records from {len(source['files'])} file(s), {rng['from'] or '-'} .. {rng['to'] or '-'} "
        f"(engine: {source['engine']})",
        f"calls {summary['calls']:,}   errors {summary['errors']:,} ({_pct(summary['error_rate'])})   blocked "
        f"{summary['blocked']:,}   content filtered {summary['content_filtered']:,}   spans {summary['spans']:,}",
        f"cost {_usd(summary['cost_usd'])} USD   per call {_usd(summary['cost_per_call_usd'])}   per trace "
        f"{_usd(summary['cost_per_trace_usd'])}   per session {_usd(summary['cost_per_session_usd'])}   calls/min "
        f"{_num(summary['throughput']['calls_per_minute'], 2)}",
    ]
    if summary["errors_by_category"]:
        lines.append(
            "errors by category: " + ", ".join(f"{k} {v:,}" for k, v in summary["errors_by_category"].items())
        )
    for target in summary["slo"]:
        verdict = {True: "met", False: "MISSED", None: "-"}[target["met"]]
        lines.append(
            f"SLO {target['target']}: {verdict} (value {_num(target['value'], 4)}; "
            f"{target['buckets_met']}/{target['buckets_judged']} time buckets; source: {target['source']})"
        )
    for key, label in (("evaluations", "evaluation"), ("feedback", "feedback")):
        for name, scores in summary[key].items():
            lines.append(
                f"{label} {name}: {scores['count']:,} records, mean {_num(scores['mean'], 3)}, pass rate {_pct(scores['pass_rate'])}"
            )
    if summary["alerts"]["records"]:
        lines.append("alerts: " + ", ".join(f"{k} {v:,}" for k, v in summary["alerts"]["by_state"].items()))
    return lines


def render_terminal(
    summary: dict[str, Any], *, by: str = "model", color: bool | None = None, width: int | None = None
) -> str:
    """The report as text (rich tables when rich is installed)."""
    headers, rows = _rows(summary, by)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return _plain(summary, headers, rows)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=bool(color),
        color_system="standard" if color else None,
        width=width or 160,
    )
    for line in _lines(summary):
        console.print(line, highlight=False, markup=False)
    table = Table(title=f"by {by}", show_lines=False)
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if summary["slowest"]:
        slow = Table(title="slowest calls")
        for header in ("time", "model", "feature", "latency ms", "trace id"):
            slow.add_column(header)
        for call in summary["slowest"][:5]:
            slow.add_row(
                call["time"] or "-",
                call["model"] or "-",
                call["feature"] or "-",
                _num(call["latency_ms"]),
                call["trace_id"] or "-",
            )
        console.print(slow)
    return buffer.getvalue()


def _plain(summary: dict[str, Any], headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = _lines(summary)
    out.append("")
    out.append(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    )
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    if summary["slowest"]:
        out.append("")
        out.append("slowest calls:")
        for call in summary["slowest"][:5]:
            out.append(
                f"  {call['time']}  {call['model']}  {_num(call['latency_ms'])} ms  trace {call['trace_id']}"
            )
    return "\n".join(out) + "\n"


__all__ = ["render_terminal"]
