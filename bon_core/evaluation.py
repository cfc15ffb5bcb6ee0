"""One evaluation of a stored run: accuracy-vs-N curves for every strategy × scorer × aggregation, and each
selection strategy applied at full N — all from ONE pool of n samples per problem.

Pure: takes candidates and score maps, returns MetricPoints and Selections; storing and logging is the caller's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bon_core.metrics import Pool, curve, selection_point
from bon_core.select import select
from bon_core.types import Candidate, MetricPoint, Selection

ScoreKey = tuple[str, int]  # (problem source id, sample index)
Normalizer = Callable[[str | None], str | None]

DEFAULT_STRATEGIES: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("max", {}),
    ("majority", {}),
    ("weighted", {}),
    ("composite", {"w_prm": 1.0, "w_conf": 0.5, "w_cons": 0.5}),
    ("early_stop", {"threshold": 0.9}),
    ("adaptive_n", {"n0": 4, "agree": 0.75, "then": "weighted"}),
    ("rerank", {"k": 4}),
    ("random", {"seed": 0}),
    ("oracle", {}),
)


@dataclass(frozen=True)
class ScoreSet:
    """A scorer's candidate scores under one aggregation, keyed by (source id, sample index)."""

    scorer: str
    aggregation: str
    scores: Mapping[ScoreKey, float]


@dataclass(frozen=True)
class Evaluation:
    """Curves (metric ``accuracy``, one point per strategy × scorer × aggregation × N) and full-N selection
    results (metric ``selection_accuracy``, with the compute each strategy spent)."""

    curves: tuple[MetricPoint, ...]
    selection_points: tuple[MetricPoint, ...]
    selections: Mapping[str, tuple[Selection, ...]] = field(default_factory=dict)  # by strategy


def group_pools(candidates: Sequence[Candidate], n: int | None = None) -> dict[str, tuple[Candidate, ...]]:
    """Candidates grouped by problem, in sample order, keeping the first ``n`` samples (all when ``None``).

    Problems with fewer than ``n`` samples are dropped, so every curve compares pools of the same size.
    """
    pools: dict[str, list[Candidate]] = defaultdict(list)
    for c in sorted(candidates, key=lambda c: (c.problem_id, c.sample_index)):
        pools[c.problem_id].append(c)
    size = n if n is not None else min((len(p) for p in pools.values()), default=0)
    return {pid: tuple(pool[:size]) for pid, pool in pools.items() if len(pool) >= size and size > 0}


def _aligned(pool: Sequence[Candidate], score_set: ScoreSet) -> tuple[float, ...]:
    # A candidate the scorer did not score (no steps) ranks last.
    return tuple(score_set.scores.get((c.problem_id, c.sample_index), 0.0) for c in pool)


def evaluate_pools(
    pools: Mapping[str, Sequence[Candidate]],
    score_sets: Sequence[ScoreSet],
    *,
    primary: ScoreSet | None = None,
    strategies: Sequence[tuple[str, Mapping[str, Any]]] = DEFAULT_STRATEGIES,
    ks: Sequence[int] | None = None,
    normalize: Normalizer | None = None,
    seed: int = 0,
) -> Evaluation:
    """Curves for pass (oracle), majority and, per score set, best-of-N and weighted vote; then every strategy in
    ``strategies`` at full N using ``primary`` (default: the first score set) for the strategies that need scores.
    """
    if not pools:
        raise ValueError("nothing to evaluate: no problem has a complete pool of candidates")
    plain = [Pool(pid, tuple(pool)) for pid, pool in pools.items()]
    points: list[MetricPoint] = []
    points += curve(plain, "pass", ks, seed=seed, normalize=normalize)
    points += curve(plain, "maj", ks, seed=seed, normalize=normalize)
    pass1 = next(p for p in points if p.metric == "pass@k" and p.n == 1)
    points += [replace(p, strategy="random", value=pass1.value, ci_low=pass1.ci_low,
                       ci_high=pass1.ci_high, policy_tokens=pass1.policy_tokens)
               for p in points if p.metric == "pass@k"]  # fmt: skip
    for score_set in score_sets:
        scored = [Pool(pid, tuple(pool), _aligned(pool, score_set)) for pid, pool in pools.items()]
        for metric in ("best", "weighted"):
            points += curve(
                scored, metric, ks, seed=seed, normalize=normalize,
                scorer=score_set.scorer, aggregation=score_set.aggregation,
            )  # fmt: skip

    primary = primary or (score_sets[0] if score_sets else None)
    selections: dict[str, tuple[Selection, ...]] = {}
    selection_points: list[MetricPoint] = []
    for strategy, params in strategies:
        if primary is None and strategy not in ("majority", "random", "oracle"):
            continue
        chosen = tuple(
            select(pool, _aligned(pool, primary) if primary else None, strategy, params, normalize)
            for pool in pools.values()
        )
        selections[strategy] = chosen
        uses_scorer = primary is not None and strategy not in ("majority", "random", "oracle")
        point = selection_point(
            chosen,
            scorer=primary.scorer if uses_scorer else "",
            aggregation=primary.aggregation if uses_scorer else "",
            scorer_tokens_per_call=_mean_tokens(pools) if uses_scorer else 0.0,
        )
        selection_points.append(replace(point, strategy=strategy))
    # Every curve is an accuracy at N (the strategy says which); full-N selections are kept apart by their name.
    curves = tuple(replace(p, metric="accuracy") for p in points)
    return Evaluation(curves, tuple(replace(p, metric="selection_accuracy") for p in selection_points), selections)


def _mean_tokens(pools: Mapping[str, Sequence[Candidate]]) -> float:
    tokens = [c.num_tokens for pool in pools.values() for c in pool]
    return sum(tokens) / max(len(tokens), 1)
