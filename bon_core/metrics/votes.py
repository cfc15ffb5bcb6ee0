"""Exact majority vote over random k-subsets of one pool, every k in one pass, by counting over answer classes.

The vote is :func:`bon_core.select.pick_vote` without scores (self-consistency): in a subset S, the answer class
with the most members in S wins; a tie goes to the class whose first member in S (lowest ``sample_index``) comes
first; the selected candidate is that first member. Candidates whose normalised answer is None do not vote; a
subset with no answer at all selects its lowest ``sample_index``.

Counting. Candidate x of class c (in ``sample_index`` order) is selected with c holding j members of S iff

* x ∈ S, no member of c before x is in S, and exactly j - 1 of the a_x members of c after x are: C(a_x, j-1) ways;
* every other class d has t_d < j members in S, or t_d = j members all after x (d then loses the tie):
  the polynomial  L_d(y) = Σ_{t<j} C(s_d, t) yᵗ + C(after_d(x), j) yʲ  counts d's choices by size;
* the unanswered candidates, and every class with fewer than j members (it can never reach j), are free:
  (1 + y)^R.

The number of k-subsets selecting x is then C(a_x, j-1) · [y^(k-j)] Π_d L_d(y) · (1 + y)^R, summed over j.
Only correct candidates are counted, all k at once (the coefficients of one polynomial); candidates of one class
with the same rivals after them are merged; a j that no rival class can reach is one binomial row. A problem
costs O(Σ_j |rival classes with ≥ j members| · rows · (j · rivals)²) multiply-adds at most, vectorised; no
subset is enumerated.

Counts are non-negative sums and products (no cancellation), held in float64 while 2ⁿ stays finite (n ≤ 1000:
relative error ~1e-13) and in exact Python integers beyond.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from bon_core.types import Candidate

FLOAT_MAX_N = 1000  # 2**1000 ≈ 1e301 < the float64 maximum: every count below stays finite
CACHE_MAX_DEGREE = 128  # products of at most this many coefficients reuse their (small) matrix across pools


@functools.lru_cache(maxsize=4)
def pascal_table(n: int, dtype: type) -> np.ndarray:
    """Table C[a, t] = C(a, t) for 0 <= a, t <= n (0 where t > a), read-only (cached: pure in its arguments)."""
    table = np.zeros((n + 1, n + 1), dtype=dtype)
    table[:, 0] = 1
    for a in range(1, n + 1):
        table[a, 1:] = table[a - 1, 1:] + table[a - 1, :-1]
    table.flags.writeable = False
    return table


def majority_correct_counts(
    candidates: Sequence[Candidate], keys: Sequence[str | None], *, integers: bool | None = None
) -> list[int | float]:
    """For k = 0..n, the number of k-subsets of ``candidates`` whose majority vote selects a correct candidate.

    ``keys`` are the candidates' normalised answers (None: no vote), aligned with ``candidates``. ``integers``:
    count in exact Python integers (slow) instead of float64; default only when n > ``FLOAT_MAX_N``.
    """
    n = len(candidates)
    if len(keys) != n:
        raise ValueError(f"keys has {len(keys)} entries for {n} candidates")
    exact_ints = n > FLOAT_MAX_N if integers is None else integers
    comb = pascal_table(n, object if exact_ints else float)
    order = sorted(range(n), key=lambda i: candidates[i].sample_index)
    names: dict[str | None, int] = {}
    cls = np.array([-1 if keys[i] is None else names.setdefault(keys[i], len(names)) for i in order], dtype=int)
    correct = np.array([bool(candidates[i].correct) for i in order])
    sizes = np.bincount(cls[cls >= 0], minlength=len(names))
    # after[d, p]: members of class d at positions > p (positions in sample_index order)
    member = np.zeros((len(names), n), dtype=int)
    member[cls[cls >= 0], np.flatnonzero(cls >= 0)] = 1
    after = member[:, ::-1].cumsum(axis=1)[:, ::-1] - member
    counts = np.zeros(n + 1, dtype=comb.dtype)

    unanswered = np.flatnonzero(cls < 0)
    for rank, pos in enumerate(unanswered):  # subsets with no answer pick their lowest sample_index
        if correct[pos]:
            rest = len(unanswered) - rank - 1
            counts[1 : rest + 2] += comb[rest, : rest + 1]

    targets = np.flatnonzero((cls >= 0) & correct)
    own_after = after[cls[targets], targets]
    size_list = sizes.tolist()
    target_classes = set(cls[targets].tolist())
    rival_sizes = [0 if d in target_classes and len(target_classes) == 1 else s for d, s in enumerate(size_list)]
    top = max(size_list, default=0)
    contested = max(rival_sizes, default=0)
    if contested < top and len(targets):
        # j > every other class's size: x's class wins whatever else is drawn, so for each such j the count is
        # (ways to draw x's class) · C(free, k - j), all j at once.
        js = np.arange(contested + 1, top + 1)
        ways = comb[own_after][:, js - 1].sum(axis=0)
        free_js = n - np.array([sum(s for s in size_list if s >= j) for j in js])
        ks = np.arange(n + 1)
        offset = ks[None, :] - js[:, None]
        spread = np.where(offset >= 0, comb[free_js[:, None], offset.clip(0)], 0)
        counts += ways @ spread
    for j in range(1, contested + 1):
        keep = own_after >= j - 1
        rows, ways_own = targets[keep], comb[own_after[keep], j - 1]
        if not len(rows):
            continue
        width = n + 1 - j  # coefficients of y^0 .. y^(n-j) are all that k <= n needs
        free = n - sum(s for s in size_list if s >= j)  # unanswered + classes too small to reach j
        others = [d for d, s in enumerate(rival_sizes) if s >= j]
        # Rows of one class with the same members of every other class after them count alike: merge them.
        # Positions ascend and "after" only falls, so equal keys are neighbours: a new group starts at a change.
        keys = np.vstack([cls[rows], after[others][:, rows]])
        starts = np.flatnonzero(np.concatenate([[True], (np.diff(keys, axis=1) != 0).any(axis=0)]))
        weight = np.add.reduceat(ways_own, starts) if comb.dtype != object else _sum_groups(ways_own, starts)
        keys = keys[:, starts]
        degree = min(width, 1 + j * len(others))  # each other class adds at most j members
        poly = np.zeros((len(starts), degree), dtype=comb.dtype)
        poly[:, 0] = 1
        mixed = len(target_classes) > 1  # then a row's own class is among `others` and must be skipped for it
        for col, d in enumerate(others, start=1):
            # members of d in S: t < j of its s_d (any of them), or exactly j all after x (d then loses the tie)
            below = _below if degree <= CACHE_MAX_DEGREE else _below.__wrapped__
            grown = poly @ below(n, comb.dtype == object, size_list[d], j, degree)
            if degree > j:
                grown[:, j:] += comb[keys[col], j][:, None] * poly[:, : degree - j]
            poly = np.where((keys[0] == d)[:, None], poly, grown) if mixed else grown
        counts[j:] += _convolve(weight @ poly, comb[free, :width], width)
    return counts.tolist()


def _sum_groups(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    ends = [*starts[1:], len(values)]
    return np.array([sum(values[a:b]) for a, b in zip(starts, ends, strict=True)], dtype=object)


@functools.lru_cache(maxsize=512)
def _below(n: int, integers: bool, size: int, j: int, degree: int) -> np.ndarray:
    """Matrix M with (P @ M)[b] = Σ_{t<j} C(size, t) · P[b - t], truncated to ``degree`` coefficients: the
    product with the ways a class of ``size`` members can put fewer than j of them in a subset (cached, read-only).
    """
    comb = pascal_table(n, object if integers else float)
    m = np.zeros((degree, degree), dtype=comb.dtype)
    for t in range(min(j, degree)):
        idx = np.arange(degree - t)
        m[idx, idx + t] = comb[size, t]
    m.flags.writeable = False
    return m


def _convolve(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """The first ``size`` coefficients of the product of two polynomials (float64 or exact integers)."""
    out = np.zeros(size, dtype=a.dtype)
    if a.dtype != object:
        full = np.convolve(a, b)[:size]
        out[: len(full)] = full
        return out
    for t, coef in enumerate(a[:size]):
        out[t:] += coef * b[: size - t]
    return out


def majority_at_k_exact(candidates: Sequence[Candidate], keys: Sequence[str | None]) -> list[float]:
    """Probability, for k = 0..n (index k; k = 0 gives 0.0), that majority vote on a uniformly random k-subset
    selects a correct candidate. Equal to enumerating all C(n, k) subsets through ``pick_vote``."""
    counts = majority_correct_counts(candidates, keys)
    n = len(candidates)
    return [0.0] + [_ratio(counts[k], math.comb(n, k)) for k in range(1, n + 1)]


def _ratio(count: int | float, total: int) -> float:
    if isinstance(count, float):
        return min(count / float(total), 1.0)  # float64 rounding can land a hair above 1
    return float(count / total)  # int / int: one correctly rounded division
