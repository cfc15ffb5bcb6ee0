"""One scorer's candidate scores laid over a run's pools, and best@N on them.

Used wherever a trained scorer is judged by the candidates it would pick: the validation best@N that decides a
PRM's promotion, each scorer of the PRM-vs-ORM study, and the paired comparison of scorers. A candidate the
scorer did not score (it has no steps) gets a fixed ``missing`` score (by default the score of no steps,
:data:`bon_core.aggregate.EMPTY_STEPS_SCORE`), so every pool keeps its n candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bon_core.aggregate import EMPTY_STEPS_SCORE, aggregate
from bon_core.evaluation import aligned_scores, group_pools
from bon_core.metrics import Pool, best_at_k_exact, curve
from bon_core.scorer_choice import ScoreKey
from bon_core.types import Candidate, StepScores


@dataclass(frozen=True)
class BestAtN:
    """best@N at the pool size ``n``: the exact expected accuracy of ``max`` on each full pool, over problems."""

    value: float
    n: int


def candidates_to_score(candidates: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """The candidates a step scorer reads for best@N over these candidates' pools: those with steps, in pool
    order (problem, then sample index). Checks first that every problem has as many samples
    (:func:`bon_core.evaluation.group_pools`), so a run that cannot be evaluated fails before any scoring."""
    return tuple(c for pool in group_pools(candidates).values() for c in pool if c.steps)


def aggregated_scores(step_scores: Iterable[StepScores], aggregation: str) -> dict[ScoreKey, float]:
    """Each scored candidate's step scores aggregated into one score, keyed by (problem id, sample index)."""
    return {(s.problem_id, s.sample_index): aggregate(s.scores, aggregation) for s in step_scores}


def scored_pools(
    candidates: Sequence[Candidate], scores: Mapping[ScoreKey, float], missing: float = EMPTY_STEPS_SCORE
) -> list[Pool]:
    """Every problem's full pool (:func:`bon_core.evaluation.group_pools`) with each candidate's score from
    ``scores``, or ``missing`` for a candidate without one."""
    return [Pool(pid, pool, aligned_scores(pool, scores, missing)) for pid, pool in group_pools(candidates).items()]


def best_at_n(candidates: Sequence[Candidate], step_scores: Iterable[StepScores], aggregation: str) -> BestAtN:
    """best@N over every problem of ``candidates`` (N: the pool size) of a scorer whose step scores are
    ``step_scores``, each aggregated with ``aggregation``; unscored candidates rank as if they had no steps."""
    pools = scored_pools(candidates, aggregated_scores(step_scores, aggregation))
    n = min(p.n for p in pools)
    return BestAtN(curve(pools, "best", [n])[0].value, n)


def best_at_n_by_problem(pools: Sequence[Pool]) -> dict[str, float]:
    """Each pool's best@N at its own size: the exact expected accuracy of ``max`` over it."""
    return {p.problem_id: best_at_k_exact(p, p.n) for p in pools}
