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

import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bon_core.prm.model import IGNORE_LABEL, IGNORE_TOKEN, NOT_A_STEP
from bon_core.prm.records import StepLabelledExample, mask_after_first_error, to_orm_example
from bon_core.prm.scorer import PRM, PRMSpec, new_prm


@dataclass(frozen=True)
class PRMTrainConfig:
    """How to train. Every field has a reason in its comment."""

    kind: Literal["prm", "orm"] = "prm"  # orm: one outcome label at the last tag, same data and budget
    label_mode: Literal["hard", "soft"] = "hard"  # hard: labels >= 0.5 become 1, others 0
    mask_after_first_error: bool = True  # PRM800K: steps after the first wrong one carry no label
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    batch_size: int = 8
    max_steps: int = 300
    eval_steps: int = 50
    early_stopping_patience: int = 3  # evaluations without AUROC gain before stopping
    val_fraction: float = 0.1  # of the records, when no validation records are given
    seed: int = 0
    group_by_length: bool = False  # batches of similar lengths: less padding, much faster on CPU
    freeze_layers: int = 0  # freeze the embeddings and this many lowest transformer layers (cheaper backward)
    lm_loss_weight: float = 0.0  # next-token loss on fully correct examples' steps (tied-embedding bases only)
    output_dir: str | None = None  # checkpoints; a temporary folder when None
    spec: PRMSpec = field(default_factory=PRMSpec)  # step format, head size, max_length of a new PRM

    def __post_init__(self) -> None:
        if self.kind not in ("prm", "orm"):
            raise ValueError(f"kind must be 'prm' or 'orm', got {self.kind!r}")
        if self.label_mode not in ("hard", "soft"):
            raise ValueError(f"label_mode must be 'hard' or 'soft', got {self.label_mode!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers must be >= 0, got {self.freeze_layers}")
        if self.lm_loss_weight < 0:
            raise ValueError(f"lm_loss_weight must be >= 0, got {self.lm_loss_weight}")
        for name in ("batch_size", "max_steps", "eval_steps", "early_stopping_patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")


@dataclass(frozen=True)
class TrainReport:
    """What happened during training: loss curves as ``(step, value)`` pairs, validation AUROC, size and time."""

    kind: str
    train_losses: tuple[tuple[int, float], ...]
    val_losses: tuple[tuple[int, float], ...]
    val_aurocs: tuple[tuple[int, float], ...]
    best_val_auroc: float
    steps: int
    seconds: float
    train_examples: int
    val_examples: int
    dropped_examples: int = 0  # too long for max_length


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
    """Token ids with a label at each tag position and ``IGNORE_LABEL`` elsewhere, the step of every token, and
    language-model targets (the steps' tokens of fully correct examples); drops too-long examples."""
    rows, dropped = [], 0
    for example, correct in zip(examples, fully_correct, strict=True):
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
            rows.append({"input_ids": ids, "labels": labels, "step_index": step_index, "lm_labels": lm_labels})
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


def step_auroc(logits, labels) -> float:
    """AUROC of per-position scores against labels (>= 0.5 is positive), over labelled positions; 0.5 when the
    labelled positions hold only one class."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    logits, labels = np.asarray(logits, dtype=float), np.asarray(labels, dtype=float)
    mask = labels != IGNORE_LABEL
    truth = labels[mask] >= 0.5
    if truth.all() or not truth.any():
        return 0.5
    return float(roc_auc_score(truth, logits[mask]))


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
        shuffled = list(examples)
        random.Random(config.seed).shuffle(shuffled)
        n_val = max(1, math.ceil(len(shuffled) * config.val_fraction))
        val_examples, examples = shuffled[:n_val], shuffled[n_val:] or shuffled[:n_val]
    prm.model.lm_loss_weight = config.lm_loss_weight
    correct = [fully_correct(e) for e in examples]
    train_rows, dropped_train = _features(prm, prepare_examples(examples, config), correct)
    if lm_examples:
        if config.lm_loss_weight <= 0:
            raise ValueError("lm_examples train only the language-model loss; set lm_loss_weight > 0")
        lm_rows, dropped_lm = _features(prm, lm_examples, [True] * len(lm_examples), lm_only=True)
        train_rows, dropped_train = train_rows + lm_rows, dropped_train + dropped_lm
    # Validation is always judged on step labels (the AUROC of a PRM and an ORM are then comparable).
    val_config = replace(config, kind="prm", mask_after_first_error=True)
    val_rows, dropped_val = _features(prm, prepare_examples(val_examples, val_config), [False] * len(val_examples))
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
        }

    history: dict[str, list[tuple[int, float]]] = {"loss": [], "eval_loss": [], "eval_auroc": []}

    class _Record(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            for key in history:
                if logs and key in logs:
                    history[key].append((state.global_step, float(logs[key])))
            if on_log is not None:
                on_log(state.global_step, state.max_steps, dict(logs or {}))

    with tempfile.TemporaryDirectory(prefix="bon-prm-") as scratch:
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
            save_only_model=True,
            logging_steps=max(1, config.eval_steps // 5),
            load_best_model_at_end=True,
            metric_for_best_model="auroc",
            greater_is_better=True,
            label_names=["labels"],
            remove_unused_columns=False,
            report_to="none",
            disable_tqdm=True,
            seed=config.seed,
            data_seed=config.seed,
            use_cpu=prm.device.type == "cpu",
        )
        trainer = Trainer(
            model=prm.model,
            args=args,
            train_dataset=train_rows,
            eval_dataset=val_rows,
            data_collator=collate,
            compute_metrics=lambda pred: {"auroc": step_auroc(pred.predictions, pred.label_ids)},
            callbacks=[EarlyStoppingCallback(config.early_stopping_patience), _Record()],
        )
        trainer.remove_callback(PrinterCallback)  # no log dicts on stdout; ``on_log`` reports progress
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
        best = trainer.state.best_metric
    prm.model.to(prm.device).eval()
    report = TrainReport(
        kind=config.kind,
        train_losses=tuple(history["loss"]),
        val_losses=tuple(history["eval_loss"]),
        val_aurocs=tuple(history["eval_auroc"]),
        best_val_auroc=float(best) if best is not None else float("nan"),
        steps=trainer.state.global_step,
        seconds=seconds,
        train_examples=len(train_rows),
        val_examples=len(val_rows),
        dropped_examples=dropped_train + dropped_val,
    )
    return prm, report
