"""``llm-monitor eval run|compare|agreement``: offline evaluation from the command line."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any


def _task(spec: str) -> Any:
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"eval run: task must be MODULE:FUNCTION, not {spec!r}")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    value: Any = importlib.import_module(module)
    for part in name.split("."):
        value = getattr(value, part)
    return value


def _run(args: argparse.Namespace) -> int:
    from ..evaluation.offline import run

    evaluators = [e for e in (args.evaluators or "").split(",") if e.strip()]
    result = run(
        args.dataset,
        _task(args.task),
        evaluators=evaluators,
        name=args.name,
        concurrency=args.concurrency,
        output=args.output,
    )
    print(json.dumps(result.summary(), indent=2, default=str))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ..evaluation.compare import compare, format_comparison, regressions

    result = compare(args.run_a, args.run_b, alpha=args.alpha, seed=args.seed)
    print(json.dumps(result, indent=2, default=str) if args.json else format_comparison(result))
    worse = regressions(result)
    if args.fail_on_regression and worse:
        print(f"regression: {', '.join(worse)} significantly worse in {result['b']}", file=sys.stderr)
        return 1
    return 0


def _agreement(args: argparse.Namespace) -> int:
    from ..evaluation.agreement import agreement

    print(json.dumps(agreement(args.path, judge=args.judge, human=args.human), indent=2))
    return 0


def register(commands: Any) -> None:
    """Add the ``eval`` command group."""
    group = commands.add_parser("eval", help="offline evaluation: runs, comparisons, judge agreement")
    actions = group.add_subparsers(dest="eval_command", required=True)
    run = actions.add_parser("run", help="run MODULE:FUNCTION over a dataset and score it")
    run.add_argument("task", metavar="MODULE:FUNCTION")
    run.add_argument("--dataset", required=True, metavar="FILE")
    run.add_argument("--evaluators", metavar="NAMES", help="comma list of built-in evaluators")
    run.add_argument("--output", "-o", metavar="FILE", help="write the run as JSONL")
    run.add_argument("--name")
    run.add_argument("--concurrency", type=int, default=4)
    run.set_defaults(func=_run)
    cmp = actions.add_parser("compare", help="compare run B against run A per evaluator")
    cmp.add_argument("run_a", metavar="RUN_A")
    cmp.add_argument("run_b", metavar="RUN_B")
    cmp.add_argument("--alpha", type=float, default=0.05)
    cmp.add_argument("--seed", type=int, default=0)
    cmp.add_argument("--json", action="store_true")
    cmp.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a metric of RUN_B is significantly worse than RUN_A (for CI)",
    )
    cmp.set_defaults(func=_compare)
    agr = actions.add_parser("agreement", help="judge verdicts against human feedback")
    agr.add_argument("path", metavar="PATH")
    agr.add_argument("--judge", required=True, metavar="NAME")
    agr.add_argument("--human", required=True, metavar="NAME")
    agr.set_defaults(func=_agreement)
