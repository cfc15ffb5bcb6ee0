"""Training flows: the ``arith`` demo policy, and PRMs/ORMs from stored candidates with gold step labels, from a
step-labelled data file, or from automatic Monte-Carlo labels; trained scorers are logged to MLflow, registered,
and promoted to ``champion`` when their validation best@N beats the current champion's.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from bon_core.generation.policy import PolicyTrainConfig
from bon_core.prm import PRMSpec, PRMTrainConfig
from bon_core.scorer_choice import natural_aggregation
from flows import progress
from flows.runtime import settings_from_environment
from flows.store import transaction


@dataclass(frozen=True)
class ReferenceProblems:
    """``limit`` problems of ``task``/``split`` (drawn with ``seed``) whose reference solutions a PRM's base also
    learns as language-model text (``train_prm_flow``'s ``lm_problems``; needs ``lm_loss_weight``)."""

    task: str
    split: str
    limit: int
    seed: int = 0


@dataclass(frozen=True)
class ContrastiveProblems:
    """``limit`` problems of ``task``/``split`` (drawn with ``seed``) whose reference solutions and
    ``negatives_per_problem`` corrupted twins each, labelled by the task's exact checker, are added to the training
    texts (``train_prm_flow``'s ``contrastive``)."""

    task: str
    split: str
    limit: int
    seed: int = 0
    negatives_per_problem: int = 2


@dataclass(frozen=True)
class TrainedScorer:
    """Where a trained PRM/ORM is, how it did, and what the registry decided."""

    path: str
    kind: str
    best_val_auroc: float
    val_best_at_n: float | None
    registered_name: str | None
    registered_version: str | None
    promoted: bool | None
    seconds: float
    resumed_from_step: int | None = None  # the checkpoint a re-run continued from (None: trained from the start)


def _on_log(key: str):
    last = {"step": 0}

    def report(step: int, max_steps: int, logs: dict[str, float]) -> None:
        loss = logs.get("loss")
        progress.advance(key, step - last["step"], f"loss {loss:.3f}" if loss is not None else None)
        last["step"] = step

    return report


@flow(name="train-policy", log_prints=True)
def train_policy_flow(task_name: str, out_dir: str, config: PolicyTrainConfig | None = None):
    """Train the demo policy for ``task_name`` into ``out_dir`` (``config``: default ``PolicyTrainConfig()``; its
    ``quick()`` for a smoke run); logs its config, loss curve and greedy accuracy."""
    import mlflow

    from bon_core.generation.policy import train_policy
    from bon_core.tasks import get_task
    from flows.tracking import tracked_run

    config = config or PolicyTrainConfig()
    with tracked_run("train-policy", {"task": task_name, **asdict(config)}):
        progress.start("train-policy", "training the policy", config.max_steps)

        def on_step(step: int, max_steps: int, loss: float | None) -> None:
            progress.advance("train-policy", 1, f"loss {loss:.3f}" if loss is not None else None)

        report = train_policy(get_task(task_name), out_dir, config, progress=on_step)
        mlflow.log_metrics(
            {"greedy_accuracy": report.greedy_accuracy, "process_accuracy": report.process_accuracy,
             "train_seconds": report.train_seconds, "num_parameters": report.num_parameters},
        )  # fmt: skip
    print(f"policy: greedy accuracy {report.greedy_accuracy:.1%} on {report.num_eval} held-out problems")
    return report


@task(name="load-labelled-examples", cache_policy=NO_CACHE)
def load_examples(database_url: str | None, source: str) -> list[Any]:
    """Step-labelled examples from ``run:NAME`` (stored candidates with gold labels) or a data spec/path."""
    from bon_core.prm import from_candidate, from_labelled_solution

    if source.startswith("run:"):
        from db import reads

        if database_url is None:
            raise ValueError("training from a stored run needs the store's URL")
        with transaction(database_url) as session:
            run = reads.get_run(session, source[4:])
            problems = {p.source_id: p for p in reads.load_problems(session, run_id=run.id)}
            candidates = reads.load_candidates(session, run.id)
        examples = [
            from_candidate(problems[c.problem_id], c)
            for c in candidates
            if c.steps and any(s.label is not None for s in c.steps)
        ]
        if not examples:
            raise ValueError(f"run {source[4:]!r} has no candidates with gold step labels to train on")
        return examples
    from bon_core.stepdata import read_labelled

    return [from_labelled_solution(r) for r in read_labelled(source)]


def contrastive_examples(task: str, split: str, limit: int, seed: int = 0, negatives_per_problem: int = 2) -> list[Any]:
    """Reference solutions and their corrupted twins for the task named ``task`` (bon_core's
    ``contrastive_examples``)."""
    from bon_core.prm.records import contrastive_examples as task_contrastive_examples
    from bon_core.tasks import get_task

    return task_contrastive_examples(get_task(task), split, limit, seed, negatives_per_problem)


def label_form(config: Any, examples: list[Any], val_examples: list[Any] | None, local_labels_task: str | None):
    """``(config, examples, val_examples)`` for ``local_labels_task``: prefix scores for both kinds, and for a PRM
    the task's local step labels (see ``train_prm_flow``); unchanged without it."""
    if not local_labels_task:
        return config, examples, val_examples
    from bon_core.prm.records import with_local_labels
    from bon_core.tasks import get_task

    config = replace(config, spec=replace(config.spec, step_score="prefix"))
    if config.kind != "prm":
        return config, examples, val_examples
    task_obj = get_task(local_labels_task)
    local_val = with_local_labels(val_examples, task_obj) if val_examples else val_examples
    return config, with_local_labels(examples, task_obj), local_val


def reference_examples(task: str, split: str, limit: int, seed: int = 0) -> list[Any]:
    """The reference solutions of ``limit`` problems of the task named ``task`` (bon_core's ``reference_examples``)."""
    from bon_core.prm.records import reference_examples as task_reference_examples
    from bon_core.tasks import get_task

    return task_reference_examples(get_task(task), split, limit, seed)


def validation_best_at_n(prm: Any, database_url: str, run_name: str, aggregation: str) -> tuple[float, int]:
    """best@N (exact, over every problem of a stored validation run) of ``prm`` under ``aggregation``."""
    from bon_core.scored_pools import best_at_n, candidates_to_score
    from db import reads

    with transaction(database_url) as session:
        run = reads.get_run(session, run_name)
        problems = reads.load_problems(session, run_id=run.id)
        candidates = reads.load_candidates(session, run.id)
    result = best_at_n(candidates, prm.score_candidates(problems, candidates_to_score(candidates)), aggregation)
    return result.value, result.n


@flow(name="train-prm", log_prints=True)
def train_prm_flow(
    source: str,
    base: str,
    out_dir: str | None = None,
    kind: str = "prm",
    database_url: str | None = None,
    validation_run: str | None = None,
    val_aggregation: str | None = None,
    register_as: str | None = None,
    config: PRMTrainConfig | None = None,
    spec: PRMSpec | None = None,
    lm_problems: ReferenceProblems | None = None,
    contrastive: ContrastiveProblems | None = None,
    local_labels_task: str | None = None,
) -> TrainedScorer:
    """Train a PRM (or ORM, ``kind="orm"``) on ``source`` from the base model ``base`` and save it to ``out_dir``.

    ``config`` is how to train (default ``PRMTrainConfig()``; ``kind`` replaces its ``kind``) and ``spec`` the new
    model's format, head and ``max_length`` (default ``config.spec``); a deployment's JSON objects are validated
    into them. With ``register_as``, the model is logged to MLflow and registered under that name; with
    ``validation_run`` its best@N on that stored run decides whether it becomes the ``champion``. ``lm_problems``
    adds those problems' reference solutions as language-model text (needs ``lm_loss_weight``). ``contrastive``
    adds reference solutions and their corrupted twins, labelled by the task's exact checker; a PRM and an ORM given
    the same ``contrastive`` train on the same texts (the ORM on their outcomes). With a ``validation_run``, its
    candidates (problems never trained on) also pick the checkpoint. With ``local_labels_task`` (a task name), both
    score prefixes (``step_score="prefix"``: the product of the step verdicts so far): a PRM learns each verdict
    from that task's local step labels (each step judged against the state before it), an ORM only the product, from
    the outcome.

    Without ``database_url`` the store (and MLflow) are this process's settings
    (``flows.runtime.settings_from_environment``), so a deployment's parameters never hold a password; without
    ``out_dir`` the model goes to ``HOME/prms/KIND-FLOW_RUN_ID``.
    """
    import time

    import mlflow
    from prefect.runtime import flow_run

    from bon_core.prm import train_prm
    from flows.registry import Benchmark, log_prm, promote_if_better, register
    from flows.tracking import log_curve, tracked_run

    started = time.perf_counter()
    if database_url is None or out_dir is None:
        settings = settings_from_environment()
        database_url = database_url or settings.database_url
        out_dir = out_dir or str(settings.home / "prms" / f"{kind}-{flow_run.id or 'local'}")
    config = config or PRMTrainConfig()
    local = bool(local_labels_task) and kind == "prm"
    # Checkpoints next to the output folder: a killed run resumes from its newest one when re-run with the same
    # arguments; they are removed once the model is saved and registered.
    checkpoints = config.output_dir or f"{Path(out_dir)}.checkpoints"
    train_config = replace(config, kind=kind, spec=spec or config.spec, output_dir=checkpoints)
    examples = load_examples(database_url, source)
    if contrastive:
        examples = [*examples, *contrastive_examples(**asdict(contrastive))]
    lm_examples = reference_examples(**asdict(lm_problems)) if lm_problems else []
    val_examples = load_examples(database_url, f"run:{validation_run}") if validation_run else None
    train_config, examples, val_examples = label_form(train_config, examples, val_examples, local_labels_task)
    params = {
        "source": source,
        "base": base,
        "kind": kind,
        "examples": len(examples),
        "lm_examples": len(lm_examples),
        "contrastive": asdict(contrastive) if contrastive else {},
        "local_labels": local,
        **asdict(replace(train_config, spec=None)),
    }
    with tracked_run(f"train-{kind}", params):
        progress.start(f"train-{kind}", f"training the {kind.upper()}", train_config.max_steps)
        prm, report = train_prm(
            examples, train_config, base, val_examples=val_examples, on_log=_on_log(f"train-{kind}"),
            lm_examples=lm_examples,
        )  # fmt: skip
        prm.save_pretrained(out_dir)
        if report.resumed_from_step is not None:
            mlflow.log_metric("resumed_from_step", report.resumed_from_step)
        log_curve("train_loss", report.train_losses)
        log_curve("val_loss", report.val_losses)
        log_curve("val_step_auroc", report.val_aurocs)
        log_curve("val_best_at_n_during_training", report.val_best_at_n)
        mlflow.log_metrics({"best_val_step_auroc": report.best_val_auroc, "train_seconds": report.seconds})
        val_metric = benchmark = None
        if validation_run:
            aggregation = val_aggregation or natural_aggregation(kind)
            val_metric, n = validation_best_at_n(prm, database_url, validation_run, aggregation)
            mlflow.log_metric(f"val_best_at_{n}", val_metric)
            benchmark = Benchmark(validation_run, n, f"best_at_n:{aggregation}", val_metric)
        name = version = promoted = None
        if register_as:  # without a benchmark the version is registered but never promoted (see flows.registry)
            name, version = register_as, register(log_prm(out_dir), register_as, benchmark)
            promoted = promote_if_better(name, version, benchmark).promoted
    shutil.rmtree(checkpoints, ignore_errors=True)
    print(
        f"{kind}: best validation step AUROC {report.best_val_auroc:.3f}"
        + (f", val best@N {val_metric:.3f}" if val_metric is not None else "")
    )
    return TrainedScorer(
        str(Path(out_dir).resolve()), kind, report.best_val_auroc, val_metric, name, version, promoted,
        time.perf_counter() - started, report.resumed_from_step,
    )  # fmt: skip
