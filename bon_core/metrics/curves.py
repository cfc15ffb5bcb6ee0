"""Accuracy-vs-N curves from ONE stored pool of n samples per problem.

For k = 1, 2, 4, …, n each point is the expected accuracy of a strategy run on a uniformly random k-subset of
the pool, averaged over problems, with a 95% interval over problems (:mod:`bon_core.metrics.stats`; default
Clopper-Pearson on the mean). Every point says how its value was computed (``MetricPoint.method``) and how its
interval was (``MetricPoint.ci_method``).

* ``pass``  (strategy ``oracle``): unbiased pass@k, closed form. Exact.
* ``best``  (strategy ``max``): exact by order statistics. Sort the pool by (score desc, sample_index asc), the
  order ``select(..., "max")`` uses; candidate of rank r (0 = best) is picked by a k-subset iff it is in it and
  the other k-1 members all rank below it: P = C(n-1-r, k-1) / C(n, k).
* ``maj`` (strategy ``majority``, no scores: self-consistency): exact for every n and k by counting over answer
  classes (:mod:`bon_core.metrics.votes`), all k in one pass; equal to enumerating every subset through
  :func:`bon_core.select.pick_vote`.
* ``weighted`` (strategy ``weighted``, sums of real-valued scores per answer, or of softmax weights with a
  ``temperature``): exact for all k in one pass by counting over answer classes
  (:mod:`bon_core.metrics.weighted_votes`): every subset of one class against, per other class and size, how
  many of that class's subsets sum lower. That tabulates 2^(class size) sub-sums per class, so it applies while
  a pool's classes hold at most ``weighted_votes.SUBSET_SUM_LIMIT`` (2^20) subsets in all and the products
  stay under ``weighted_votes.WORK_LIMIT``. It equals enumerating every subset through ``pick_vote`` (exact
  float sums and ties; with a temperature, up to rounding of near-equal softmax totals). A pool beyond those
  limits (e.g. with a class of 20+ equal answers) is exact by enumerating all k-subsets when there are at most
  ``max_subsets`` of them, else a Monte-Carlo estimate over ``resamples`` seeded random k-subsets, labelled as
  such with its standard error.

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
from bon_core.metrics.stats import DEFAULT_CI, ci_label, mean_ci
from bon_core.metrics.votes import majority_at_k_exact
from bon_core.metrics.weighted_votes import exact_obstacle, weighted_at_k_exact
from bon_core.select import STRATEGIES, pick_max, pick_vote, softmax
from bon_core.types import Candidate, MetricPoint

CURVE_METRICS = {"pass": "oracle", "best": "max", "maj": "majority", "weighted": "weighted"}
CURVE_METHODS = ("auto", "exact", "monte-carlo", "bootstrap")  # "bootstrap": the old name of "monte-carlo"
EXACT_ENUMERATION_LIMIT = 1_000_000  # subsets per (problem, k) that method="exact" may enumerate for weighted@k


@dataclass(frozen=True)
class Pool:
    """One problem's stored pool: its graded candidates and their aggregated scores (aligned, may be None).

    ``scorer_tokens`` is the number of tokens the scorer read per candidate (default: its ``num_tokens``).
    Scores must be finite and sample indices distinct (as :func:`bon_core.select.select` requires).
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
        if len({c.sample_index for c in self.candidates}) != len(self.candidates):
            raise ValueError(f"pool {self.problem_id!r} has duplicate sample_index values")
        for name in ("scores", "scorer_tokens"):
            seq = getattr(self, name)
            if seq is not None and len(seq) != len(self.candidates):
                raise ValueError(
                    f"pool {self.problem_id!r}: {name} has {len(seq)} entries for {len(self.candidates)} candidates"
                )
        if self.scores is not None:
            bad = [c.sample_index for c, s in zip(self.candidates, self.scores, strict=True) if not math.isfinite(s)]
            if bad:
                raise ValueError(f"pool {self.problem_id!r}: scores of samples {bad} are not finite (NaN or inf)")

    @property
    def n(self) -> int:
        return len(self.candidates)


def curve_uses_scorer(metric: str) -> bool:
    """Whether the curve ``metric`` reads scores: whether the strategy it measures (:data:`CURVE_METRICS`) is
    registered as using a scorer (``best`` and ``weighted`` do; ``pass`` and ``maj`` do not)."""
    if metric not in CURVE_METRICS:
        raise ValueError(f"unknown curve metric {metric!r}; known: {', '.join(CURVE_METRICS)}")
    return STRATEGIES[CURVE_METRICS[metric]].uses_scorer()


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


def majority_curve_exact(pool: Pool, normalize: Normalizer | None = None) -> list[float]:
    """Exact maj@k of ``pool`` for k = 0..n (index k), by counting over answer classes."""
    norm = normalize or default_normalize
    return majority_at_k_exact(pool.candidates, [norm(c.answer) for c in pool.candidates])


Picker = Callable[[Sequence[int]], int]


def _picker(pool: Pool, metric: str, normalize: Normalizer, temperature: float | None) -> Picker:
    # Normalise the answers once; pick_vote then compares the stored keys as they are.
    cands = [dataclasses.replace(c, answer=normalize(c.answer)) for c in pool.candidates]
    scores = pool.scores
    correct = [bool(c.correct) for c in pool.candidates]

    def identity(answer: str | None) -> str | None:
        return answer

    if metric == "pass":
        return lambda sub: next((i for i in sub if correct[i]), sub[0])
    if metric == "best":
        return lambda sub: pick_max(cands, scores, sub)  # type: ignore[arg-type]
    if metric == "maj":
        return lambda sub: pick_vote(cands, None, sub, identity)

    def weighted(sub: Sequence[int]) -> int:
        raw = [scores[i] for i in sub]  # type: ignore[index]
        w = raw if temperature is None else softmax(raw, temperature)
        weights = dict(zip(sub, w, strict=True))
        return pick_vote(cands, scores, sub, identity, weights)  # type: ignore[arg-type]

    return weighted


@dataclass(frozen=True)
class _Estimate:
    """One problem's value at one k: exact, or Monte-Carlo over ``draws`` random subsets."""

    value: float
    draws: int = 0  # 0: exact

    @property
    def variance(self) -> float:
        return 0.0 if not self.draws else self.value * (1.0 - self.value) / self.draws


def _enumerate(pool: Pool, pick: Picker, k: int) -> float:
    hits = sum(bool(pool.candidates[pick(sub)].correct) for sub in itertools.combinations(range(pool.n), k))
    return hits / math.comb(pool.n, k)


def _monte_carlo(pool: Pool, pick: Picker, k: int, resamples: int, rng: np.random.Generator) -> _Estimate:
    subsets = np.argsort(rng.random((resamples, pool.n)), axis=1)[:, :k].tolist()
    return _Estimate(sum(bool(pool.candidates[pick(sub)].correct) for sub in subsets) / resamples, resamples)


def _pool_estimates(
    pool: Pool,
    metric: str,
    ks: Sequence[int],
    method: str,
    normalize: Normalizer,
    temperature: float | None,
    resamples: int,
    max_subsets: int,
    rng: np.random.Generator,
) -> list[_Estimate]:
    """The pool's value at every k in ``ks``, by ``method`` (see :func:`curve`)."""
    if method in ("monte-carlo", "bootstrap"):
        pick = _picker(pool, metric, normalize, temperature)
        return [_monte_carlo(pool, pick, k, resamples, rng) for k in ks]
    if metric == "pass":
        correct = sum(bool(c.correct) for c in pool.candidates)
        return [_Estimate(pass_at_k(pool.n, correct, k)) for k in ks]
    if metric == "best":
        return [_Estimate(best_at_k_exact(pool, k)) for k in ks]
    if metric == "maj":
        exact = majority_curve_exact(pool, normalize)
        return [_Estimate(exact[k]) for k in ks]
    assert pool.scores is not None
    keys = [normalize(c.answer) for c in pool.candidates]
    obstacle = exact_obstacle(pool.candidates, keys, pool.scores, temperature)
    if obstacle is None:
        counted = weighted_at_k_exact(pool.candidates, keys, pool.scores, temperature=temperature)
        return [_Estimate(counted[k]) for k in ks]
    pick = _picker(pool, metric, normalize, temperature)
    out = []
    for k in ks:
        subsets = math.comb(pool.n, k)
        if subsets <= max_subsets:
            out.append(_Estimate(_enumerate(pool, pick, k)))
        elif method == "exact":
            if subsets > EXACT_ENUMERATION_LIMIT:
                raise ValueError(
                    f"weighted@{k} of pool {pool.problem_id!r} (n={pool.n}) is exact only by enumerating "
                    f"{subsets:,} subsets (limit {EXACT_ENUMERATION_LIMIT:,}): counting by answer class is out "
                    f"of reach, {obstacle}; use method='auto' for a labelled Monte-Carlo estimate"
                )
            out.append(_Estimate(_enumerate(pool, pick, k)))
        else:
            out.append(_monte_carlo(pool, pick, k, resamples, rng))
    return out


def method_label(estimates: Sequence[_Estimate]) -> str:
    """``exact``, or how many problems were Monte-Carlo estimates, with how many subsets and the standard error
    that adds to the mean."""
    sampled = [e for e in estimates if e.draws]
    if not sampled:
        return "exact"
    draws = sorted({e.draws for e in sampled})
    se = math.sqrt(sum(e.variance for e in sampled)) / len(estimates)
    where = (
        "" if len(sampled) == len(estimates) else f" on {len(sampled)} of {len(estimates)} problems (exact on the rest)"
    )
    per = "/".join(str(d) for d in draws)
    return f"Monte-Carlo, {per} random k-subsets per problem{where}, SE {se:.4f}"


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
    ci: str = DEFAULT_CI,
    scorer: str = "",
    aggregation: str = "",
) -> list[MetricPoint]:
    """Accuracy of ``metric`` (``pass``, ``best``, ``maj``, ``weighted``) at each k, with a 95% CI over problems.

    Every pool must hold the same number of candidates n (a pool of another size would make the points mix
    different estimands; select the pools first, e.g. with ``bon_core.evaluation.group_pools``). ``ks`` defaults
    to 1, 2, 4, …, n. ``method``: ``auto`` (exact for pass, best and maj; weighted exact by counting over answer
    classes where a pool is within that count's limits, else by enumerating up to ``max_subsets`` subsets per k,
    else Monte-Carlo), ``exact`` (like auto, but beyond the count's limits weighted enumerates up to
    ``EXACT_ENUMERATION_LIMIT`` subsets per k, else fails) or ``monte-carlo`` (``resamples`` seeded random
    k-subsets, for every metric; ``bootstrap`` is an older name for it). Each point's ``method`` says which it
    got. ``temperature`` applies to ``weighted`` (softmax weights within each subset). ``ci`` is the interval
    method (:data:`bon_core.metrics.stats.CI_METHODS`).
    """
    if metric not in CURVE_METRICS:
        raise ValueError(f"unknown curve metric {metric!r}; known: {', '.join(CURVE_METRICS)}")
    if method not in CURVE_METHODS:
        raise ValueError(f"unknown curve method {method!r}; known: {', '.join(CURVE_METHODS)}")
    if resamples < 100:
        raise ValueError(f"resamples must be >= 100, got {resamples}")
    if not pools:
        raise ValueError("curve needs at least one pool")
    uses_scorer = curve_uses_scorer(metric)
    if uses_scorer and any(p.scores is None for p in pools):
        raise ValueError(f"curve metric {metric!r} needs scores on every pool")
    if temperature is not None and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    sizes = sorted({p.n for p in pools})
    if len(sizes) > 1:
        counts = {s: sum(p.n == s for p in pools) for s in sizes}
        raise ValueError(
            f"pools of different sizes ({', '.join(f'{c} of n={s}' for s, c in counts.items())}); "
            "a curve needs every problem's pool at the same n"
        )
    n = sizes[0]
    ks = default_ks(n) if ks is None else list(ks)
    bad = [k for k in ks if not 1 <= k <= n]
    if bad:
        raise ValueError(f"ks {bad} outside 1..{n} (the pool size)")
    norm = normalize or default_normalize
    rng = np.random.default_rng(seed)
    per_pool = [_pool_estimates(p, metric, ks, method, norm, temperature, resamples, max_subsets, rng) for p in pools]
    policy_per_sample = float(np.mean([np.mean([c.num_tokens for c in p.candidates]) for p in pools]))
    scorer_per_sample = float(
        np.mean([np.mean(p.scorer_tokens or [c.num_tokens for c in p.candidates]) for p in pools])
    )
    points = []
    for i, k in enumerate(ks):
        estimates = [pool_estimates[i] for pool_estimates in per_pool]
        m = mean_ci([e.value for e in estimates], ci, seed=seed)
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
                method=method_label(estimates),
                ci_method=ci_label(ci, m.count),
            )
        )
    return points
