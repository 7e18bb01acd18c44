"""Small-sample statistics for campaign results: Wilson / Newcombe intervals, Fisher's test.

A shop of 40 contacted customers is the normal case, so nothing here uses the normal
approximation of a difference of proportions ("Wald"), which under-covers badly at that size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval (``None`` when undefined)."""

    estimate: float | None
    low: float | None
    high: float | None


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a proportion (``Interval(None, None, None)`` when ``n == 0``)."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return Interval(None, None, None)
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # Exact ends at the boundaries (the formula can leave 1e-17 noise).
    if successes == 0:
        low = 0.0
    if successes == n:
        high = 1.0
    return Interval(p, low, high)


def newcombe_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, confidence: float = 0.95
) -> Interval:
    """Newcombe's hybrid score interval (his method 10) for ``p_a − p_b``.

    Built from the two Wilson intervals, so it stays inside [−1, 1], is defined at 0 and n,
    and keeps close to nominal coverage for n around 20–50 per arm where the Wald interval
    does not. ``Interval(None, …)`` when an arm is empty.
    """
    if n_a == 0 or n_b == 0:
        return Interval(None, None, None)
    a = wilson_interval(successes_a, n_a, confidence=confidence)
    b = wilson_interval(successes_b, n_b, confidence=confidence)
    assert a.estimate is not None and a.low is not None and a.high is not None
    assert b.estimate is not None and b.low is not None and b.high is not None
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


@dataclass(frozen=True)
class Comparison:
    """Two arms compared with Fisher's exact test."""

    p_value: float | None
    significant: bool
    winner: str | None
    difference: Interval


def fisher_compare(
    label_a: str,
    successes_a: int,
    n_a: int,
    label_b: str,
    successes_b: int,
    n_b: int,
    *,
    alpha: float = 0.05,
) -> Comparison:
    """Fisher's exact test (two-sided) of two conversion rates; a winner only when p < alpha."""
    diff = newcombe_difference(successes_a, n_a, successes_b, n_b, confidence=1 - alpha)
    if n_a == 0 or n_b == 0:
        return Comparison(None, False, None, diff)
    # scipy.stats takes half a second to import; pages that only show intervals never pay it.
    from scipy.stats import fisher_exact

    table = [[successes_a, n_a - successes_a], [successes_b, n_b - successes_b]]
    p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
    significant = p_value < alpha and successes_a / n_a != successes_b / n_b
    winner = None
    if significant:
        winner = label_a if successes_a / n_a > successes_b / n_b else label_b
    return Comparison(p_value, significant, winner, diff)
