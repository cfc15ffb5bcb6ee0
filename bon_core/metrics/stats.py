"""Means over problems with confidence intervals, and paired differences between two strategies.

Interval methods for the mean of P per-problem values (each in [0, 1] for accuracies):

* ``clopper-pearson`` (default): the exact binomial (beta-quantile) interval applied to the problem-level mean
  as a proportion with effective n = P, i.e. x = P · mean "successes" (x may be fractional: beta quantiles with
  parameters x and P - x + 1, and x + 1 and P - x). Values in [0, 1] vary at most as much as 0/1 values with the
  same mean, so the interval is at least as wide as needed; it never collapses to zero width, also at 0%, 100%
  and P = 1. Coverage at P = 30 is >= 95% for 0/1 values and above for fractional ones
  (``tests/test_metrics_ci.py`` simulates it).
* ``wilson``: the Wilson score interval on the same proportion (narrower; dips to ~92% coverage at P = 30).
* ``normal``: mean ± z · s / sqrt(P) with the sample standard deviation (Wald). Undercovers at small P and near
  0 or 1, where it can have zero width: kept for comparison only.
* ``bootstrap``: percentile interval of the mean over seeded resamples of the problems (zero width when every
  value is equal).

:func:`paired_difference_ci` gives the interval for the difference of two strategies on the same problems.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, norm

Z_95 = 1.959963984540054
CI_METHODS = ("clopper-pearson", "wilson", "normal", "bootstrap")
DEFAULT_CI = "clopper-pearson"
_NAMES = {
    "clopper-pearson": "Clopper-Pearson (beta) interval on the mean as a proportion of P",
    "wilson": "Wilson score interval on the mean as a proportion of P",
    "normal": "normal (Wald) interval, mean ± z·s/√P",
    "bootstrap": "percentile bootstrap over problems",
}
_PROPORTION = ("clopper-pearson", "wilson")


@dataclass(frozen=True)
class MeanCI:
    """A mean, its confidence interval, the number of values and how the interval was computed."""

    value: float
    low: float
    high: float
    count: int
    method: str = ""


def ci_label(method: str, count: int, confidence: float = 0.95) -> str:
    """Words for an interval: e.g. ``95% Clopper-Pearson (beta) interval ... over 300 problems``."""
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; known: {', '.join(CI_METHODS)}")
    return f"{confidence:.0%} {_NAMES[method]}, over {count} problem{'s' if count != 1 else ''}"


def _z(confidence: float) -> float:
    return Z_95 if confidence == 0.95 else float(norm.ppf(0.5 + confidence / 2))


def proportion_interval(mean: float, count: int, method: str, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for a mean in [0, 1] treated as a proportion with ``count`` trials (``clopper-pearson``/``wilson``)."""
    alpha = 1.0 - confidence
    if method == "wilson":
        z = _z(confidence)
        denom = 1.0 + z * z / count
        centre = (mean + z * z / (2 * count)) / denom
        half = z / denom * math.sqrt(mean * (1.0 - mean) / count + z * z / (4 * count * count))
        return max(0.0, centre - half), min(1.0, centre + half)
    if method != "clopper-pearson":
        raise ValueError(f"{method!r} is not a proportion interval; use one of {', '.join(_PROPORTION)}")
    x = mean * count
    x = 0.0 if x < 1e-9 else float(count) if x > count - 1e-9 else x  # sums of floats land a hair off 0 or P
    low = 0.0 if x == 0.0 else float(beta.ppf(alpha / 2, x, count - x + 1))
    high = 1.0 if x == count else float(beta.ppf(1 - alpha / 2, x + 1, count - x))
    return low, high


def mean_ci(
    values: Sequence[float] | np.ndarray,
    method: str = DEFAULT_CI,
    *,
    bounds: tuple[float, float] | None = (0.0, 1.0),
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> MeanCI:
    """Mean of ``values`` with a ``confidence`` interval by ``method`` (see the module docstring), clipped to
    ``bounds``. ``clopper-pearson`` and ``wilson`` need every value in [0, 1].

    >>> m = mean_ci([1.0] * 30)
    >>> (m.value, round(m.low, 3), m.high)
    (1.0, 0.884, 1.0)
    """
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; known: {', '.join(CI_METHODS)}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("mean_ci needs at least one value")
    if not np.isfinite(v).all():
        raise ValueError(f"mean_ci got {int((~np.isfinite(v)).sum())} non-finite value(s) (NaN or inf)")
    mean = float(v.mean())
    if method in _PROPORTION:
        if v.min() < -1e-9 or v.max() > 1.0 + 1e-9:  # a hair outside is float rounding, not bad input
            raise ValueError(f"CI method {method!r} needs values in [0, 1]; got [{v.min():g}, {v.max():g}]")
        low, high = proportion_interval(min(max(mean, 0.0), 1.0), int(v.size), method, confidence)
    elif v.size == 1:
        low = high = mean
    elif method == "normal":
        half = _z(confidence) * float(v.std(ddof=1)) / math.sqrt(v.size)
        low, high = mean - half, mean + half
    else:
        means = _bootstrap_means(v, resamples, seed)
        low, high = (float(x) for x in np.percentile(means, [50 * (1 - confidence), 50 * (1 + confidence)]))
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return MeanCI(mean, min(low, mean), max(high, mean), int(v.size), method)


def _bootstrap_means(v: np.ndarray, resamples: int, seed: int, chunk: int = 1000) -> np.ndarray:
    """Means of ``resamples`` seeded resamples (with replacement) of ``v``, drawn in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        out.append(v[rng.integers(0, v.size, size=(rows, v.size))].mean(axis=1))
    return np.concatenate(out)


def paired_difference_ci(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95, resamples: int = 10000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``a[i] - b[i]`` over problems and its paired percentile-bootstrap interval.

    ``a`` and ``b`` are two strategies' per-problem values on the same problems, in the same order. The
    problems are resampled together (``resamples`` seeded resamples), so what the two strategies share cancels.
    Returns ``(mean_diff, low, high)``; all three are equal when every difference is the same.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or y.ndim != 1 or x.size != y.size:
        raise ValueError(f"paired_difference_ci needs two equally long sequences; got {x.size} and {y.size} values")
    if x.size == 0:
        raise ValueError("paired_difference_ci needs at least one problem")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("paired_difference_ci got non-finite value(s) (NaN or inf)")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 100:
        raise ValueError(f"resamples must be >= 100, got {resamples}")
    d = x - y
    mean = float(d.mean())
    if np.all(d == d[0]):
        return mean, mean, mean
    means = _bootstrap_means(d, resamples, seed)
    low, high = np.percentile(means, [50 * (1 - confidence), 50 * (1 + confidence)])
    return mean, min(float(low), mean), max(float(high), mean)
