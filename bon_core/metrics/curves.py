"""Accuracy-vs-N curves from ONE stored pool of n samples per problem.

For k = 1, 2, 4, …, n each point is the expected accuracy of a strategy run on a uniformly random k-subset of
the pool, averaged over problems with a 95% CI over problems (see :mod:`bon_core.metrics.stats`):

* ``pass``  (strategy ``oracle``): unbiased pass@k, closed form.
* ``best``  (strategy ``max``): exact by order statistics. Sort the pool by (score desc, sample_index asc), the
  order ``select(..., "max")`` uses; candidate of rank r (0 = best) is picked by a k-subset iff it is in it and
  the other k-1 members all rank below it: P = C(n-1-r, k-1) / C(n, k).
* ``maj`` (strategy ``majority``, no scores: self-consistency) and ``weighted`` (strategy ``weighted``): exact
  by enumerating all k-subsets when there are at most ``max_subsets`` of them, else a seeded bootstrap of
  ``resamples`` (>= 100) random k-subsets. The vote is :func:`bon_core.select.pick_vote`, so the curve follows
  the same tie rules as ``select``.

Every point also carries compute: ``policy_tokens`` = k × mean policy tokens per sample, and ``scorer_tokens``
= k × mean tokens the scorer read per sample (0 for strategies that use no scorer).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bon_core.aggregate import Normalizer, default_normalize
from bon_core.metrics.passk import pass_at_k
from bon_core.metrics.stats import mean_ci
from bon_core.select import pick_max, pick_vote, softmax
from bon_core.types import Candidate, MetricPoint

CURVE_METRICS = {"pass": "oracle", "best": "max", "maj": "majority", "weighted": "weighted"}
CURVE_METHODS = ("auto", "exact", "bootstrap")


@dataclass(frozen=True)
class Pool:
    """One problem's stored pool: its graded candidates and their aggregated scores (aligned, may be None).

    ``scorer_tokens`` is the number of tokens the scorer read per candidate (default: its ``num_tokens``).
    """

    problem_id: str
    candidates: tuple[Candidate, ...]
    scores: tuple[float, ...] | None = None
    scorer_tokens: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ValueError(f"pool {self.problem_id!r} has no candidates")
        for c in self.candidates:
            if c.correct is None:
                raise ValueError(f"candidate {c.problem_id}#{c.sample_index} has correct=None; grade the pool first")
        for name in ("scores", "scorer_tokens"):
            seq = getattr(self, name)
            if seq is not None and len(seq) != len(self.candidates):
                raise ValueError(
                    f"pool {self.problem_id!r}: {name} has {len(seq)} entries for {len(self.candidates)} candidates"
                )

    @property
    def n(self) -> int:
        return len(self.candidates)


def default_ks(n: int) -> list[int]:
    """1, 2, 4, … up to n, plus n itself."""
    ks = [2**i for i in range(n.bit_length()) if 2**i <= n]
    return ks if ks[-1] == n else [*ks, n]


def best_at_k_exact(pool: Pool, k: int) -> float:
    """Exact expected accuracy of ``max`` on a random k-subset of ``pool`` (order statistics, one rounding)."""
    assert pool.scores is not None
    order = sorted(range(pool.n), key=lambda i: (-pool.scores[i], pool.candidates[i].sample_index))
    hits = sum(math.comb(pool.n - 1 - r, k - 1) for r, i in enumerate(order) if pool.candidates[i].correct)
    return hits / math.comb(pool.n, k)


Picker = Callable[[Sequence[int]], int]


def _picker(pool: Pool, metric: str, normalize: Normalizer, temperature: float | None) -> Picker:
    # Normalise the answers once; pick_vote then compares the stored keys as they are.
    cands = [dataclasses.replace(c, answer=normalize(c.answer)) for c in pool.candidates]
    scores = pool.scores

    def identity(answer: str | None) -> str | None:
        return answer

    if metric == "best":
        return lambda sub: pick_max(cands, scores, sub)
    if metric == "maj":
        return lambda sub: pick_vote(cands, None, sub, identity)

    def weighted(sub: Sequence[int]) -> int:
        raw = [scores[i] for i in sub]
        w = raw if temperature is None else softmax(raw, temperature)
        weights = dict(zip(sub, w, strict=True))
        return pick_vote(cands, scores, sub, identity, weights)  # type: ignore[arg-type]

    return weighted


def _subset_accuracy(
    pool: Pool,
    metric: str,
    k: int,
    method: str,
    normalize: Normalizer,
    temperature: float | None,
    resamples: int,
    max_subsets: int,
    rng: np.random.Generator,
) -> float:
    correct = [bool(c.correct) for c in pool.candidates]
    if method != "bootstrap" and metric == "pass":
        return pass_at_k(pool.n, sum(correct), k)
    if method != "bootstrap" and metric == "best":
        return best_at_k_exact(pool, k)
    if metric == "pass":

        def pick(sub: Sequence[int]) -> int:
            return next((i for i in sub if correct[i]), sub[0])
    else:
        pick = _picker(pool, metric, normalize, temperature)
    if method == "exact" or (method == "auto" and math.comb(pool.n, k) <= max_subsets):
        subsets: Sequence[Sequence[int]] = list(itertools.combinations(range(pool.n), k))
    else:
        subsets = np.argsort(rng.random((resamples, pool.n)), axis=1)[:, :k].tolist()
    return sum(correct[pick(sub)] for sub in subsets) / len(subsets)


def curve(
    pools: Sequence[Pool],
    metric: str,
    ks: Sequence[int] | None = None,
    *,
    method: str = "auto",
    resamples: int = 200,
    seed: int = 0,
    max_subsets: int = 2000,
    temperature: float | None = None,
    normalize: Normalizer | None = None,
    ci: str = "normal",
    scorer: str = "",
    aggregation: str = "",
) -> list[MetricPoint]:
    """Accuracy of ``metric`` (``pass``, ``best``, ``maj``, ``weighted``) at each k, with a 95% CI over problems.

    ``ks`` defaults to 1, 2, 4, …, n for the smallest pool. ``method``: ``auto`` (closed form where one exists,
    else enumeration of up to ``max_subsets`` subsets, else bootstrap), ``exact`` (closed form or full
    enumeration) or ``bootstrap`` (``resamples`` seeded random k-subsets, for every metric). ``temperature``
    applies to ``weighted`` (softmax weights within each subset).
    """
    if metric not in CURVE_METRICS:
        raise ValueError(f"unknown curve metric {metric!r}; known: {', '.join(CURVE_METRICS)}")
    if method not in CURVE_METHODS:
        raise ValueError(f"unknown curve method {method!r}; known: {', '.join(CURVE_METHODS)}")
    if resamples < 100:
        raise ValueError(f"resamples must be >= 100, got {resamples}")
    if not pools:
        raise ValueError("curve needs at least one pool")
    if metric in ("best", "weighted") and any(p.scores is None for p in pools):
        raise ValueError(f"curve metric {metric!r} needs scores on every pool")
    if temperature is not None and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    n_min = min(p.n for p in pools)
    ks = default_ks(n_min) if ks is None else list(ks)
    bad = [k for k in ks if not 1 <= k <= n_min]
    if bad:
        raise ValueError(f"ks {bad} outside 1..{n_min} (the smallest pool size)")
    norm = normalize or default_normalize
    rng = np.random.default_rng(seed)
    policy_per_sample = float(np.mean([np.mean([c.num_tokens for c in p.candidates]) for p in pools]))
    scorer_per_sample = float(
        np.mean([np.mean(p.scorer_tokens or [c.num_tokens for c in p.candidates]) for p in pools])
    )
    uses_scorer = metric in ("best", "weighted")
    points = []
    for k in ks:
        values = [_subset_accuracy(p, metric, k, method, norm, temperature, resamples, max_subsets, rng) for p in pools]
        m = mean_ci(values, ci, seed=seed)
        points.append(
            MetricPoint(
                metric=f"{metric}@k",
                n=k,
                value=m.value,
                ci_low=m.low,
                ci_high=m.high,
                strategy=CURVE_METRICS[metric],
                scorer=scorer if uses_scorer else "",
                aggregation=aggregation if uses_scorer else "",
                policy_tokens=k * policy_per_sample,
                scorer_tokens=k * scorer_per_sample if uses_scorer else 0.0,
            )
        )
    return points
