"""``study-prm-vs-orm``: process vs outcome supervision on stored candidates, over seeds and training budgets.

For every training budget (a share of the train run's problems) and seed, a PRM and an ORM are trained on exactly
the same texts — the train run's candidates of those problems plus, optionally, contrastive texts (reference
solutions and corrupted twins) of the same share of fresh problems — the PRM on step labels, the ORM on outcomes,
with the same network, optimiser and number of steps. Each scores the stored test pool (no regeneration); the
figures (``bon_core.study``) go to the ``evaluations`` table of the test run, to MLflow (one nested run per trained
scorer, with the model's files) and to plots under ``out_dir``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import progress
from flows.store import transaction


@dataclass(frozen=True)
class StudyReport:
    markdown: str
    cells: list[Any]
    spreads: list[Any]
    paired: list[Any]
    plots: list[str]
    seconds: float


def _load_run(database_url: str, run_name: str) -> tuple[list[Any], list[Any]]:
    from db import reads

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        return reads.load_problems(session, run_id=run.id), reads.load_candidates(session, run.id)


@task(name="study-train-and-score", cache_policy=NO_CACHE)
def train_and_score(
    kind: str, seed: int, budget: float, train: list[Any], validation: list[Any], lm_examples: list[Any],
    base: str, config: dict[str, Any], spec: dict[str, Any], test_problems: list[Any], test_candidates: list[Any],
    out_dir: str, local_labels_task: str | None = None,
) -> Any:  # fmt: skip
    """Train one scorer of the study, save it, score the test pool and return its ``StudyCell``."""
    import mlflow

    from bon_core.prm import PRMSpec, PRMTrainConfig, train_prm
    from bon_core.study import study_cell
    from flows.tracking import log_curve, tracked_run
    from flows.train import label_form

    # checkpoints of every scorer in a scratch folder of its own (the saved model lands under ``out_dir``)
    settings = {**config, "kind": kind, "seed": seed, "spec": PRMSpec.from_json_dict(spec), "output_dir": None}
    train_config = PRMTrainConfig(**settings)
    train_config, train, validation = label_form(train_config, train, validation, local_labels_task)
    name = f"study-{kind}-budget{budget:g}-seed{seed}"
    with tracked_run(name, {"kind": kind, "seed": seed, "budget": budget, "labelled_texts": len(train), **config}):
        prm, report = train_prm(train, train_config, base, val_examples=validation or None, lm_examples=lm_examples)
        prm.save_pretrained(Path(out_dir) / name)
        mlflow.log_artifacts(str(Path(out_dir) / name), artifact_path="model")
        log_curve("val_best_at_n_during_training", report.val_best_at_n)
        step_scores = prm.score_candidates(test_problems, [c for c in test_candidates if c.steps])
        cell = study_cell(kind, seed, budget, len(train), test_candidates, step_scores, report.seconds)
        for k, value in cell.curve:
            mlflow.log_metric("test_best_at_k", value, step=k)
        n, best_at_n = cell.curve[-1]
        mlflow.log_metrics({"train_seconds": report.seconds, f"test_best_at_{n}": best_at_n})
    return cell


@flow(name="study-prm-vs-orm", log_prints=True)
def study_prm_vs_orm_flow(
    database_url: str,
    train_run: str,
    test_run: str,
    base: str,
    out_dir: str,
    validation_run: str | None = None,
    seeds: int = 3,
    budgets: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0),
    config: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    contrastive: dict[str, Any] | None = None,
    lm_problems: dict[str, Any] | None = None,
    local_labels_task: str | None = None,
) -> StudyReport:
    """Train a PRM and an ORM for every (budget, seed) on the same texts, score ``test_run``'s stored pool with each,
    and report curves over seeds, the paired PRM − ORM interval and the sample-efficiency curve."""
    import mlflow

    from bon_core.prm import from_candidate
    from bon_core.study import (
        budget_subsets,
        paired_prm_minus_orm,
        plot_study,
        seed_spread,
        study_markdown,
        study_points,
        training_texts,
    )
    from db import reads, repository
    from flows.tracking import log_text_artifacts, tracked_run
    from flows.train import contrastive_examples, reference_examples

    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    started = time.perf_counter()
    train_problems, train_candidates = _load_run(database_url, train_run)
    test_problems, test_candidates = _load_run(database_url, test_run)
    if not test_candidates:
        raise ValueError(f"test run {test_run!r} has no stored candidates to score")
    by_id = {p.source_id: p for p in train_problems}
    labelled = [
        (c.problem_id, from_candidate(by_id[c.problem_id], c))
        for c in train_candidates
        if c.steps and any(s.label is not None for s in c.steps)
    ]
    if not labelled:
        raise ValueError(f"train run {train_run!r} has no candidates with gold step labels to train on")
    validation = []
    if validation_run:
        val_problems, val_candidates = _load_run(database_url, validation_run)
        val_by_id = {p.source_id: p for p in val_problems}
        validation = [from_candidate(val_by_id[c.problem_id], c) for c in val_candidates if c.steps]
    lm_examples = reference_examples(**lm_problems) if lm_problems else []
    all_contrastive = contrastive_examples(**contrastive) if contrastive else []
    config = dict(config or {})
    budgets = tuple(sorted(budgets))
    cells = []
    progress.start("study", "training PRM/ORM pairs", len(budgets) * seeds * 2)
    with tracked_run(f"study-prm-vs-orm:{test_run}", {
        "train_run": train_run, "test_run": test_run, "validation_run": validation_run, "seeds": seeds,
        "budgets": list(budgets), "base": base, **config, "contrastive": contrastive or {},
    }):  # fmt: skip
        for seed in range(seeds):
            subsets = budget_subsets([pid for pid, _ in labelled], budgets, seed)
            for budget in budgets:
                train = training_texts(labelled, all_contrastive, set(subsets[budget]), budget)
                for kind in ("prm", "orm"):
                    cells.append(
                        train_and_score(
                            kind,
                            seed,
                            budget,
                            train,
                            validation,
                            lm_examples,
                            base,
                            config,
                            spec or {},
                            test_problems,
                            test_candidates,
                            out_dir,
                            local_labels_task,
                        )  # fmt: skip
                    )
                    progress.advance("study", 1, f"{kind} budget {budget:g} seed {seed}")
        spreads = seed_spread(cells)
        paired = [paired_prm_minus_orm(cells, b) for b in budgets]
        markdown = study_markdown(spreads, paired)
        plots = plot_study(spreads, Path(out_dir) / "results")
        log_text_artifacts({"study.md": markdown})
        for path in plots:
            mlflow.log_artifact(str(path))
        top = paired[-1]
        mlflow.log_metrics({
            "prm_minus_orm": top.difference, "prm_minus_orm_ci_low": top.low, "prm_minus_orm_ci_high": top.high,
        })  # fmt: skip
        points = study_points(spreads, paired)
        with transaction(database_url) as session:
            run = reads.get_run(session, test_run)
            repository.insert_evaluations(session, run.id, None, points)
    print(markdown)
    return StudyReport(markdown, cells, spreads, paired, [str(p) for p in plots], time.perf_counter() - started)
