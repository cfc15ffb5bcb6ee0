"""Scorers compared on the same test problems: each one's best@n and the paired difference of every two.

Every scorer (and the free baseline, :data:`POLICY_BASELINE`: the policy's own mean token log-probability) picks
from the same stored pools; a problem's best@n is the exact expectation over its pool
(:func:`bon_core.scored_pools.best_at_n_by_problem`) and a candidate a scorer could not score ranks last. Each
difference gets a paired percentile-bootstrap 95% interval over problems
(:func:`bon_core.metrics.stats.paired_difference_ci`). :func:`comparison_markdown` and :func:`comparison_points`
render the comparison with the step-level analysis (:mod:`bon_core.metrics.step_analysis`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bon_core.evaluation import group_pools
from bon_core.metrics.stats import paired_difference_ci
from bon_core.metrics.step_analysis import StepAnalysis, step_analysis_markdown
from bon_core.scored_pools import best_at_n_by_problem, scored_pools
from bon_core.scorer_choice import ScoreKey
from bon_core.types import Candidate, MetricPoint

POLICY_BASELINE = "policy mean log-prob"
UNSCORED = -1e9  # the score of a candidate a scorer could not score: below any real score, so it ranks last
PAIRED_CI = "paired percentile bootstrap over problems, 10000 resamples, 95%"


@dataclass(frozen=True)
class BestAtNComparison:
    """best@n of every scorer on the problems all of them were scored on, and every pair's paired difference."""

    n: int
    problems: int
    best_at_n: dict[str, float]
    paired: dict[str, tuple[float, float, float]]  # "A − B" -> (difference, low, high)


def policy_scores(candidates: Sequence[Candidate]) -> dict[ScoreKey, float]:
    """The free baseline's scores: each candidate's mean token log-probability under the policy, where known."""
    return {(c.problem_id, c.sample_index): c.mean_logprob for c in candidates if c.mean_logprob is not None}


def compare_best_at_n(
    candidates: Sequence[Candidate], scores: Mapping[str, Mapping[ScoreKey, float]]
) -> BestAtNComparison:
    """best@n (n: the largest pool) of every scorer named in ``scores`` (name -> candidate scores) over the
    problems all of them have, and the paired difference of every two, in the order of ``scores``."""
    per_problem = {
        name: best_at_n_by_problem(scored_pools(candidates, by_key, UNSCORED)) for name, by_key in scores.items()
    }
    names = list(per_problem)
    shared = sorted(set.intersection(*(set(v) for v in per_problem.values())))
    n = max(len(pool) for pool in group_pools(candidates).values())
    best = {name: sum(per_problem[name][p] for p in shared) / len(shared) for name in names}
    paired = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            paired[f"{a} − {b}"] = paired_difference_ci(
                [per_problem[a][p] for p in shared], [per_problem[b][p] for p in shared]
            )
    return BestAtNComparison(n, len(shared), best, paired)


def comparison_markdown(comparison: BestAtNComparison, analyses: Sequence[StepAnalysis]) -> str:
    """The best@n table, the paired differences table and the step-level analysis table, in Markdown."""
    n = comparison.n
    lines = [
        f"best@{n} on the same {comparison.problems} test problems (exact expectation over the stored pool), and "
        f"paired differences ({PAIRED_CI}):",
        "",
        f"| scorer | best@{n} |",
        "|---|---|",
        *(f"| {name} | {100 * value:.1f} |" for name, value in comparison.best_at_n.items()),
        "",
        "| difference | points | 95% CI |",
        "|---|---|---|",
        *(
            f"| {k} | {100 * d:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] |"
            for k, (d, lo, hi) in comparison.paired.items()
        ),
        "",
        step_analysis_markdown(analyses),
    ]
    return "\n".join(lines)


def comparison_points(comparison: BestAtNComparison, analyses: Sequence[StepAnalysis]) -> list[MetricPoint]:
    """The comparison as stored evaluations: each scorer's step-level figures (where defined), then every paired
    best@n difference with its interval."""
    n = comparison.n
    return [
        MetricPoint(metric, n, value, value, value, "max", a.scorer, "",
                    method=f"step-level analysis on the test run; threshold {a.threshold} chosen on validation")
        for a in analyses
        for metric, value in (
            ("step_candidate_correlation", a.candidate_correlation), ("step_processbench_f1", a.processbench_f1),
            ("step_flagged_at_or_before_first_error", a.flagged_at_or_before),
            ("step_pairwise_accuracy", a.pairwise_accuracy),
        )
        if value is not None
    ] + [
        MetricPoint("paired_accuracy_difference", n, d, lo, hi, "max", k, "",
                    method=f"mean over {comparison.problems} problems of the per-problem best@{n} difference",
                    ci_method=PAIRED_CI)
        for k, (d, lo, hi) in comparison.paired.items()
    ]  # fmt: skip
