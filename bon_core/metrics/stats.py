"""Means with 95% confidence intervals over problems.

``normal``: mean ± 1.96 · s / sqrt(P) with the sample standard deviation s (ddof=1) over the P per-problem
values, clipped to the values' range [0, 1] for accuracies (a single problem gives a zero-width interval).
``bootstrap``: the 2.5 and 97.5 percentiles of the mean over ``resamples`` seeded resamples of the problems.
Only the spread over problems is counted: within-problem Monte Carlo error of a bootstrap curve estimate (>= 100
resamples) is small next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054
CI_METHODS = ("normal", "bootstrap")


@dataclass(frozen=True)
class MeanCI:
    """A mean and its 95% confidence interval."""

    value: float
    low: float
    high: float
    count: int


def mean_ci(
    values: Sequence[float] | np.ndarray,
    method: str = "normal",
    *,
    bounds: tuple[float, float] | None = (0.0, 1.0),
    resamples: int = 1000,
    seed: int = 0,
) -> MeanCI:
    """Mean of ``values`` with a 95% CI by ``method`` (``normal`` or ``bootstrap``), clipped to ``bounds``.

    >>> mean_ci([0.0, 1.0, 1.0, 0.0]).value
    0.5
    """
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; known: {', '.join(CI_METHODS)}")
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(v.mean())
    if v.size == 1:
        low = high = mean
    elif method == "normal":
        half = Z_95 * float(v.std(ddof=1)) / math.sqrt(v.size)
        low, high = mean - half, mean + half
    else:
        rng = np.random.default_rng(seed)
        means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
        low, high = (float(x) for x in np.percentile(means, [2.5, 97.5]))
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return MeanCI(mean, low, high, int(v.size))
