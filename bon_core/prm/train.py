"""Training a PRM (or the ORM baseline) with the transformers ``Trainer``.

Loss: binary cross-entropy on the step labels at the step-tag positions (hard or soft labels), plus, with
``lm_loss_weight > 0``, the base's next-token loss on the steps of fully correct examples (the base keeps learning the
task as a language model; a ``likelihood`` head reads exactly that). AdamW with weight
decay, linear warmup, gradient clipping, evaluation of step AUROC on a validation split, early stopping on it and the
best checkpoint restored at the end. The ORM is the same network trained on one label (the outcome) at the last tag.

>>> prm, report = train_prm(examples, PRMTrainConfig(max_steps=300), "path/to/base")
>>> report.best_val_auroc
0.91
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bon_core.metrics.steps import binary_auroc
from bon_core.prm.config import PRMTrainConfig
from bon_core.prm.io import checkpoint_step, resumable_checkpoint, start_checkpoints
from bon_core.prm.model import IGNORE_LABEL, IGNORE_TOKEN, NOT_A_STEP
from bon_core.prm.records import StepLabelledExample, mask_after_first_error, to_orm_example
from bon_core.prm.scorer import PRM, new_prm


@dataclass(frozen=True)
class TrainReport:
    """What happened during training: loss curves as ``(step, value)`` pairs, validation AUROC, size and time."""

    kind: str
    train_losses: tuple[tuple[int, float], ...]
    val_losses: tuple[tuple[int, float], ...]
    val_aurocs: tuple[tuple[int, float], ...]
    best_val_auroc: float  # the validation AUROC of the checkpoint kept (picked by ``select_metric``)
    steps: int
    seconds: float
    train_examples: int
    val_examples: int
    dropped_examples: int = 0  # too long for max_length
    val_best_at_n: tuple[tuple[int, float], ...] = ()  # validation selection accuracy at each evaluation
    select_metric: str = "auroc"
    best_select_value: float = float("nan")  # the kept checkpoint's ``select_metric``
    resumed_from_step: int | None = None  # the checkpoint this run continued from (None: trained from the start)


def split_by_problem(
    examples: Sequence[StepLabelledExample], fraction: float, seed: int
) -> tuple[list[StepLabelledExample], list[StepLabelledExample]]:
    """``(train, validation)`` with ``fraction`` of the distinct problems (at least one) held out, all of a problem's
    records on one side: a validation problem is never also trained on."""
    problems = sorted({e.problem for e in examples})
    random.Random(seed).shuffle(problems)
    held_out = set(problems[: max(1, math.ceil(len(problems) * fraction))])
    if len(held_out) == len(problems):
        raise ValueError(
            f"cannot hold out {fraction:.0%} of {len(problems)} problem(s) for validation and still train; "
            "give validation records or more problems"
        )
    train = [e for e in examples if e.problem not in held_out]
    return train, [e for e in examples if e.problem in held_out]


def selection_accuracy(scores: Sequence[float], problems: Sequence[str], correct: Sequence[bool]) -> float:
    """Share of problems whose highest-scoring record (first on ties) is correct: best@N on the whole pool."""
    best: dict[str, tuple[float, bool]] = {}
    for score, problem, ok in zip(scores, problems, correct, strict=True):
        if problem not in best or score > best[problem][0]:
            best[problem] = (score, ok)
    return sum(ok for _, ok in best.values()) / len(best) if best else float("nan")


def prepare_examples(examples: Sequence[StepLabelledExample], config: PRMTrainConfig) -> list[StepLabelledExample]:
    """Apply the label policy: ORM view, masking after the first error, hard labels."""
    prepared = []
    for example in examples:
        if config.kind == "orm":
            example = to_orm_example(example)
        elif config.mask_after_first_error:
            example = mask_after_first_error(example)
        if config.label_mode == "hard":
            labels = tuple(None if x is None else float(x >= 0.5) for x in example.labels)
            example = replace(example, labels=labels)
        prepared.append(example)
    return prepared


def _features(
    prm: PRM, examples: Sequence[StepLabelledExample], fully_correct: Sequence[bool], lm_only: bool = False
) -> tuple[list[dict[str, list]], int]:
    """Token ids with a label at each tag position and ``IGNORE_LABEL`` elsewhere, the step of every token, the tag
    positions, language-model targets (the steps' tokens of fully correct examples) and the index of the record a
    row came from; drops too-long examples and those without a label."""
    rows, dropped = [], 0
    for record, (example, correct) in enumerate(zip(examples, fully_correct, strict=True)):
        try:
            (encoded,) = prm.encode([example.problem], [list(example.steps)])
        except ValueError:
            dropped += 1
            continue
        ids = list(encoded.input_ids)
        labels = [IGNORE_LABEL] * len(ids)
        if not lm_only:
            for position, label in zip(encoded.tag_positions, example.labels, strict=True):
                if label is not None:
                    labels[position] = float(label)
        step_index = encoded.step_index()
        lm_labels = [t if correct and s != NOT_A_STEP else IGNORE_TOKEN for t, s in zip(ids, step_index, strict=True)]
        if lm_only or any(label != IGNORE_LABEL for label in labels):
            tags = set(encoded.tag_positions)
            tag_mask = [int(i in tags) for i in range(len(ids))]
            row = {"input_ids": ids, "labels": labels, "step_index": step_index, "lm_labels": lm_labels}
            rows.append({**row, "tag_mask": tag_mask, "record": record})
    return rows, dropped


def fully_correct(example: StepLabelledExample) -> bool:
    """Every step labelled and right (>= 0.5) and the outcome right: text a language model may learn from."""
    return example.outcome() and all(label is not None and label >= 0.5 for label in example.labels)


def freeze_lower_layers(prm: PRM, count: int) -> None:
    """Stop gradients through the base's input embeddings and its ``count`` lowest transformer layers (the first
    ``ModuleList`` as long as the config's layer count); the head and the upper layers still train."""
    if count <= 0:
        return
    import torch

    base = prm.model.base
    n_layers = getattr(base.config, "num_hidden_layers", None)
    layers = next((m for m in base.modules() if isinstance(m, torch.nn.ModuleList) and len(m) == n_layers), None)
    if layers is None or count > len(layers):
        raise ValueError(f"cannot freeze {count} layers of a {base.config.model_type} base with {n_layers} layers")
    for module in [base.get_input_embeddings(), *list(layers)[:count]]:
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def validation_auroc(logits, labels) -> float:
    """Step AUROC (:func:`bon_core.metrics.steps.binary_auroc`) of per-position logits against training labels
    (>= 0.5 is positive) over the labelled positions; nan when those hold only one class (undefined)."""
    import numpy as np

    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels, dtype=float)
    mask = labels != IGNORE_LABEL
    try:
        return binary_auroc(logits[mask], labels[mask] >= 0.5)
    except ValueError:
        return float("nan")


def train_prm(
    examples: Sequence[StepLabelledExample],
    config: PRMTrainConfig,
    base: Any,
    val_examples: Sequence[StepLabelledExample] | None = None,
    on_log: Callable[[int, int, dict[str, float]], None] | None = None,
    lm_examples: Sequence[StepLabelledExample] = (),
) -> tuple[PRM, TrainReport]:
    """Train a PRM/ORM on ``examples``; ``base`` is a base model path (new PRM) or an existing ``PRM``.

    ``lm_examples`` (e.g. reference solutions) are mixed into the training set for the language-model loss only
    (``config.lm_loss_weight`` must be > 0); their labels are ignored.

    ``on_log(step, max_steps, logs)`` is called at every logging step (e.g. to drive a progress bar).
    """
    import torch
    from transformers import (
        EarlyStoppingCallback,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    if not examples:
        raise ValueError("train_prm needs at least one training example")
    set_seed(config.seed)
    prm = (
        base if isinstance(base, PRM) else new_prm(base, spec=replace(config.spec, kind=config.kind), seed=config.seed)
    )
    prm.spec = replace(prm.spec, kind=config.kind)
    freeze_lower_layers(prm, config.freeze_layers)
    if val_examples is None:
        examples, val_examples = split_by_problem(examples, config.val_fraction, config.seed)
    prm.model.lm_loss_weight = config.lm_loss_weight
    # An ORM whose scores are prefix products learns its one outcome label on the product over all its steps: the
    # same scoring function as a prefix PRM, so the two differ only in what is labelled.
    prm.model.outcome_on_product = config.kind == "orm" and prm.spec.step_score == "prefix"
    correct = [fully_correct(e) for e in examples]
    train_rows, dropped_train = _features(prm, prepare_examples(examples, config), correct)
    if lm_examples:
        if config.lm_loss_weight <= 0:
            raise ValueError("lm_examples train only the language-model loss; set lm_loss_weight > 0")
        lm_rows, dropped_lm = _features(prm, lm_examples, [True] * len(lm_examples), lm_only=True)
        train_rows, dropped_train = train_rows + lm_rows, dropped_train + dropped_lm
    # Validation is judged on step labels under the training label policy, so that a prefix-scoring PRM's product
    # covers every step of a wrong record too (masked, its product would stop at the first error and look better).
    val_config = replace(config, kind="prm")
    val_rows, dropped_val = _features(prm, prepare_examples(val_examples, val_config), [False] * len(val_examples))
    kept_val = [val_examples[row["record"]] for row in val_rows]  # eval rows keep this order
    if not train_rows:
        raise ValueError("no training example fits max_length with at least one labelled step")
    pad_id = prm.pad_id

    def collate(rows: list[dict[str, list]]) -> dict[str, torch.Tensor]:
        width = max(len(row["input_ids"]) for row in rows)

        def padded(key: str, value: float) -> torch.Tensor:
            return torch.tensor([row[key] + [value] * (width - len(row[key])) for row in rows])

        mask = [[1] * len(row["input_ids"]) + [0] * (width - len(row["input_ids"])) for row in rows]
        return {
            "input_ids": padded("input_ids", pad_id),
            "attention_mask": torch.tensor(mask),
            "labels": padded("labels", IGNORE_LABEL),
            "step_index": padded("step_index", NOT_A_STEP),
            "lm_labels": padded("lm_labels", IGNORE_TOKEN),
            "tag_mask": padded("tag_mask", 0),
        }

    val_problems = [e.problem for e in kept_val]
    val_correct = [e.outcome() for e in kept_val]
    last_step = config.kind == "orm"
    prefix = prm.spec.step_score == "prefix"

    def validation_metrics(pred) -> dict[str, float]:
        # Eval rows come back in dataset order; a record's score is its last tag (ORM), the product of its step
        # probabilities (a PRM scoring prefixes) or its min over tags (a PRM scoring steps).
        import numpy as np

        logits, labels = pred.predictions, pred.label_ids
        scores = []
        for row_logits, row_labels in zip(logits, labels, strict=True):
            tagged = row_logits[row_labels != IGNORE_LABEL].astype(float)
            if prefix:
                scores.append(float(-np.logaddexp(0.0, -tagged).sum()))  # sum of log sigmoid
            elif last_step:
                scores.append(float(tagged[-1]))
            else:
                scores.append(float(tagged.min()))
        return {
            "auroc": validation_auroc(logits, labels),
            "best_at_n": selection_accuracy(scores, val_problems, val_correct),
        }

    class _Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            on_log(state.global_step, state.max_steps, dict(logs or {}))

    with tempfile.TemporaryDirectory(prefix="bon-prm-") as scratch:
        resume_from = None
        if config.output_dir:
            fingerprint = training_fingerprint(config, train_rows, val_rows)
            resume_from = resumable_checkpoint(config.output_dir, fingerprint) if config.resume else None
            if resume_from is None:
                start_checkpoints(config.output_dir, fingerprint)
        args = TrainingArguments(
            output_dir=config.output_dir or scratch,
            per_device_train_batch_size=config.batch_size,
            train_sampling_strategy="group_by_length" if config.group_by_length else "random",
            per_device_eval_batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            weight_decay=config.weight_decay,
            warmup_steps=config.warmup_ratio,
            max_grad_norm=config.max_grad_norm,
            max_steps=config.max_steps,
            eval_strategy="steps",
            eval_steps=config.eval_steps,
            save_strategy="steps",
            save_steps=config.eval_steps,
            save_total_limit=1,
            save_only_model=not config.output_dir,  # optimizer, scheduler and RNG states too, where resumable
            restore_callback_states_from_checkpoint=True,  # early stopping's patience count survives a resume
            logging_steps=max(1, config.eval_steps // 5),
            load_best_model_at_end=True,
            metric_for_best_model=config.select_metric,
            greater_is_better=True,
            label_names=["labels"],
            remove_unused_columns=False,
            report_to="none",
            disable_tqdm=True,
            seed=config.seed,
            data_seed=config.seed,
            use_cpu=prm.device.type == "cpu",
        )

        class _InOrderEval(Trainer):
            # Validation metrics map each prediction row back to its record, so evaluation keeps dataset order
            # (with group_by_length, transformers would otherwise regroup evaluation rows too).
            def _get_eval_sampler(self, eval_dataset):
                return torch.utils.data.SequentialSampler(eval_dataset)

        trainer = _InOrderEval(
            model=prm.model,
            args=args,
            train_dataset=train_rows,
            eval_dataset=val_rows,
            data_collator=collate,
            compute_metrics=validation_metrics,
            callbacks=[EarlyStoppingCallback(config.early_stopping_patience)] + ([_Report()] if on_log else []),
        )
        trainer.remove_callback(PrinterCallback)  # no log dicts on stdout; ``on_log`` reports progress
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        seconds = time.perf_counter() - started
        # The whole run's curves, before and after a resume (the trainer state carries the earlier log).
        history = {
            key: [(int(e["step"]), float(e[key])) for e in trainer.state.log_history if key in e]
            for key in ("loss", "eval_loss", "eval_auroc", "eval_best_at_n")
        }
        best = trainer.state.best_metric
        best_step = checkpoint_step(trainer.state.best_model_checkpoint)
    prm.model.to(prm.device).eval()
    kept_auroc = dict(history["eval_auroc"]).get(best_step, float(best) if best is not None else float("nan"))
    report = TrainReport(
        kind=config.kind,
        train_losses=tuple(history["loss"]),
        val_losses=tuple(history["eval_loss"]),
        val_aurocs=tuple(history["eval_auroc"]),
        best_val_auroc=float(kept_auroc) if config.select_metric == "best_at_n" else float(best or float("nan")),
        steps=trainer.state.global_step,
        seconds=seconds,
        train_examples=len(train_rows),
        val_examples=len(val_rows),
        dropped_examples=dropped_train + dropped_val,
        val_best_at_n=tuple(history["eval_best_at_n"]),
        select_metric=config.select_metric,
        best_select_value=float(best) if best is not None else float("nan"),
        resumed_from_step=checkpoint_step(str(resume_from)) if resume_from else None,
    )
    return prm, report


def training_fingerprint(config: PRMTrainConfig, train_rows: Sequence[dict], val_rows: Sequence[dict]) -> str:
    """A hash of what decides a training run's course: the config (but where checkpoints go and whether to resume)
    and the exact training and validation rows. Checkpoints are resumed only under the same fingerprint."""
    settings = {k: v for k, v in asdict(config).items() if k not in ("output_dir", "resume")}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for rows in (train_rows, val_rows):
        digest.update(json.dumps(list(rows), sort_keys=True, default=str).encode())
    return digest.hexdigest()
