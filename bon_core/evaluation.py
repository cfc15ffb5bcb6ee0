"""One evaluation of a stored run: accuracy-vs-N curves for every strategy × scorer × aggregation, and each
selection strategy applied at full N — all from ONE pool of n samples per problem.

Pure: takes candidates and score maps, returns MetricPoints and Selections; storing and logging is the caller's.

Compute: ``policy_tokens`` are the candidates' policy tokens; ``scorer_tokens`` follow bon's one definition
(:func:`bon_core.select.scorer_input_tokens`): per candidate the scorer read, the problem prompt plus the candidate,
in policy tokens. Strategies that use no scorer (``STRATEGIES[name].uses_scorer(params)`` is false) get no scores
and record zero scorer calls and tokens. ``early_stop`` without a ``threshold`` gets one calibrated on validation
scores (:func:`bon_core.select.calibrate_threshold`), or is skipped, with the reason, when there are none.
Which curves and strategies read a scorer, and which score set the strategies read, is
:mod:`bon_core.scorer_choice`'s. :func:`select_pools` applies one strategy to every pool (``bon select``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bon_core.aggregate import EMPTY_STEPS_SCORE
from bon_core.metrics import CURVE_METRICS, Pool, curve, curve_uses_scorer, selection_point
from bon_core.scorer_choice import ScoreKey, ScoreSet, primary_score_set, reads_scorer
from bon_core.select import calibrate_threshold, scorer_input_tokens, select
from bon_core.types import Candidate, MetricPoint, Selection

Normalizer = Callable[[str | None], str | None]

DEFAULT_STRATEGIES: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("max", {}),
    ("majority", {}),
    ("majority_tiebreak", {}),
    ("weighted", {}),
    ("composite", {"w_prm": 1.0, "w_conf": 0.5, "w_cons": 0.5}),
    ("early_stop", {}),  # threshold: calibrated on validation scores (see evaluate_pools)
    ("adaptive_n", {"n0": 4, "agree": 0.75, "then": "weighted"}),
    ("rerank", {"k": 4}),
    ("random", {"seed": 0}),
    ("oracle", {}),
)


@dataclass(frozen=True)
class Evaluation:
    """Curves (metric ``accuracy``, one point per strategy × scorer × aggregation × N) and full-N selection
    results (metric ``selection_accuracy``, with the compute each strategy spent)."""

    curves: tuple[MetricPoint, ...]
    selection_points: tuple[MetricPoint, ...]
    selections: Mapping[str, tuple[Selection, ...]] = field(default_factory=dict)  # by strategy
    scorer_of: Mapping[str, str] = field(default_factory=dict)  # strategy -> scorer label; absent: no scorer
    notes: tuple[str, ...] = ()  # what a reader must know: calibrated thresholds, skipped strategies, accounting


def group_pools(candidates: Sequence[Candidate], n: int | None = None) -> dict[str, tuple[Candidate, ...]]:
    """Candidates grouped by problem, in sample order, keeping the first ``n`` samples (all when ``None``).

    Nothing is dropped or cut silently: pools of different sizes (with ``n=None``), or a problem with fewer than
    ``n`` samples, are a ValueError naming the sizes, so every curve compares pools of the same size.
    """
    pools: dict[str, list[Candidate]] = defaultdict(list)
    for c in sorted(candidates, key=lambda c: (c.problem_id, c.sample_index)):
        pools[c.problem_id].append(c)
    sizes = sorted({len(p) for p in pools.values()})
    short = sorted(pid for pid, p in pools.items() if n is not None and len(p) < n)
    if (n is None and len(sizes) > 1) or short:
        counts = ", ".join(f"{sum(len(p) == s for p in pools.values())} with {s}" for s in sizes)
        wanted = f"n={n} samples but {len(short)} problem(s) have fewer" if short else "one pool size"
        fix = "pass a smaller n (the first n samples of every problem) or complete the run"
        raise ValueError(f"problems have different numbers of samples ({counts}); need {wanted}: {fix}")
    size = n if n is not None else (sizes[0] if sizes else 0)
    return {pid: tuple(pool[:size]) for pid, pool in pools.items() if size > 0}


def scores_by_problem(scores: Mapping[ScoreKey, float]) -> list[list[float]]:
    """Candidate scores grouped by problem (problems and samples in sorted order), one list per problem: the
    validation pools ``early_stop``'s threshold is calibrated on."""
    by_problem: dict[str, list[float]] = {}
    for (problem_id, _), score in sorted(scores.items()):
        by_problem.setdefault(problem_id, []).append(score)
    return list(by_problem.values())


def aligned_scores(
    pool: Sequence[Candidate], scores: Mapping[ScoreKey, float], missing: float = EMPTY_STEPS_SCORE
) -> tuple[float, ...]:
    """Each candidate's score in pool order; ``missing`` for one the scorer did not score (no steps: with scores in
    [0, 1], the default ranks it last)."""
    return tuple(scores.get((c.problem_id, c.sample_index), missing) for c in pool)


def evaluate_pools(
    pools: Mapping[str, Sequence[Candidate]],
    score_sets: Sequence[ScoreSet],
    *,
    primary: ScoreSet | None = None,
    strategies: Sequence[tuple[str, Mapping[str, Any]]] = DEFAULT_STRATEGIES,
    ks: Sequence[int] | None = None,
    normalize: Normalizer | None = None,
    seed: int = 0,
    prompt_tokens: Mapping[str, int] | None = None,
    validation_scores: Sequence[Sequence[float]] | None = None,
    threshold_quantile: float = 0.9,
) -> Evaluation:
    """Curves for pass (oracle), majority and, per score set, best-of-N and weighted vote; then every strategy in
    ``strategies`` at full N, the ones that use a scorer with ``primary`` (default: the first score set).

    ``prompt_tokens`` maps a problem id to its prompt's length in policy tokens (``None``: unknown, counted as 0,
    and said so in ``notes``). ``validation_scores`` are ``primary``'s aggregated scores on a validation run, one
    sequence per problem: ``early_stop`` without a threshold gets their ``threshold_quantile``.
    """
    if not pools:
        raise ValueError("nothing to evaluate: no problem has a complete pool of candidates")
    if isinstance(threshold_quantile, bool) or not 0.0 <= threshold_quantile <= 1.0:
        raise ValueError(f"threshold quantile must be a number in [0, 1], got {threshold_quantile!r}")
    missing = sorted(set(pools) - set(prompt_tokens)) if prompt_tokens is not None else []
    if missing:
        raise ValueError(f"prompt_tokens has no entry for problem(s) {missing[:5]}")
    prompts = prompt_tokens or {}
    plain = [Pool(pid, tuple(pool)) for pid, pool in pools.items()]
    scored_metrics = [m for m in CURVE_METRICS if curve_uses_scorer(m)]
    points: list[MetricPoint] = []
    for metric in (m for m in CURVE_METRICS if m not in scored_metrics):
        points += curve(plain, metric, ks, seed=seed, normalize=normalize)
    pass1 = next(p for p in points if p.metric == "pass@k" and p.n == 1)
    points += [replace(p, strategy="random", value=pass1.value, ci_low=pass1.ci_low,
                       ci_high=pass1.ci_high, policy_tokens=pass1.policy_tokens)
               for p in points if p.metric == "pass@k"]  # fmt: skip
    for score_set in score_sets:
        scored = [
            Pool(pid, tuple(pool), aligned_scores(pool, score_set.scores), _scorer_tokens(pool, prompts.get(pid, 0)))
            for pid, pool in pools.items()
        ]
        for metric in scored_metrics:
            points += curve(
                scored, metric, ks, seed=seed, normalize=normalize,
                scorer=score_set.scorer, aggregation=score_set.aggregation,
            )  # fmt: skip

    primary = primary or primary_score_set(score_sets)
    notes = [
        "majority: self-consistency, no scorer; a tied vote goes to the answer seen at the lowest sample index",
        "scorer tokens = prompt + candidate tokens (policy tokenizer) per candidate the scorer read"
        if prompt_tokens is not None
        else "scorer tokens = candidate tokens per candidate the scorer read (prompt length unknown, not counted)",
    ]
    selections: dict[str, tuple[Selection, ...]] = {}
    scorer_of: dict[str, str] = {}
    selection_points: list[MetricPoint] = []
    for strategy, given in strategies:
        params = dict(given)
        uses_scorer = reads_scorer(strategy, params)
        if uses_scorer and primary is None:
            notes.append(f"{strategy} skipped: it needs a scorer and none was given")
            continue
        if strategy == "early_stop" and params.get("threshold") is None:
            if not validation_scores:
                notes.append(f"{strategy} skipped: no validation scores to calibrate its threshold on")
                continue
            params["threshold"] = calibrate_threshold(validation_scores, threshold_quantile)
            count = sum(len(v) for v in validation_scores)
            notes.append(
                f"{strategy} threshold {params['threshold']:.4f} = quantile {threshold_quantile} of {count} "
                f"validation candidate scores ({len(validation_scores)} problems)"
            )
        chosen = tuple(
            select(
                pool, aligned_scores(pool, primary.scores) if uses_scorer and primary else None, strategy, params,
                normalize, prompt_tokens=prompts.get(pid, 0),
            )
            for pid, pool in pools.items()
        )  # fmt: skip
        selections[strategy] = chosen
        label = primary.scorer if uses_scorer and primary else ""
        if label:
            scorer_of[strategy] = label
        point = selection_point(chosen, scorer=label, aggregation=primary.aggregation if label and primary else "")
        scorer_tokens = sum(s.scorer_tokens for s in chosen) / len(chosen)
        selection_points.append(replace(point, strategy=strategy, scorer_tokens=scorer_tokens))
    # Every curve is an accuracy at N (the strategy says which); full-N selections are kept apart by their name.
    curves = tuple(replace(p, metric="accuracy") for p in points)
    return Evaluation(
        curves,
        tuple(replace(p, metric="selection_accuracy") for p in selection_points),
        selections,
        scorer_of,
        tuple(notes),
    )


def _scorer_tokens(pool: Sequence[Candidate], prompt_tokens: int) -> tuple[int, ...]:
    return tuple(scorer_input_tokens(prompt_tokens, c) for c in pool)


@dataclass(frozen=True)
class PoolSelections:
    """One strategy applied to every pool of a run: its selections, in pool order, and whether it read a scorer
    (a strategy that reads none, such as ``majority``, is stored with no scorer)."""

    strategy: str
    selections: tuple[Selection, ...]
    uses_scorer: bool

    @property
    def accuracy(self) -> float:
        """The share of problems whose selected candidate is correct (0.0 without problems)."""
        return sum(bool(s.correct) for s in self.selections) / max(len(self.selections), 1)


def select_pools(
    pools: Mapping[str, Sequence[Candidate]],
    strategy: str,
    params: Mapping[str, Any] | None = None,
    scores: Mapping[ScoreKey, float] | None = None,
    normalize: Normalizer | None = None,
) -> PoolSelections:
    """Select one candidate of every pool with ``strategy`` and ``params``.

    ``scores`` are one scorer's candidate scores; a candidate without one scores 0.0 and so ranks last. Without
    any (``None`` or empty), a strategy that reads a scorer is a ValueError (from :func:`bon_core.select.select`,
    as are an unknown strategy and bad parameters).
    """
    chosen = tuple(
        select(pool, aligned_scores(pool, scores) if scores else None, strategy, params, normalize)
        for pool in pools.values()
    )
    return PoolSelections(strategy, chosen, reads_scorer(strategy, params))
