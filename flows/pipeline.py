"""``pipeline``: the end-to-end job, and ``bon demo``, its embedded default on the ``arith`` task.

train policy → generate train/validation/test pools → (exact step labels come with generation) → train a PRM
(initialised from the policy's weights) and an ORM on the same candidates → register both, promoting on the
validation pool → score the test pool with each registry champion → select and evaluate.
Every step reuses what a previous run left (trained models, stored candidates and scores), so a second run is
mostly evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow

from bon_core.generation.policy import PolicyTrainConfig
from bon_core.types import GenerationConfig
from flows.generate import run_generate
from flows.score import run_score
from flows.select_evaluate import EvaluationReport, select_evaluate_flow
from flows.step_analysis import ScorerComparison, analyse_scorers
from flows.train import TrainedScorer, train_policy_flow, train_prm_flow

# The PRM and ORM read exactly the policy's text (the newline ending each step is the step tag) and score a step by
# how likely the base finds it and the steps before it (see bon_core.prm.model).
ARITH_PRM_FORMAT = {
    "step_format": {"prompt_template": "Q: {problem}\n", "step_prefix": "", "step_tag": "\n", "special_tag": False},
    "head": {"inputs": "likelihood", "hidden_dim": 16, "dropout": 0.0},
    "max_length": 256,
}


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo. ``quick()`` runs the same code path at smoke-test size."""

    n: int = 16
    train_problems: int = 500
    validation_problems: int = 100
    test_problems: int = 300
    temperature: float = 0.8
    max_new_tokens: int = 128
    generation_batch_size: int = 512  # sequences sampled together: 32 prompts x 16 samples
    policy_quick: bool = False
    prm_steps: int = 600
    prm_batch_size: int = 32
    prm_learning_rate: float = 3e-4
    # The PRM/ORM base keeps learning arith as a language model on reference solutions of fresh train-split problems
    # while the head learns from the candidates: the base's likelihood is what the head reads, and with the policy's
    # knowledge alone it was only as good a verifier as majority voting (see the README).
    prm_lm_loss_weight: float = 1.0
    prm_lm_problems: int = 19200
    # Hard negatives sharing their context (reference solutions of fresh train problems and corrupted twins labelled
    # by the exact checker); the PRM and the ORM train on exactly these texts too.
    prm_contrastive_problems: int = 3000
    prm_negatives_per_problem: int = 2
    seed: int = 0
    shard_size: int = 50
    prefix: str = "demo"
    aggregations: tuple[str, ...] = ("min", "prod", "last", "mean")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls) -> DemoConfig:
        return cls(
            n=8, train_problems=80, validation_problems=24, test_problems=40, policy_quick=True, prm_steps=60,
            prm_batch_size=16, prm_lm_problems=500, prm_contrastive_problems=200, shard_size=20, prefix="demo-quick",
        )  # fmt: skip


@dataclass(frozen=True)
class DemoResult:
    policy_path: str
    policy_accuracy: float | None
    prm: TrainedScorer | None
    orm: TrainedScorer | None
    evaluation: EvaluationReport
    comparison: ScorerComparison


def scorer_training(cfg: DemoConfig, checkpoints: Path) -> dict[str, Any]:
    """The ``train_prm_flow`` arguments the demo gives its PRM and its ORM alike (everything but ``kind``): same
    network, texts, optimiser and steps, so the two differ only in their labels. They are JSON, as a deployment
    sends them (the flow validates them into ``PRMTrainConfig``, ``PRMSpec``, ``ReferenceProblems`` and
    ``ContrastiveProblems``), because ``study-prm-vs-orm`` takes the same settings as JSON objects."""
    return {
        "config": {
            "max_steps": cfg.prm_steps,
            "batch_size": cfg.prm_batch_size,
            "learning_rate": cfg.prm_learning_rate,
            "lm_loss_weight": cfg.prm_lm_loss_weight,
            "eval_steps": max(cfg.prm_steps // 6, 10),
            "early_stopping_patience": 6,
            "mask_after_first_error": False,  # arith labels every step exactly: nothing to mask
            "select_metric": "best_at_n",
            "group_by_length": True,
            "seed": cfg.seed,
            "output_dir": str(checkpoints),
        },
        "spec": ARITH_PRM_FORMAT,
        "lm_problems": {"task": "arith", "split": "train", "limit": cfg.prm_lm_problems, "seed": cfg.seed + 1},
        "contrastive": {
            "task": "arith", "split": "train", "limit": cfg.prm_contrastive_problems, "seed": cfg.seed + 2,
            "negatives_per_problem": cfg.prm_negatives_per_problem,
        },
        # None: the checker's prefix labels and step scores. "arith": local labels and prefix-product scores (see
        # flows.train.label_form) — measured worse on the demo's pools (README), so not the default.
        "local_labels_task": None,
    }  # fmt: skip


def _trained(path: Path) -> bool:
    return (path / "bon_prm.json").exists()


@flow(name="pipeline", log_prints=True)
def pipeline_flow(
    database_url: str, home: str, config: DemoConfig | None = None, registry: str = "bon-prm"
) -> DemoResult:
    """Run the whole job on ``arith`` with ``config`` (default ``DemoConfig()``); artifacts go under ``home``."""
    import json

    import mlflow

    from flows.tracking import tracked_run

    cfg = config or DemoConfig()
    models = Path(home) / "models" / cfg.prefix
    policy = models / "policy"
    orm_registry = registry.replace("prm", "orm") if "prm" in registry else f"{registry}-orm"
    generation = GenerationConfig(
        temperature=cfg.temperature, max_new_tokens=cfg.max_new_tokens, seed=cfg.seed,
        batch_size=cfg.generation_batch_size,
    )  # fmt: skip
    with tracked_run(f"pipeline:{cfg.prefix}", {**asdict(cfg), "registry": registry}):
        report_file = policy / "policy_report.json"
        if report_file.exists():
            accuracy = json.loads(report_file.read_text())["greedy_accuracy"]
        else:
            policy_config = PolicyTrainConfig.quick if cfg.policy_quick else PolicyTrainConfig
            report = train_policy_flow("arith", str(policy), config=policy_config(seed=cfg.seed))
            accuracy = report.greedy_accuracy
            report_file.write_text(json.dumps(asdict(report), indent=2))
        mlflow.log_metric("policy_greedy_accuracy", accuracy)

        runs = {}
        for split, count in (
            ("train", cfg.train_problems),
            ("validation", cfg.validation_problems),
            ("test", cfg.test_problems),
        ):
            runs[split] = f"{cfg.prefix}-{split}"
            run_generate(
                run_name=runs[split], task_name="arith", policy=str(policy.resolve()), n=cfg.n, split=split,
                limit=count, generation=generation, load_options={"seed": cfg.seed}, shard_size=cfg.shard_size,
                database_url=database_url,
            )  # fmt: skip

        trained = {}
        for kind, name in (("prm", registry), ("orm", orm_registry)):
            out = models / kind
            if _trained(out):
                trained[kind] = None
                continue
            trained[kind] = train_prm_flow(
                f"run:{runs['train']}", str(policy.resolve()), str(out), kind=kind, database_url=database_url,
                validation_run=runs["validation"], register_as=name,
                **scorer_training(cfg, models / f"checkpoints-{kind}"),
            )  # fmt: skip

        labels = {}
        for kind, name in (("prm", registry), ("orm", orm_registry)):
            run_score(database_url=database_url, run_name=runs["test"], model_uri=f"models:/{name}@champion")
            labels[name] = list(cfg.aggregations) if kind == "prm" else ["last"]
        # early_stop's threshold is a quantile of the primary scorer's scores on the validation run, and the step
        # analysis picks its thresholds there too
        for name in (registry, orm_registry):
            run_score(database_url=database_url, run_name=runs["validation"], model_uri=f"models:/{name}@champion")
        evaluation = select_evaluate_flow(
            database_url, runs["test"], labels, primary=f"{registry}:min", out_dir=str(Path(home) / "results"),
            validation_run=runs["validation"],
        )  # fmt: skip
        champions = {registry: "min", orm_registry: "last"}
        comparison = analyse_scorers(
            database_url, runs["test"], runs["validation"],
            {name: (f"models:/{name}@champion", how) for name, how in champions.items()}, seed=cfg.seed,
        )  # fmt: skip
    return DemoResult(str(policy), accuracy, trained["prm"], trained["orm"], evaluation, comparison)
