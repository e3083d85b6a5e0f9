"""Small, seeded statistics for offline evaluation: percentiles, bootstrap intervals, paired tests.

Pure Python (``random.Random(seed)``), so results are the same on every machine for the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, linear between closest ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    weight = rank - low
    return float(sorted_values[low] * (1.0 - weight) + sorted_values[high] * weight)


def bootstrap_mean_ci(
    values: Sequence[float], *, seed: int = 0, resamples: int = 2000, level: float = 0.95
) -> list[float]:
    """A percentile-bootstrap confidence interval ``[low, high]`` of the mean of ``values``."""
    if not values:
        raise ValueError("bootstrap of no values")
    n = len(values)
    if n == 1 or min(values) == max(values):
        return [float(values[0]) if n == 1 else float(min(values))] * 2
    rng = random.Random(seed)
    choices = rng.choices
    means = sorted(sum(choices(values, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2.0 * 100.0
    return [percentile(means, tail), percentile(means, 100.0 - tail)]


def paired_bootstrap(
    differences: Sequence[float], *, seed: int = 0, resamples: int = 2000, level: float = 0.95
) -> tuple[float, list[float], float]:
    """Mean of paired ``differences``, its bootstrap interval and a two-sided bootstrap p-value.

    The p-value is twice the smaller share of resampled means on either side of zero (at least
    ``1 / resamples``); all-zero differences give ``p = 1``.
    """
    if not differences:
        raise ValueError("paired bootstrap of no pairs")
    n = len(differences)
    mean = sum(differences) / n
    if all(d == 0 for d in differences):
        return 0.0, [0.0, 0.0], 1.0
    if min(differences) == max(differences):  # every pair moved by the same amount: certain
        return mean, [mean, mean], 0.0
    rng = random.Random(seed)
    choices = rng.choices
    means = sorted(sum(choices(differences, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2.0 * 100.0
    below = sum(1 for m in means if m <= 0.0) / resamples
    above = sum(1 for m in means if m >= 0.0) / resamples
    p = min(1.0, max(2.0 * min(below, above), 1.0 / resamples))
    return mean, [percentile(means, tail), percentile(means, 100.0 - tail)], p


def bootstrap_difference(
    a: Sequence[float], b: Sequence[float], *, seed: int = 0, resamples: int = 2000, level: float = 0.95
) -> tuple[float, list[float], float]:
    """Unpaired: ``mean(b) - mean(a)``, its bootstrap interval and two-sided p-value (as above)."""
    if not a or not b:
        raise ValueError("bootstrap difference needs values on both sides")
    diff = sum(b) / len(b) - sum(a) / len(a)
    if min(a) == max(a) and min(b) == max(b):  # both sides constant: the difference is certain
        return diff, [diff, diff], 1.0 if diff == 0 else 0.0
    rng = random.Random(seed)
    choices = rng.choices
    na, nb = len(a), len(b)
    diffs = sorted(sum(choices(b, k=nb)) / nb - sum(choices(a, k=na)) / na for _ in range(resamples))
    tail = (1.0 - level) / 2.0 * 100.0
    below = sum(1 for m in diffs if m <= 0.0) / resamples
    above = sum(1 for m in diffs if m >= 0.0) / resamples
    p = min(1.0, max(2.0 * min(below, above), 1.0 / resamples))
    return diff, [percentile(diffs, tail), percentile(diffs, 100.0 - tail)], p


def sign_test(differences: Sequence[float]) -> float:
    """Exact two-sided sign-test p-value of paired differences (ties dropped; 1.0 with no signs)."""
    positive = sum(1 for d in differences if d > 0)
    negative = sum(1 for d in differences if d < 0)
    n = positive + negative
    if n == 0:
        return 1.0
    k = min(positive, negative)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


__all__ = ["bootstrap_difference", "bootstrap_mean_ci", "paired_bootstrap", "percentile", "sign_test"]
