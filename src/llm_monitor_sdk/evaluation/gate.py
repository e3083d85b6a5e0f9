"""Eval runs as tests: fail on a metric below its threshold or significantly below a baseline run.

:func:`check_run` returns the failures of a run as readable lines; :func:`assert_run` raises an
``AssertionError`` listing them (so ``pytest`` prints them). The ``llm_monitor_eval`` fixture of the
pytest plugin wraps both and writes baselines on ``--llm-monitor-update-baselines``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .compare import LOWER_IS_BETTER, compare, regressions
from .offline import EvalRun, load_run

_METRICS = ("mean", "pass_rate")


def _threshold_key(key: str, known: Sequence[str]) -> tuple[str, str]:
    """``"rouge"`` -> ``("rouge", "mean")``; ``"rouge.pass_rate"`` -> ``("rouge", "pass_rate")``."""
    name, dot, metric = key.rpartition(".")
    if dot and metric in _METRICS:
        evaluator = name
    else:
        evaluator, metric = key, "mean"
    if evaluator not in known:
        raise ValueError(
            f"thresholds: {key!r} names no evaluator of this run (it has: {', '.join(known) or 'none'})"
        )
    return evaluator, metric


def _as_run(run: EvalRun | str | os.PathLike[str], what: str) -> EvalRun:
    if isinstance(run, EvalRun):
        return run
    if isinstance(run, str | os.PathLike):
        return load_run(run)
    raise ValueError(f"{what} must be an EvalRun or the path of a written run, not {type(run).__name__}")


def check_run(
    run: EvalRun | str | os.PathLike[str],
    *,
    thresholds: Mapping[str, float] | None = None,
    baseline: EvalRun | str | os.PathLike[str] | None = None,
    max_error_rate: float | None = None,
    alpha: float = 0.05,
    seed: int = 0,
) -> list[str]:
    """The reasons ``run`` fails its gate (an empty list when it passes).

    ``thresholds``: ``{"rouge": 0.4, "refusal.pass_rate": 0.9}``; a bare evaluator name means its
    mean. The threshold is a minimum, except for evaluators where lower is better (``refusal``,
    ``prompt_injection``, ``user_correction``, ``toxicity``: their *mean* is a maximum; pass rates are
    always minimums). A metric with no value (every example errored) fails. ``baseline``: a stored
    run (path or :class:`EvalRun`); a metric whose verdict against it is ``worse`` (seeded paired test
    at ``alpha``, see :func:`lm.evals.compare`) fails. ``max_error_rate``: the largest share of
    examples whose task may raise.
    """
    current = _as_run(run, "run")
    summary = current.summary()
    failures: list[str] = []
    for key, limit in (thresholds or {}).items():
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise ValueError(f"thresholds[{key!r}] must be a number, not {limit!r}")
        evaluator, metric = _threshold_key(key, current.evaluators)
        value = summary["evaluators"][evaluator][metric]
        at_most = metric == "mean" and evaluator in LOWER_IS_BETTER
        if value is None:
            failures.append(f"{evaluator}.{metric}: no value (no example was scored)")
        elif at_most and value > limit:
            failures.append(f"{evaluator}.{metric} = {value:.4g}, above the maximum {limit:g}")
        elif not at_most and value < limit:
            failures.append(f"{evaluator}.{metric} = {value:.4g}, below the minimum {limit:g}")
    if max_error_rate is not None:
        if isinstance(max_error_rate, bool) or not isinstance(max_error_rate, int | float):
            raise ValueError(f"max_error_rate must be a number, not {max_error_rate!r}")
        examples = summary["examples"] or 0
        rate = summary["errors"] / examples if examples else 0.0
        if rate > max_error_rate:
            failures.append(
                f"errors: {summary['errors']} of {examples} examples ({rate:.1%}), "
                f"above the maximum {max_error_rate:.1%}"
            )
    if baseline is not None:
        base = _as_run(baseline, "baseline")
        result = compare(base, current, alpha=alpha, seed=seed)
        for name in regressions(result, _METRICS):
            evaluator, _, metric = name.rpartition(".")
            entry = result["evaluators"][evaluator][metric]
            failures.append(
                f"{name}: {entry['b']:.4g} vs baseline {entry['a']:.4g} "
                f"(difference {entry['difference']:+.4g}, p = {entry['p_value']:.3g}, "
                f"{entry['pairs']} pairs): significantly worse than {base.name}"
            )
        for missing in result["only_in_a"]:
            failures.append(f"{missing}: scored in the baseline {base.name}, not in this run")
    return failures


def assert_run(
    run: EvalRun | str | os.PathLike[str],
    *,
    thresholds: Mapping[str, float] | None = None,
    baseline: EvalRun | str | os.PathLike[str] | None = None,
    max_error_rate: float | None = None,
    alpha: float = 0.05,
    seed: int = 0,
) -> None:
    """Raise ``AssertionError`` listing every failure of :func:`check_run` (nothing when it passes)."""
    failures = check_run(
        run,
        thresholds=thresholds,
        baseline=baseline,
        max_error_rate=max_error_rate,
        alpha=alpha,
        seed=seed,
    )
    if failures:
        name = run.name if isinstance(run, EvalRun) else os.fspath(run)
        raise AssertionError(f"eval run {name} failed its gate:\n  " + "\n  ".join(failures))


__all__ = ["assert_run", "check_run"]
