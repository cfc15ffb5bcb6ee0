"""``analyse-scorers``: the step-level analysis (``bon_core.metrics.step_analysis``) and the paired comparison of
trained scorers with each other and with a free baseline, on a run's stored, scored candidates.

Thresholds come from the validation run's stored scores; twin step pairs (same problem and prefix, correct vs
corrupted next step) are made from the test run's problems and scored by each model. The comparison is paired: every
scorer's best@n is computed on the same test problems, and a difference between two gets a paired bootstrap 95%
interval over problems. "policy mean log-prob" ranks candidates by the policy's own mean token log-probability:
what selection gets with no verifier at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.store import transaction

POLICY_BASELINE = "policy mean log-prob"


@dataclass(frozen=True)
class ScorerComparison:
    markdown: str
    analyses: list[Any]
    best_at_n: dict[str, float]
    paired: dict[str, tuple[float, float, float]]  # "A − B" -> (difference, low, high)
    n: int
    problems: int


def _labelled_scores(database_url: str, run_name: str, scorer_label: str, aggregation: str):
    from bon_core.aggregate import aggregate
    from bon_core.metrics.step_analysis import LabelledScores
    from db import reads

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        candidates = reads.load_candidates(session, run.id)
        scores = reads.load_step_scores(session, run.id, reads.find_scorer(session, scorer_label))
    out = {}
    for c in candidates:
        step_scores = scores.get((c.problem_id, c.sample_index))
        if not c.steps or step_scores is None or len(step_scores) != len(c.steps):
            continue
        out[(c.problem_id, c.sample_index)] = LabelledScores(
            tuple(step_scores), tuple(s.label for s in c.steps), aggregate(step_scores, aggregation), bool(c.correct)
        )
    if not out:
        raise ValueError(f"run {run_name!r} has no candidates scored by {scorer_label!r}; score it first")
    return candidates, out


def _twin_pairs(model_uri: str, problems: list[Any], seed: int) -> list[tuple[float, float]]:
    """Score the correct and a corrupted next step after the same reference prefix, for each problem."""
    from bon_core.tasks.arith_negatives import twin_steps
    from flows.model_cache import scorer
    from flows.registry import resolve_model_path

    rng = random.Random(f"twins:{seed}")
    twins = [(p.question, t) for p in problems if (t := twin_steps(p, rng)) is not None]
    if not twins:
        return []
    path, _ = resolve_model_path(model_uri)
    model = scorer(path, "bon")
    texts = [[*prefix, good] for _, (prefix, good, _) in twins] + [[*prefix, bad] for _, (prefix, _, bad) in twins]
    scores = model.score([q for q, _ in twins] * 2, texts)
    return [(scores[i][-1], scores[i + len(twins)][-1]) for i in range(len(twins))]


def _best_of_pools(candidates: list[Any], scores: dict[tuple[str, int], float]) -> dict[str, float]:
    """Each problem's best@n (exact expectation over its stored pool); unscored candidates rank last."""
    from bon_core.evaluation import group_pools
    from bon_core.metrics import Pool
    from bon_core.metrics.curves import best_at_k_exact

    return {
        pid: best_at_k_exact(Pool(pid, pool, tuple(scores.get((c.problem_id, c.sample_index), -1e9) for c in pool)),
                             len(pool))
        for pid, pool in group_pools(candidates).items()
    }  # fmt: skip


@task(name="analyse-scorers", cache_policy=NO_CACHE)
def analyse_scorers(
    database_url: str,
    test_run: str,
    validation_run: str,
    scorers: dict[str, tuple[str | None, str]],
    task_name: str = "arith",
    seed: int = 0,
) -> ScorerComparison:
    """``scorers`` maps a stored scorer label to ``(model_uri, aggregation)``: its step analysis (twin pairs only
    with a model URI, for tasks that can corrupt a step such as arith), and best@n of every scorer and of the policy
    baseline with paired differences between all of them, on the test run's problems."""
    import mlflow

    from bon_core.evaluation import group_pools
    from bon_core.metrics.stats import paired_difference_ci
    from bon_core.metrics.step_analysis import analyse_steps, step_analysis_markdown
    from bon_core.types import MetricPoint
    from db import reads, repository

    analyses, per_problem = [], {}
    candidates = []
    with transaction(database_url) as session:
        problems = reads.load_problems(session, run_id=reads.get_run(session, test_run).id)
    for label, (uri, aggregation) in scorers.items():
        candidates, test = _labelled_scores(database_url, test_run, label, aggregation)
        _, validation = _labelled_scores(database_url, validation_run, label, aggregation)
        pairs = _twin_pairs(uri, problems, seed) if uri and task_name == "arith" else []
        analyses.append(analyse_steps(label, list(test.values()), list(validation.values()), pairs))
        # a candidate the scorer could not score (no steps) ranks last, so every pool keeps its n candidates
        scores = {key: item.candidate_score for key, item in test.items()}
        per_problem[f"{label} ({aggregation})"] = _best_of_pools(candidates, scores)
    per_problem[POLICY_BASELINE] = _best_of_pools(
        candidates, {(c.problem_id, c.sample_index): c.mean_logprob for c in candidates if c.mean_logprob is not None}
    )
    pools = group_pools(candidates)
    names = list(per_problem)
    shared = sorted(set.intersection(*(set(v) for v in per_problem.values())))
    n = max(len(pool) for pool in pools.values())
    best = {name: sum(per_problem[name][p] for p in shared) / len(shared) for name in names}
    paired = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            paired[f"{a} − {b}"] = paired_difference_ci(
                [per_problem[a][p] for p in shared], [per_problem[b][p] for p in shared]
            )
    lines = [
        f"best@{n} on the same {len(shared)} test problems (exact expectation over the stored pool), and paired "
        "differences (paired percentile bootstrap over problems, 10000 resamples, 95%):",
        "",
        f"| scorer | best@{n} |",
        "|---|---|",
        *(f"| {name} | {100 * best[name]:.1f} |" for name in names),
        "",
        "| difference | points | 95% CI |",
        "|---|---|---|",
        *(f"| {k} | {100 * d:+.1f} | [{100 * lo:+.1f}, {100 * hi:+.1f}] |" for k, (d, lo, hi) in paired.items()),
        "",
        step_analysis_markdown(analyses),
    ]
    markdown = "\n".join(lines)
    points = [
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
                    method=f"mean over {len(shared)} problems of the per-problem best@{n} difference",
                    ci_method="paired percentile bootstrap over problems, 10000 resamples, 95%")
        for k, (d, lo, hi) in paired.items()
    ]  # fmt: skip
    with transaction(database_url) as session:
        repository.insert_evaluations(session, reads.get_run(session, test_run).id, None, points)
    if mlflow.active_run() is not None:
        for a in analyses:
            safe = a.scorer.replace(":", "_")
            figures = {
                "candidate_correlation": a.candidate_correlation, "processbench_f1": a.processbench_f1,
                "flagged_at_or_before": a.flagged_at_or_before, "pairwise_accuracy": a.pairwise_accuracy,
            }  # fmt: skip
            mlflow.log_metrics({f"{safe}_{k}": v for k, v in figures.items() if v is not None})
        mlflow.log_text(markdown, "scorer_comparison.md")
    return ScorerComparison(markdown, analyses, best, paired, n, len(shared))
