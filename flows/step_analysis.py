"""``analyse-scorers``: the step-level analysis (``bon_core.metrics.step_analysis``) and the paired comparison of
trained scorers with each other and with a free baseline, on a run's stored, scored candidates.

Thresholds come from the validation run's stored scores; twin step pairs (same problem and prefix, correct vs
corrupted next step) are made from the test run's problems and scored by each model. The comparison is paired: every
scorer's best@n is computed on the same test problems, and a difference between two gets a paired bootstrap 95%
interval over problems (``bon_core.scorer_comparison``). "policy mean log-prob" ranks candidates by the policy's
own mean token log-probability: what selection gets with no verifier at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.store import transaction


@dataclass(frozen=True)
class ScorerComparison:
    markdown: str
    analyses: list[Any]
    best_at_n: dict[str, float]
    paired: dict[str, tuple[float, float, float]]  # "A − B" -> (difference, low, high)
    n: int
    problems: int


def _labelled_scores(database_url: str, run_name: str, scorer_label: str, aggregation: str):
    from bon_core.metrics.step_analysis import labelled_scores
    from db import reads

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        candidates = reads.load_candidates(session, run.id)
        scores = reads.load_step_scores(session, run.id, reads.find_scorer(session, scorer_label))
    out = labelled_scores(candidates, scores, aggregation)
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

    from bon_core.metrics.step_analysis import analyse_steps
    from bon_core.scorer_comparison import (
        POLICY_BASELINE,
        compare_best_at_n,
        comparison_markdown,
        comparison_points,
        policy_scores,
    )
    from db import reads, repository

    analyses, scores = [], {}
    candidates = []
    with transaction(database_url) as session:
        problems = reads.load_problems(session, run_id=reads.get_run(session, test_run).id)
    for label, (uri, aggregation) in scorers.items():
        candidates, test = _labelled_scores(database_url, test_run, label, aggregation)
        _, validation = _labelled_scores(database_url, validation_run, label, aggregation)
        pairs = _twin_pairs(uri, problems, seed) if uri and task_name == "arith" else []
        analyses.append(analyse_steps(label, list(test.values()), list(validation.values()), pairs))
        scores[f"{label} ({aggregation})"] = {key: item.candidate_score for key, item in test.items()}
    scores[POLICY_BASELINE] = policy_scores(candidates)
    comparison = compare_best_at_n(candidates, scores)
    markdown = comparison_markdown(comparison, analyses)
    points = comparison_points(comparison, analyses)
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
    return ScorerComparison(
        markdown, analyses, comparison.best_at_n, comparison.paired, comparison.n, comparison.problems
    )
