"""``eval-prm``: a trained PRM judged on step-labelled data (step AUROC and ProcessBench F1 per subset — a file or
split — and overall, pooled and as the mean of per-subset F1) next to two baselines scored in the same run — the
untrained base encoder with a fresh head, and the position-length heuristic — with the figures written to the
``evaluations`` table and MLflow.
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import progress
from flows.store import transaction

if TYPE_CHECKING:
    from bon_core.prm import PRM

UNTRAINED = "untrained-encoder"


@dataclass(frozen=True)
class PRMEvaluation:
    """What ``eval_prm_flow`` measured and where it wrote it."""

    figures: tuple[Any, ...]  # bon_core.prm.evaluation.ScorerFigures
    markdown: str
    run_name: str
    mlflow_run_id: str
    validation_solutions: int
    test_solutions: int
    seconds: float
    notes: tuple[str, ...] = ()  # subsets that fell back to the pooled threshold, and why


@task(name="load-eval-data", cache_policy=NO_CACHE)
def load_eval_data(data: str, format: str, limit: int | None, validation_fraction: float, seed: int) -> Any:
    """The subsets of ``data`` (``limit``: a seeded stratified sample of N per subset), split by problem, with the
    threshold plan checked (``bon_core.prm.evaluation.EvalSplit``) — before any model is loaded."""
    from bon_core.prm.evaluation import prepare_split
    from bon_core.stepdata import read_subsets

    subsets = read_subsets(data, format, limit, seed)
    if not any(records for _, records in subsets):
        raise ValueError(f"{data}: no step-labelled solutions found")
    return prepare_split(subsets, validation_fraction, seed)


@task(name="score-solutions", cache_policy=NO_CACHE)
def score_with_prm(prm: PRM, label: str, problems: list[str], solutions: list[list[str]]) -> list[list[float]]:
    """Per-step scores of ``prm`` (long solutions window by window: ``bon_core.prm.windows.score_prm_in_windows``)."""
    from bon_core.prm.windows import score_prm_in_windows

    progress.start(f"score-{label}", f"scoring with {label}", 1)
    scores = score_prm_in_windows(prm, problems, solutions)
    progress.advance(f"score-{label}", 1)
    return scores


def _metric_points(figures) -> list[Any]:
    from bon_core.types import MetricPoint

    points = []
    for f in figures:
        for metric in ("step_auroc", "f1", "error_accuracy", "correct_accuracy", "threshold"):
            value = getattr(f, metric)
            if math.isnan(value):
                continue
            name = "processbench_f1" if metric == "f1" else metric
            points.append(
                MetricPoint(
                    name, f.n_solutions, value, value, value, f"prm-eval:{f.group}", f.scorer, "step",
                    method=f"exact on {f.n_solutions} labelled solutions",
                    ci_method="none (ci_low = ci_high = value)",
                )
            )  # fmt: skip
    return points


@task(name="store-prm-evaluation", cache_policy=NO_CACHE)
def store_figures(
    database_url: str, run_name: str, task_name: str, config: dict, scorers: dict, figures, mlflow_run_id: str
) -> None:
    """One run row for this evaluation, one scorer row per scorer and its figures in ``evaluations``."""
    from bon_core.types import ScorerInfo
    from db import repository

    with transaction(database_url) as session:
        run_id = repository.get_or_create_run(session, run_name, task_name, config["prm"], config, config["seed"])
        for label, (kind, version) in scorers.items():
            scorer_id = repository.upsert_scorer(session, ScorerInfo(kind, label, version, {"eval": run_name}))
            mine = [f for f in figures if f.scorer == label]
            repository.insert_evaluations(session, run_id, scorer_id, _metric_points(mine))
        repository.update_run(session, run_id, status="completed", mlflow_run_id=mlflow_run_id)


def _mlflow_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_./ " else "_" for c in text)


@flow(name="eval-prm", log_prints=True)
def eval_prm_flow(
    data: str,
    format: str,
    prm: str,
    base: str,
    database_url: str,
    validation_fraction: float = 0.2,
    limit: int | None = None,
    seed: int = 0,
    max_length: int | None = None,
) -> PRMEvaluation:
    """Evaluate the PRM ``prm`` (a directory or ``models:/NAME@ALIAS``) on ``data`` in ``format`` next to the
    untrained ``base`` (a model directory) with a fresh head and the position-length baseline.

    Each scorer's thresholds are chosen on a ``validation_fraction`` share of the problems, per subset where its
    validation part holds correct and wrong solutions (else pooled, with a note); figures are on the rest. ``limit``
    keeps a seeded sample of N solutions per subset, stratified by all-correct vs wrong. The data and the validation
    split are checked before any model is loaded.
    """
    import mlflow

    from bon_core.prm import load_prm, new_prm
    from bon_core.prm.evaluation import PositionLengthBaseline, evaluate_scores, figures_markdown
    from flows.registry import resolve_model_path
    from flows.tracking import log_text_artifacts, tracked_run

    started = time.perf_counter()
    split = load_eval_data(data, format, limit, validation_fraction, seed)
    val, val_groups, test, test_groups = split.validation, split.validation_groups, split.test, split.test_groups
    for note in split.plan.notes:
        print(f"threshold: {note}")
    path, version = resolve_model_path(prm)
    trained = load_prm(path)
    if max_length:
        trained.spec = replace(trained.spec, max_length=max_length)
    label = version.split("@")[0] if prm.startswith("models:/") else Path(path).name
    untrained = new_prm(base, spec=replace(trained.spec, kind="prm"), seed=seed)
    config = {"data": data, "format": format, "prm": prm, "base": base, "validation_fraction": validation_fraction,
              "limit": limit, "seed": seed, "max_length": trained.spec.max_length}  # fmt: skip
    run_name = f"eval-prm:{label}:{time.strftime('%Y%m%dT%H%M%S')}"
    records = [*val, *test]
    problems = [r.problem for r in records]
    solutions = [list(r.steps) for r in records]
    figures = []
    with tracked_run(run_name, config) as run:
        for name, model in ((label, trained), (UNTRAINED, untrained)):
            scores = score_with_prm(model, name, problems, solutions)
            val_scores, test_scores = scores[: len(val)], scores[len(val) :]
            figures += evaluate_scores(name, val_scores, val, test_scores, test, test_groups, val_groups)
        heuristic = PositionLengthBaseline().fit(val)
        figures += evaluate_scores(
            heuristic.name,
            heuristic.score([r.problem for r in val], [list(r.steps) for r in val]),
            val,
            heuristic.score([r.problem for r in test], [list(r.steps) for r in test]),
            test,
            test_groups,
            val_groups,
        )
        markdown = figures_markdown(figures)
        for f in figures:
            for metric in ("step_auroc", "f1", "threshold"):
                if not math.isnan(getattr(f, metric)):
                    mlflow.log_metric(_mlflow_name(f"{f.group}/{f.scorer}/{metric}"), getattr(f, metric))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(asdict(figures[0])), lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(f) for f in figures)
        log_text_artifacts({"prm_eval.md": markdown, "prm_eval.csv": table.getvalue()})
        mlflow_run_id = run.info.run_id
    task_name = "prmbench" if format == "prmbench" else format
    scorers = {label: ("prm", version), UNTRAINED: ("baseline", base), heuristic.name: ("heuristic", "v1")}
    store_figures(database_url, run_name, task_name, config, scorers, figures, mlflow_run_id)
    return PRMEvaluation(
        tuple(figures), markdown, run_name, mlflow_run_id, len(val), len(test), time.perf_counter() - started,
        split.plan.notes,
    )  # fmt: skip
