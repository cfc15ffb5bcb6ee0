"""Exact weighted vote over random k-subsets of one pool, every k in one pass, by counting over answer classes.

The vote is :func:`bon_core.select.pick_vote` with scores and weights, as strategy ``weighted`` runs it on a
subset S: each answer class scores the sum (``math.fsum``: the correctly rounded exact sum) of its members'
weights in S and the largest sum wins; an equal sum goes to the class whose best member has the higher score,
then to the class seen at the lowest ``sample_index`` in S; the selected candidate is the winning class's
highest-scored member (lowest ``sample_index`` on ties). Candidates whose normalised answer is None do not vote; a
subset with no answer at all selects its highest-scored member (:func:`bon_core.select.pick_max`).

Weights are the raw scores, or with a ``temperature`` T the softmax of the scores over S. That softmax is
exp(v/T) / Z(S) with Z(S) common to every class of S, so the classes of S rank by their sums of
w = exp((v − v_max)/T) with v_max the pool's highest voting score, a weight that does not depend on S. The
count then uses those w: equal to ``pick_vote`` wherever its float arithmetic ranks the classes as the real
numbers do. Identical multisets of scores tie in both; two classes whose different sums of w agree to within
rounding (a few ulps) could be ordered otherwise by ``pick_vote``'s floats. When a w would underflow (a voting
score more than ~708·T below v_max) the count is refused (:func:`exact_obstacle`).

Counting. A non-empty subset A of class c has a key (s_A, top_A, −first_A): its rounded weight sum, its best
score, minus its lowest sample_index. With A = S ∩ c, c wins S iff every other class d puts in S a subset B_d (empty
allowed) whose key is below A's. Sorting the keys of every non-empty subset of every class once gives a global
rank; for each other class d, one binary search in d's sorted ranks and a table of running counts by size give
below_d(A, t), the number of t-subsets of d below A. Then

    #k-subsets where A wins = [y^(k−|A|)] Π_{d≠c} (1 + Σ_t below_d(A, t) yᵗ) · (1 + y)^(R + L_A)

with R the unanswered candidates (free) and L_A the one-member classes below A (each one may be in S or not).
Only the A whose best member is correct are counted; all k are the coefficients of one polynomial per A,
summed over A with equal (|A|, L_A) before the binomial factor (the largest rival's factor enters through one
matrix product per group instead of per A). Subsets without answers add C(R−1−r, k−1) for the correct
unanswered candidate of score rank r. The cost is Σ_c 2^(m_c) keys and, per class with a correct member,
2^(m_c) polynomial products, so the count is for pools whose answer classes stay small: at most
:data:`SUBSET_SUM_LIMIT` keys and :data:`WORK_LIMIT` multiply-adds (:func:`exact_obstacle`); one-member
classes add no product.

Sums are exact: each weight is a dyadic rational, so every subset sum is an exact integer over a common power
of two (two int64 limbs when it fits in 100 bits, Python integers otherwise), rounded once to the nearest float
as ``fsum`` rounds. Counts are float64 sums of non-negative products (relative error ~1e-13 while n ≤ 1000).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bon_core.metrics.votes import pascal_table
from bon_core.types import Candidate

SUBSET_SUM_LIMIT = 2**20  # Σ over answer classes of 2^(class size): sub-sums one pool may tabulate
WORK_LIMIT = 2**28  # multiply-adds of the polynomial products (well under a second of numpy)
MAX_N = 1000  # float64 counts stay finite and accurate up to C(1000, 500)
CHUNK_FLOATS = 1 << 22  # floats of one block of per-subset polynomials (32 MiB)
_LIMB = 48


@dataclass(frozen=True)
class _SubsetTable:
    """Every non-empty subset of one answer class (bit b of the mask index = the class's b-th best member)."""

    size: np.ndarray  # members in the subset
    total: np.ndarray  # correctly rounded weight sum
    top: np.ndarray  # best score in the subset
    first: np.ndarray  # lowest sample_index in the subset
    picks_correct: np.ndarray  # is the subset's representative (best member) correct


def vote_weights(scores: Sequence[float], temperature: float | None) -> list[float]:
    """The weight each score votes with: the score itself, or exp((score − max)/T) (see the module docstring)."""
    if temperature is None or not scores:
        return [float(s) for s in scores]
    top = max(scores)
    return [math.exp((s - top) / temperature) for s in scores]


def exact_obstacle(
    candidates: Sequence[Candidate],
    keys: Sequence[str | None],
    scores: Sequence[float],
    temperature: float | None = None,
) -> str | None:
    """Why :func:`weighted_correct_counts` will not count this pool exactly (too large for
    :data:`SUBSET_SUM_LIMIT`, :data:`WORK_LIMIT` or :data:`MAX_N`, or underflowing softmax weights), or None."""
    if len(keys) > MAX_N:
        return f"n = {len(keys)} is over the class-counting limit of {MAX_N}"
    classes = _classes(candidates, keys, scores)
    subsets = sum(2 ** len(members) for members in classes.values())
    if subsets > SUBSET_SUM_LIMIT:
        largest = max(len(members) for members in classes.values())
        return (
            f"its answer classes have {subsets:,} subsets in all (largest class: {largest} members), over the "
            f"class-counting limit of {SUBSET_SUM_LIMIT:,}"
        )
    work = _work(
        [[bool(candidates[i].correct) for i in members] for members in classes.values()],
        [len(members) for members in classes.values()],
    )
    if work > WORK_LIMIT:
        return f"counting would take ~{work:.2g} multiply-adds, over the limit of {WORK_LIMIT:.2g}"
    voting = [scores[i] for members in classes.values() for i in members]
    if temperature is not None and voting and min(vote_weights(voting, temperature)) < sys.float_info.min:
        return f"at temperature {temperature:g} some softmax weights underflow"
    return None


def _classes(
    candidates: Sequence[Candidate], keys: Sequence[str | None], scores: Sequence[float]
) -> dict[str, list[int]]:
    """Positions of each answer class's members, best first (pick_max order: score desc, sample_index asc)."""
    best_first = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i].sample_index))
    classes: dict[str, list[int]] = {}
    for i in best_first:
        key = keys[i]
        if key is not None:
            classes.setdefault(key, []).append(i)
    return classes


def _work(correct: Sequence[Sequence[bool]], sizes: Sequence[int]) -> int:
    """Multiply-adds of the polynomial products of :func:`_winning_polynomials` (an upper bound)."""
    total = 0
    for c, flags in enumerate(correct):
        # subsets whose best member is member b: 2^(members after b)
        rows = sum(2 ** (len(flags) - 1 - b) for b, ok in enumerate(flags) if ok)
        rivals = sorted(m for d, m in enumerate(sizes) if d != c and m > 1)
        positions = min(rows, 1 + sum(2**m - 1 for m in rivals))
        width, per_position = 1 + (rivals[0] if rivals else 0), 0
        for m in rivals[1:-1]:
            width += m
            per_position += width * (m + 1)
        total += positions * per_position + rows * width * (rivals[-1] + 1 if len(rivals) > 1 else 1)
    return total


def _rounded_subset_sums(weights: Sequence[float]) -> np.ndarray:
    """fsum of every subset of ``weights`` (index = bit mask), from exact integer sums over a common 2^e."""
    ratios = [w.as_integer_ratio() for w in weights]
    scale = max((den for _, den in ratios), default=1)
    ints = [num * (scale // den) for num, den in ratios]
    exponent = scale.bit_length() - 1
    if sum(abs(i) for i in ints).bit_length() <= 100 and exponent <= 1022 and len(ints) <= 32:
        # Two int64 limbs (below and above bit 48) add exactly; both limb sums are exact floats (< 2^53), so one
        # float addition rounds the exact sum correctly, and scaling by 2^-exponent stays exact (the result is
        # a normal float: a non-zero sum is at least 2^-exponent).
        high, low = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        for i in ints:
            high = np.concatenate([high, high + (i >> _LIMB)])
            low = np.concatenate([low, low + (i & ((1 << _LIMB) - 1))])
        return np.ldexp(np.ldexp(high.astype(float), _LIMB) + low.astype(float), -exponent)
    sums = [0]
    for i in ints:
        sums += [s + i for s in sums]
    return np.array([s / scale for s in sums], dtype=float)  # int / int: correctly rounded


def _subset_table(
    weights: Sequence[float], scores: Sequence[float], indices: Sequence[int], correct: Sequence[bool]
) -> _SubsetTable:
    """Keys of every non-empty subset of one class whose members come in pick_max order (best first)."""
    size, top = np.zeros(1, dtype=np.int64), np.full(1, -math.inf)
    first, picks = np.full(1, np.iinfo(np.int64).max), np.zeros(1, dtype=bool)
    for score, index, ok in zip(scores, indices, correct, strict=True):
        # Adding a later (worse) member b to a mask over earlier members keeps the mask's best member, if any.
        empty = size == 0
        size = np.concatenate([size, size + 1])
        top = np.concatenate([top, np.where(empty, score, top)])
        first = np.concatenate([first, np.minimum(first, index)])
        picks = np.concatenate([picks, np.where(empty, ok, picks)])
    total = _rounded_subset_sums(weights)
    return _SubsetTable(size[1:], total[1:], top[1:], first[1:], picks[1:])


def weighted_correct_counts(
    candidates: Sequence[Candidate],
    keys: Sequence[str | None],
    scores: Sequence[float],
    *,
    temperature: float | None = None,
) -> list[float]:
    """For k = 0..n, the number of k-subsets of ``candidates`` whose weighted vote selects a correct candidate.

    ``keys`` are the candidates' normalised answers (None: no vote) and ``scores`` their scores, aligned with
    ``candidates``. Raises ValueError when :func:`exact_obstacle` names a reason the count is not feasible.
    """
    n = len(candidates)
    if len(keys) != n or len(scores) != n:
        raise ValueError(f"{len(keys)} keys and {len(scores)} scores for {n} candidates")
    obstacle = exact_obstacle(candidates, keys, scores, temperature)
    if obstacle is not None:
        raise ValueError(f"weighted vote not countable exactly: {obstacle}")
    comb = pascal_table(n, float)
    counts = np.zeros(n + 1)
    unanswered = sorted(
        (i for i in range(n) if keys[i] is None), key=lambda i: (-scores[i], candidates[i].sample_index)
    )
    free = len(unanswered)
    for rank, i in enumerate(unanswered):  # subsets without answers: pick_max among them
        if candidates[i].correct:
            rest = free - rank - 1
            counts[1 : rest + 2] += comb[rest, : rest + 1]

    classes = list(_classes(candidates, keys, scores).values())
    voting = [i for members in classes for i in members]
    weight_of = dict(zip(voting, vote_weights([scores[i] for i in voting], temperature), strict=True))
    tables = [
        _subset_table(
            [weight_of[i] for i in members],
            [scores[i] for i in members],
            [candidates[i].sample_index for i in members],
            [bool(candidates[i].correct) for i in members],
        )
        for members in classes
    ]
    if not tables:
        return counts.tolist()

    # One global order of every subset's key (sum, best score, −first index); a subset beats another class's
    # subset iff its rank is higher. Equal keys occur only within one class, which is never compared to itself.
    rank = _ranks(
        np.concatenate([t.total for t in tables]),
        np.concatenate([t.top for t in tables]),
        np.concatenate([t.first for t in tables]),
    )
    bounds = np.cumsum([0, *(len(t.size) for t in tables)])
    ranks = [rank[bounds[c] : bounds[c + 1]] for c in range(len(tables))]

    singles = np.sort(np.array([ranks[c][0] for c, t in enumerate(tables) if len(t.size) == 1], dtype=np.int64))
    larger = [c for c, t in enumerate(tables) if len(t.size) > 1]
    counted = [c for c, t in enumerate(tables) if t.picks_correct.any()]
    below = {d: _below_table(ranks[d], tables[d].size) for d in larger if any(c != d for c in counted)}
    for c in counted:
        rows = np.flatnonzero(tables[c].picks_correct)
        rivals = sorted((below[d] for d in larger if d != c), key=lambda b: b.counts.shape[1])
        polys = _winning_polynomials(ranks[c][rows], tables[c].size[rows], rivals, singles)
        for (j, below_singles), poly in polys.items():
            binomial = comb[free + below_singles, : free + below_singles + 1]
            spread = np.convolve(poly, binomial)[: n + 1 - j]
            counts[j : j + len(spread)] += spread
    return counts.tolist()


def _ranks(total: np.ndarray, top: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Rank of every key (total, top, −first) in ascending order."""
    order = np.argsort(total, kind="stable")
    ordered = total[order]
    if (ordered[1:] == ordered[:-1]).any():  # equal sums: the tie-breakers decide (a slower sort on 3 keys)
        order = np.lexsort((-first, top, total))
    rank = np.empty(len(total), dtype=np.int64)
    rank[order] = np.arange(len(total))
    return rank


@dataclass(frozen=True)
class _BelowTable:
    """One class's subsets in rank order, and how many of each size lie below a position."""

    ranks: np.ndarray  # sorted ranks of the class's non-empty subsets
    counts: np.ndarray  # counts[p, t]: subsets of size t among the first p (column 0: the empty subset, always 1)

    def below(self, ranks: np.ndarray) -> np.ndarray:
        """For each rank, the number of this class's subsets of each size below it: shape (len(ranks), size + 1)."""
        return self.counts[np.searchsorted(self.ranks, ranks)]


def _below_table(ranks: np.ndarray, sizes: np.ndarray) -> _BelowTable:
    order = np.argsort(ranks)
    counts = np.zeros((int(sizes.max()) + 1, len(ranks) + 1), dtype=np.int32)
    counts[sizes[order], np.arange(1, len(ranks) + 1)] = 1
    counts = np.cumsum(counts, axis=1, dtype=np.int32)
    counts[0] = 1
    return _BelowTable(ranks[order], np.ascontiguousarray(counts.T, dtype=float))


def _winning_polynomials(
    ranks: np.ndarray, sizes: np.ndarray, rivals: Sequence[_BelowTable], singles: np.ndarray
) -> dict[tuple[int, int], np.ndarray]:
    """Σ over the given subsets A of Π_rivals (ways the rival's subset stays below A, by size), grouped by
    (|A|, one-member classes below A): each group's polynomial in y (coefficient t: rivals put t members in S).

    Subsets A with no rival subset ranked between them share every factor, so the factors are computed once
    per position among the rivals' subsets (at most min(#A, #rival subsets + 1) of them). The largest rival's
    factor is not multiplied out: Σ_A U_A(y) · V_A(y) is the anti-diagonal sum of the matrix Σ_A U_A V_Aᵀ.
    """
    groups = sizes * (len(singles) + 1) + np.searchsorted(singles, ranks)
    rival_ranks = np.sort(np.concatenate([r.ranks for r in rivals])) if rivals else np.zeros(0, dtype=np.int64)
    stride = int(groups.max()) + 1
    pairs, weights = np.unique(np.searchsorted(rival_ranks, ranks) * stride + groups, return_counts=True)
    pair_position, pair_group = np.divmod(pairs, stride)  # sorted by position
    positions, slots = np.unique(pair_position, return_inverse=True)
    # A rank just above the position's last rival subset counts exactly the rival subsets before the position.
    probes = np.concatenate([[0], rival_ranks + 1])[positions]

    out: dict[tuple[int, int], np.ndarray] = {}
    widest = max((r.counts.shape[1] for r in rivals), default=1) * sum(r.counts.shape[1] for r in rivals)
    step = max(1, CHUNK_FLOATS // max(widest, 1))
    bounds = np.searchsorted(slots, np.arange(0, len(positions) + step, step))
    for chunk, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if a == b:
            continue
        factors = [r.below(probes[chunk * step : (chunk + 1) * step]) for r in rivals]
        last = factors.pop() if factors else np.ones((len(probes[chunk * step : (chunk + 1) * step]), 1))
        poly = factors[0] if factors else np.ones((len(last), 1))
        for factor in factors[1:]:
            poly = _multiply_rows(poly, factor)
        diagonal = np.add.outer(np.arange(poly.shape[1]), np.arange(last.shape[1])).ravel()
        chunk_slots, chunk_groups, chunk_weights = slots[a:b] - chunk * step, pair_group[a:b], weights[a:b]
        order = np.argsort(chunk_groups, kind="stable")
        chunk_slots, chunk_groups, chunk_weights = chunk_slots[order], chunk_groups[order], chunk_weights[order]
        starts = np.flatnonzero(np.concatenate([[True], chunk_groups[1:] != chunk_groups[:-1], [True]]))
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            rows = chunk_slots[lo:hi]
            # einsum, not BLAS: these products are small and many, where BLAS threads only add overhead
            outer = np.einsum("rw,rt->wt", poly[rows] * chunk_weights[lo:hi, None], last[rows])
            key = divmod(int(chunk_groups[lo]), len(singles) + 1)
            summed = np.bincount(diagonal, weights=outer.ravel())
            out[key] = out[key] + summed if key in out else summed
    return out


def _multiply_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise polynomial products of two coefficient matrices (a batched convolution)."""
    width = b.shape[1]
    padded = np.zeros((a.shape[0], a.shape[1] + 2 * (width - 1)))
    padded[:, width - 1 : width - 1 + a.shape[1]] = a
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    return np.matmul(windows, b[:, ::-1, None])[..., 0]


def weighted_at_k_exact(
    candidates: Sequence[Candidate],
    keys: Sequence[str | None],
    scores: Sequence[float],
    *,
    temperature: float | None = None,
) -> list[float]:
    """Probability, for k = 0..n (index k; k = 0 gives 0.0), that the weighted vote on a uniformly random k-subset
    selects a correct candidate (see the module docstring for the vote and when it is exact)."""
    counts = weighted_correct_counts(candidates, keys, scores, temperature=temperature)
    n = len(candidates)
    return [0.0] + [min(counts[k] / float(math.comb(n, k)), 1.0) for k in range(1, n + 1)]
