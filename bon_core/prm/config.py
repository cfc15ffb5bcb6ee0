"""What a PRM is and how it is trained, as plain dataclasses: ``HeadConfig`` (the reward head), ``PRMSpec``
(everything about a PRM besides its weights, saved as ``bon_prm.json``) and ``PRMTrainConfig``. This module
imports no torch, so the command line can build its options from these fields' ``help`` metadata at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from bon_core.prm.encoding import StepFormat

HEAD_INPUTS = ("hidden", "likelihood", "hidden+likelihood")


@dataclass(frozen=True)
class HeadConfig:
    """Size of the reward head: ``Linear(hidden, hidden_dim) -> ReLU -> Dropout(dropout) -> Linear(hidden_dim, 1)``."""

    hidden_dim: int = 512  # the design document's width
    dropout: float = 0.1
    inputs: str = field(  # what the head reads; bon_core.prm.model's docstring has the details
        default="hidden",
        metadata={
            "help": "hidden: the head reads the base's hidden state at each step tag; likelihood: how likely the base, "
            "as a language model, finds each step and the steps before it (causal bases with tied embeddings); "
            "hidden+likelihood: the hidden state and the step's own likelihood."
        },
    )
    # hidden+likelihood: whether the labels' gradient reaches the base through the hidden state (False: the head
    # probes the base, which then learns only from the language-model loss)
    labels_train_base: bool = True

    def __post_init__(self) -> None:
        if self.inputs not in HEAD_INPUTS:
            raise ValueError(f"head inputs must be one of {', '.join(HEAD_INPUTS)}; got {self.inputs!r}")
        if self.hidden_dim < 1:
            raise ValueError(f"head hidden_dim must be >= 1, got {self.hidden_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"head dropout must be in [0, 1), got {self.dropout}")


FORMAT_VERSION = 1
# Every version-1 file before batch sizes were chosen by device holds this default; it reads as "by device".
_LEGACY_BATCH_TOKENS = 16384


@dataclass(frozen=True)
class PRMSpec:
    """Everything about a PRM besides its weights; saved as ``bon_prm.json``."""

    kind: Literal["prm", "orm"] = "prm"
    step_format: StepFormat = field(default_factory=StepFormat)
    head: HeadConfig = field(default_factory=HeadConfig)
    max_length: int = field(default=1024, metadata={"help": "Tokens per solution; longer problems are cut."})
    max_batch_tokens: int | None = None  # padded tokens per scoring forward; None: by device (``default_batch_tokens``)
    # "step": the head's P(step correct) at each tag; "prefix": the product of those up to each tag, P(every step so
    # far is correct) — for a PRM trained on local step labels (each step judged against the state before it), this
    # makes the score at a step the checker's prefix label and its last score a verdict on the whole solution.
    step_score: Literal["step", "prefix"] = "step"
    base_model_type: str = ""
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.kind not in ("prm", "orm"):
            raise ValueError(f"kind must be 'prm' or 'orm', got {self.kind!r}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {self.max_length}")
        if self.step_score not in ("step", "prefix"):
            raise ValueError(f"step_score must be 'step' or 'prefix', got {self.step_score!r}")
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens must be >= 1 or None, got {self.max_batch_tokens}")

    def to_json_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, data: Mapping) -> PRMSpec:
        data = dict(data)
        data["step_format"] = StepFormat(**data.get("step_format", {}))
        data["head"] = HeadConfig(**data.get("head", {}))
        if data.get("max_batch_tokens") == _LEGACY_BATCH_TOKENS:
            data["max_batch_tokens"] = None
        return cls(**data)


@dataclass(frozen=True)
class PRMTrainConfig:
    """How to train. Every field has a reason in its comment or its ``help`` (the command-line help)."""

    # orm: one outcome label at the last tag, same data and budget
    kind: Literal["prm", "orm"] = field(
        default="prm", metadata={"help": "prm (step labels) or orm (final-answer label only)."}
    )
    label_mode: Literal["hard", "soft"] = "hard"  # hard: labels >= 0.5 become 1, others 0
    mask_after_first_error: bool = field(
        default=True,
        metadata={"help": "Train only on steps up to the first wrong one (PRM800K); PRMBench labels every step."},
    )
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate (AdamW, linear decay)."})
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    batch_size: int = field(default=8, metadata={"help": "Solutions per optimizer step."})
    max_steps: int = field(default=300, metadata={"help": "Optimizer steps."})
    eval_steps: int = field(default=50, metadata={"help": "Steps between validation AUROC checks."})
    early_stopping_patience: int = 3  # evaluations without gain in ``select_metric`` before stopping
    # of the PROBLEMS, when no validation records are given (never split by record)
    val_fraction: float = field(default=0.1, metadata={"help": "Share of the records held out for validation."})
    # Which validation figure picks the checkpoint: "auroc" pools steps over problems and so also rewards knowing
    # which problems are hard; "best_at_n" is what the scorer is for (pick the best candidate of each validation
    # problem with the kind's aggregation: min for a PRM, last for an ORM) — it needs several records per problem.
    select_metric: Literal["auroc", "best_at_n"] = "auroc"
    seed: int = field(
        default=0, metadata={"help": "Seed of the validation split, the head's initialisation and shuffling."}
    )
    # much faster on CPU
    group_by_length: bool = field(default=False, metadata={"help": "Batch solutions of similar length (less padding)."})
    # a cheaper backward pass
    freeze_layers: int = field(default=0, metadata={"help": "Freeze embeddings + this many lowest layers."})
    # next-token loss on fully correct examples' steps (tied-embedding bases only)
    lm_loss_weight: float = field(
        default=0.0, metadata={"help": "Also train the base as a language model on fully correct solutions."}
    )
    output_dir: str | None = None  # checkpoints; a temporary folder when None
    # Continue from the newest checkpoint in ``output_dir`` when it was written by the same training (same config
    # and examples): a killed run picks up where it stopped. Checkpoints of a different training are removed.
    resume: bool = True
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
        if self.select_metric not in ("auroc", "best_at_n"):
            raise ValueError(f"select_metric must be 'auroc' or 'best_at_n', got {self.select_metric!r}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
