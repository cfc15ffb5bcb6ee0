"""``select_evaluate``: strategies × scorers × aggregations × N over a run's stored, scored candidates →
``selections`` + ``evaluations``, a results table (CSV, Markdown) and plots (accuracy vs N and vs compute),
all logged to MLflow with curves drawn over ``step = N``.

Strategies that use no scorer (``STRATEGIES[name].uses_scorer``) are stored with no scorer. Scorer tokens are the
prompt plus the candidate in policy tokens (``bon_core.select.scorer_input_tokens``); prompt lengths come from the
run's policy tokenizer. ``early_stop``'s threshold is a quantile of the primary scorer's scores on
``validation_run``; without one, early_stop is skipped and the output says so. The table, notes and plots are
``bon_core.results.write_report``'s, under ``out_dir/run_name``. :func:`select_stored_run` is ``bon select``: one
strategy on a stored run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from bon_core.scorer_choice import DEFAULT_AGGREGATION
from flows.store import transaction

if TYPE_CHECKING:
    from bon_core.evaluation import PoolSelections


@dataclass(frozen=True)
class EvaluationReport:
    """What a select/evaluate run produced (for the CLI's summary and tests)."""

    run_name: str
    markdown: str
    csv: str
    plots: tuple[str, ...]
    num_problems: int
    n: int
    points: tuple[Any, ...]
    selection_points: tuple[Any, ...]
    notes: tuple[str, ...] = ()


@task(name="load-scored-run", cache_policy=NO_CACHE)
def load_scored_run(database_url: str, run_name: str, scorer_aggregations: dict[str, list[str]]):
    """Candidates of a run and, per ``scorer label -> aggregations``, their candidate scores."""
    from bon_core.evaluation import ScoreSet
    from db import reads

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        problems = reads.load_problems(session, run_id=run.id)
        candidates = reads.load_candidates(session, run.id)
        scorers = {label: reads.find_scorer(session, label) for label in scorer_aggregations}
        sets = [
            ScoreSet(label, how, reads.load_candidate_scores(session, run.id, scorers[label], how))
            for label, hows in scorer_aggregations.items()
            for how in hows
        ]
    return run, problems, candidates, scorers, sets


@task(name="load-validation-scores", cache_policy=NO_CACHE)
def load_validation_scores(database_url: str, run_name: str, scorer_label: str, aggregation: str):
    """A validation run's candidate scores by one scorer under one aggregation, one list per problem."""
    from bon_core.evaluation import scores_by_problem
    from db import reads

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        scores = reads.load_candidate_scores(session, run.id, reads.find_scorer(session, scorer_label), aggregation)
    if not scores:
        raise ValueError(
            f"validation run {run_name!r} has no {aggregation!r} scores from scorer {scorer_label!r}; "
            f"score it first (bon score --run {run_name} --prm ...)"
        )
    return scores_by_problem(scores)


def prompt_token_counts(policy: str, task_obj, problems) -> dict[str, int] | None:
    """Each problem's prompt length in the policy's tokens (as the policy read it), or ``None`` when the policy's
    tokenizer cannot be loaded locally (e.g. a model behind an OpenAI-compatible server)."""
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(policy, local_files_only=True)
    except (OSError, ValueError):
        return None
    prompts = [task_obj.format_prompt(p) for p in problems]
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    return {p.source_id: len(x) for p, x in zip(problems, ids, strict=True)}


def store_evaluation(session, run_id: int, problems, evaluation, scorer_ids: dict[str, int]) -> None:
    """Write an evaluation's selections and its figures (curves and full-N selections, each with the method
    labels of its point) under ``run_id``; figures of a scorer link to its stored id, the rest to none."""
    from db import repository

    ids = repository.upsert_problems(session, list(problems))
    for strategy, chosen in evaluation.selections.items():
        scorer = evaluation.scorer_of.get(strategy)
        scorer_id = scorer_ids.get(scorer) if scorer else None
        repository.insert_selections(session, run_id, ids, list(chosen), scorer_id=scorer_id)
    by_scorer: dict[int | None, list] = {}
    for p in (*evaluation.curves, *evaluation.selection_points):
        by_scorer.setdefault(scorer_ids.get(p.scorer), []).append(p)
    for scorer_id, points in by_scorer.items():
        repository.insert_evaluations(session, run_id, scorer_id, points)


@flow(name="select-evaluate", log_prints=True)
def select_evaluate_flow(
    database_url: str,
    run_name: str,
    scorer_aggregations: dict[str, list[str]] | None = None,
    primary: str | None = None,
    n: int | None = None,
    out_dir: str = ".bon/results",
    seed: int = 0,
    validation_run: str | None = None,
    threshold_quantile: float = 0.9,
) -> EvaluationReport:
    """Evaluate run ``run_name``; ``scorer_aggregations`` maps scorer labels to aggregations (first is primary).

    ``validation_run``: a run of other problems scored by the primary scorer; ``early_stop``'s threshold is the
    ``threshold_quantile`` of its candidate scores (without it, early_stop is skipped)."""
    import mlflow

    from bon_core.evaluation import evaluate_pools, group_pools
    from bon_core.results import curve_series, selection_metrics, write_report
    from bon_core.scorer_choice import primary_score_set
    from bon_core.tasks import get_task
    from db import repository
    from flows.tracking import log_curve, log_text_artifacts, tracked_run

    scorer_aggregations = scorer_aggregations or {}
    run, problems, candidates, scorer_ids, sets = load_scored_run(database_url, run_name, scorer_aggregations)
    task_obj = get_task(run.task)
    pools = group_pools(candidates, n)
    primary_set = primary_score_set(sets, primary)
    validation = None
    if validation_run is not None and primary_set is not None:
        validation = load_validation_scores(database_url, validation_run, primary_set.scorer, primary_set.aggregation)
    prompt_tokens = prompt_token_counts(run.policy, task_obj, [p for p in problems if p.source_id in pools])
    evaluation = evaluate_pools(
        pools, sets, primary=primary_set, normalize=task_obj.normalize_answer, seed=seed,
        prompt_tokens=prompt_tokens, validation_scores=validation, threshold_quantile=threshold_quantile,
    )  # fmt: skip
    pool_n = len(next(iter(pools.values())))
    report = write_report(evaluation.curves, evaluation.notes, Path(out_dir) / run_name, run_name)

    with transaction(database_url) as session:
        store_evaluation(session, run.id, problems, evaluation, scorer_ids)
        repository.update_run(session, run.id, status="evaluated")

    params = {"run": run_name, "n": pool_n, "problems": len(pools), "scorers": scorer_aggregations, "seed": seed,
              "validation_run": validation_run, "threshold_quantile": threshold_quantile}  # fmt: skip
    with tracked_run(f"select-evaluate:{run_name}", params):
        for name, points in curve_series(report.table):
            log_curve(name, points)
        for name, value in selection_metrics(evaluation.selection_points):
            mlflow.log_metric(name, value)
        log_text_artifacts({"results.md": report.markdown, "results.csv": report.csv})
        for path in report.plots:
            mlflow.log_artifact(str(path), artifact_path="plots")
    print(report.markdown)
    return EvaluationReport(
        run_name, report.markdown, report.csv, tuple(str(p) for p in report.plots), len(pools), pool_n,
        evaluation.curves, evaluation.selection_points, evaluation.notes,
    )  # fmt: skip


def select_stored_run(
    database_url: str,
    run_name: str,
    strategy: str,
    params: dict[str, Any] | None = None,
    scorer_label: str | None = None,
    aggregation: str = DEFAULT_AGGREGATION,
    n: int | None = None,
) -> PoolSelections:
    """``bon select``: ``strategy`` on every pool of stored run ``run_name`` (the first ``n`` samples of each),
    reading ``scorer_label``'s scores under ``aggregation``; the selections are stored, linked to the scorer only
    when the strategy reads one."""
    from bon_core.evaluation import group_pools, select_pools
    from bon_core.tasks import get_task
    from db import reads, repository

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        scorer_id = reads.find_scorer(session, scorer_label) if scorer_label else None
        problems = reads.load_problems(session, run_id=run.id)
        scores = reads.load_candidate_scores(session, run.id, scorer_id, aggregation) if scorer_id else None
        pools = group_pools(reads.load_candidates(session, run.id), n)
        chosen = select_pools(pools, strategy, params, scores, get_task(run.task).normalize_answer)
        ids = repository.upsert_problems(session, problems)
        stored_scorer = scorer_id if chosen.uses_scorer else None  # e.g. majority reads no scorer
        repository.insert_selections(session, run.id, ids, list(chosen.selections), scorer_id=stored_scorer)
    return chosen
