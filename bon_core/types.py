"""Plain, frozen dataclasses shared by every part of bon.

These are the contract between ``bon_core`` (pure logic), ``db/`` (which converts rows to and from them) and
``flows/`` (which wires the two). They hold data only; behaviour lives in the modules that use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

StepLabel = Literal["correct", "incorrect", "neutral"]
STEP_LABELS: tuple[str, ...] = ("correct", "incorrect", "neutral")

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class Problem:
    """One problem of a task.

    ``source_id`` is unique within ``task``. ``question`` is the raw problem text (the task formats it into a
    prompt); ``reference`` is the reference final answer in the task's canonical form; ``solution`` is a
    reference solution text where the source has one.
    """

    task: str
    source_id: str
    question: str
    reference: str
    solution: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One reasoning step of a candidate: its text and its character span ``[start, end)`` in the candidate."""

    index: int
    text: str
    start: int
    end: int
    label: StepLabel | None = None


@dataclass(frozen=True)
class Candidate:
    """One sampled solution to a problem.

    ``sample_index`` is the position in the problem's pool of N samples; with the sampling seed it fully
    determines the text, so an interrupted run can be resumed. ``answer``/``correct`` are filled by grading and
    ``steps`` by step splitting (and labelling, where the task can).
    """

    problem_id: str
    sample_index: int
    text: str
    num_tokens: int = 0
    sum_logprob: float | None = None
    mean_logprob: float | None = None
    finish_reason: FinishReason = "stop"
    answer: str | None = None
    correct: bool | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class GenerationConfig:
    """How candidates are sampled. Validated without I/O. Each field's ``help`` is its command-line help."""

    temperature: float = field(default=0.8, metadata={"help": "Sampling temperature (0 = greedy)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass."})
    top_k: int = field(default=0, metadata={"help": "Sample only from the k likeliest tokens (0 = all)."})
    max_new_tokens: int = field(default=256, metadata={"help": "Token budget per sample."})
    seed: int = field(default=0, metadata={"help": "Sampling seed (with the sample index it fixes each text)."})
    stop: tuple[str, ...] = field(default=(), metadata={"help": "Strings that end a sample."})
    do_sample: bool = field(default=True, metadata={"help": "Sample (off: greedy decoding)."})
    num_beams: int = field(default=1, metadata={"help": "Beams of beam search (1 = none)."})
    num_beam_groups: int = field(default=1, metadata={"help": "Groups of diverse beam search."})
    diversity_penalty: float = field(default=0.0, metadata={"help": "Penalty between beam groups."})
    batch_size: int = field(default=16, metadata={"help": "Sequences sampled together (prompts x n)."})

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.num_beam_groups > 1 and self.num_beams % self.num_beam_groups:
            raise ValueError("num_beams must be a multiple of num_beam_groups")


@dataclass(frozen=True)
class StepScores:
    """A scorer's per-step scores for one candidate (``len(scores) == len(candidate.steps)``)."""

    problem_id: str
    sample_index: int
    scores: tuple[float, ...]


@dataclass(frozen=True)
class ScorerInfo:
    """Identity of a scorer (PRM, ORM, ensemble, heuristic): enough to find the exact model again."""

    kind: str  # "prm" | "orm" | "ensemble" | "heuristic" | ...
    name: str
    version: str  # MLflow registry version, or "path@sha256" of a local model
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    """The outcome of a selection strategy on one problem's pool of candidates.

    ``scorer_calls``/``scorer_tokens``: candidates the scorer read, and their prompt + candidate tokens (see
    ``bon_core.select.scorer_input_tokens``); both 0 for a strategy that uses no scorer.
    """

    problem_id: str
    strategy: str
    params: Mapping[str, Any]
    n: int
    sample_index: int | None  # None when the pool is empty
    answer: str | None
    correct: bool | None
    candidates_used: int = 0
    tokens_used: int = 0
    scorer_calls: int = 0
    scorer_tokens: int = 0


@dataclass(frozen=True)
class MetricPoint:
    """One evaluation figure: ``metric`` at ``n`` with a 95% confidence interval.

    ``method`` says how ``value`` was computed (e.g. ``exact`` or ``Monte-Carlo, 200 random k-subsets per
    problem, SE 0.003``) and ``ci_method`` how the interval was (e.g. ``95% Clopper-Pearson ... over 300
    problems``); empty when not recorded (e.g. points read back from an older store).
    """

    metric: str
    n: int
    value: float
    ci_low: float
    ci_high: float
    strategy: str = ""
    scorer: str = ""
    aggregation: str = ""
    policy_tokens: float = 0.0
    scorer_tokens: float = 0.0
    method: str = ""
    ci_method: str = ""
