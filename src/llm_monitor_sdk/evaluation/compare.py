"""Comparing two offline eval runs (``lm.evals.compare``, ``llm-monitor eval compare``).

Per evaluator, the difference (run B minus run A) of the mean score and of the pass rate, paired by
example id where both runs hold the example (paired bootstrap over the per-example differences, with
the exact sign test alongside), unpaired bootstrap otherwise; each seeded. A difference is significant
when its two-sided p-value is below ``alpha`` (default 0.05). The verdict says whether B is
``better``, ``worse`` or shows ``no significant difference``: for pass rates and quality scores
higher is better; for the built-in detectors (``refusal``, ``prompt_injection``, ``user_correction``,
``toxicity``) a higher score is worse. Cost and latency are reported side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._resample import bootstrap_difference, paired_bootstrap, sign_test
from .offline import EvalRun, load_run

#: Evaluators whose higher score means "more of a problem" (their pass rate is still higher-better).
LOWER_IS_BETTER = frozenset({"refusal", "prompt_injection", "user_correction", "toxicity"})


def _metric(
    a: dict[str, float], b: dict[str, float], *, lower_is_better: bool, alpha: float, seed: int
) -> dict[str, Any] | None:
    if not a or not b:
        return None
    shared = sorted(set(a) & set(b))
    mean_a = sum(a.values()) / len(a)
    mean_b = sum(b.values()) / len(b)
    if shared:
        diffs = [b[key] - a[key] for key in shared]
        diff, ci, p = paired_bootstrap(diffs, seed=seed)
        test = "paired bootstrap"
        sign_p: float | None = sign_test(diffs)
    else:
        diff, ci, p = bootstrap_difference(list(a.values()), list(b.values()), seed=seed)
        test = "bootstrap"
        sign_p = None
    significant = p < alpha
    if not significant or diff == 0:
        verdict = "no significant difference"
    elif (diff > 0) != lower_is_better:
        verdict = "better"
    else:
        verdict = "worse"
    return {
        "a": mean_a,
        "b": mean_b,
        "difference": diff,
        "ci": ci,
        "p_value": p,
        "sign_test_p": sign_p,
        "pairs": len(shared),
        "test": test,
        "significant": significant,
        "verdict": verdict,
    }


def compare(
    run_a: EvalRun | str, run_b: EvalRun | str, *, alpha: float = 0.05, seed: int = 0
) -> dict[str, Any]:
    """Compare run B against run A (paths of written runs or :class:`EvalRun` objects).

    Returns ``{"a", "b", "evaluators": {name: {"mean": {...}, "pass_rate": {...}}}, "cost_usd",
    "latency_ms", "errors"}``; each metric holds ``a``, ``b``, ``difference`` (B - A), ``ci``,
    ``p_value``, ``pairs``, ``significant`` and ``verdict``.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < alpha < 1.0:
        raise ValueError(f"compare: alpha must be between 0 and 1, not {alpha!r}")
    first = load_run(run_a) if isinstance(run_a, str) else run_a
    second = load_run(run_b) if isinstance(run_b, str) else run_b
    summary_a, summary_b = first.summary(), second.summary()
    names = [n for n in first.evaluators if n in set(second.evaluators)]
    evaluators: dict[str, Any] = {}
    for index, name in enumerate(names):
        lower = name in LOWER_IS_BETTER
        evaluators[name] = {
            "mean": _metric(
                first.scores(name),
                second.scores(name),
                lower_is_better=lower,
                alpha=alpha,
                seed=seed + 2 * index,
            ),
            "pass_rate": _metric(
                first.scores(name, "passed"),
                second.scores(name, "passed"),
                lower_is_better=False,
                alpha=alpha,
                seed=seed + 2 * index + 1,
            ),
        }
    return {
        "a": first.name,
        "b": second.name,
        "alpha": alpha,
        "evaluators": evaluators,
        "only_in_a": [n for n in first.evaluators if n not in names],
        "only_in_b": [n for n in second.evaluators if n not in names],
        "cost_usd": {"a": summary_a["cost_usd"], "b": summary_b["cost_usd"]},
        "cost_per_example_usd": {
            "a": summary_a["cost_per_example_usd"],
            "b": summary_b["cost_per_example_usd"],
        },
        "latency_ms": {"a": summary_a["latency_ms"], "b": summary_b["latency_ms"]},
        "errors": {"a": summary_a["errors"], "b": summary_b["errors"]},
        "examples": {"a": summary_a["examples"], "b": summary_b["examples"]},
    }


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_comparison(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`compare`'s result (what ``llm-monitor eval compare`` prints)."""
    lines = [f"A = {result['a']}   B = {result['b']}   (difference = B - A, alpha {result['alpha']})", ""]
    header = f"{'evaluator':<22} {'metric':<10} {'A':>8} {'B':>8} {'diff':>8} {'p':>7} {'pairs':>5}  verdict"
    lines += [header, "-" * len(header)]
    for name, metrics in result["evaluators"].items():
        for metric in ("mean", "pass_rate"):
            m = metrics.get(metric)
            if not m:
                continue
            lines.append(
                f"{name:<22} {metric:<10} {_fmt(m['a']):>8} {_fmt(m['b']):>8} {_fmt(m['difference']):>8} "
                f"{_fmt(m['p_value']):>7} {m['pairs']:>5}  {m['verdict']}"
            )
    lines.append("")
    cost, per = result["cost_usd"], result["cost_per_example_usd"]
    lat = result["latency_ms"]
    lines.append(f"cost USD            A {_fmt(cost['a'], 6)}   B {_fmt(cost['b'], 6)}")
    lines.append(f"cost per example    A {_fmt(per['a'], 6)}   B {_fmt(per['b'], 6)}")
    lines.append(
        f"latency p50/p90 ms  A {_fmt(lat['a']['p50'], 1)}/{_fmt(lat['a']['p90'], 1)}   "
        f"B {_fmt(lat['b']['p50'], 1)}/{_fmt(lat['b']['p90'], 1)}"
    )
    lines.append(f"errors              A {result['errors']['a']}   B {result['errors']['b']}")
    return "\n".join(lines)


def regressions(result: dict[str, Any], metrics: Sequence[str] = ("mean", "pass_rate")) -> list[str]:
    """``"evaluator.metric"`` names whose verdict for B is ``worse``."""
    return [
        f"{name}.{metric}"
        for name, entry in result["evaluators"].items()
        for metric in metrics
        if entry.get(metric) and entry[metric]["verdict"] == "worse"
    ]


__all__ = ["LOWER_IS_BETTER", "compare", "format_comparison", "regressions"]
