"""Training records for PRMs and ORMs: a problem, its steps and one label per step (``None`` = no label).

Converters take the step-label readers' ``LabelledSolution`` and our own labelled ``Candidate``s.

>>> ex = StepLabelledExample("2+3*4", ("3*4=12", "2+12=15"), (1.0, 0.0))
>>> to_orm_example(ex).labels
(None, 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bon_core.tasks.base import Task
from bon_core.types import Candidate, Problem

STEP_LABEL_VALUES: Mapping[str, float] = {"correct": 1.0, "incorrect": 0.0}


@dataclass(frozen=True)
class StepLabelledExample:
    """One training record: labels are P(step correct) in [0, 1] (hard 0/1 or soft), ``None`` where masked.
    ``final_correct`` is the final answer's correctness when known (the ORM's label)."""

    problem: str
    steps: tuple[str, ...]
    labels: tuple[float | None, ...]
    final_correct: bool | None = None

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a StepLabelledExample needs at least one step")
        if len(self.labels) != len(self.steps):
            raise ValueError(f"{len(self.steps)} steps but {len(self.labels)} labels; give one label per step")
        for label in self.labels:
            if label is not None and not 0.0 <= label <= 1.0:
                raise ValueError(f"step labels must be in [0, 1] or None, got {label!r}")

    @property
    def first_error(self) -> int:
        """Index of the first step labelled below 0.5, or -1."""
        return next((i for i, label in enumerate(self.labels) if label is not None and label < 0.5), -1)

    def outcome(self) -> bool:
        """``final_correct`` if known, else whether no labelled step is wrong."""
        return self.final_correct if self.final_correct is not None else self.first_error < 0


def mask_after_first_error(example: StepLabelledExample) -> StepLabelledExample:
    """Drop the labels of steps after the first wrong one (PRM800K style: later steps are not judged)."""
    first = example.first_error
    if first < 0:
        return example
    labels = tuple(label if i <= first else None for i, label in enumerate(example.labels))
    return StepLabelledExample(example.problem, example.steps, labels, example.final_correct)


def to_orm_example(example: StepLabelledExample) -> StepLabelledExample:
    """The ORM's view of a record: one label, the outcome, at the last step."""
    labels = (None,) * (len(example.steps) - 1) + (1.0 if example.outcome() else 0.0,)
    return StepLabelledExample(example.problem, example.steps, labels, example.final_correct)


def from_labelled_solution(solution: Any) -> StepLabelledExample:
    """Convert a step-label reader's ``LabelledSolution`` (``problem``, ``steps``, ``labels``, ``final_correct``)."""
    return StepLabelledExample(
        problem=solution.problem,
        steps=tuple(solution.steps),
        labels=tuple(None if label is None else float(label) for label in solution.labels),
        final_correct=getattr(solution, "final_correct", None),
    )


def from_candidate(problem: Problem, candidate: Candidate, neutral_label: float | None = None) -> StepLabelledExample:
    """Convert a candidate whose steps carry labels; ``neutral`` steps get ``neutral_label`` (``None`` masks them)
    and unlabelled steps are masked."""
    if not candidate.steps:
        raise ValueError(f"candidate {candidate.problem_id}#{candidate.sample_index} has no steps")
    labels = []
    for step in candidate.steps:
        if step.label == "neutral":
            labels.append(neutral_label)
        else:
            labels.append(STEP_LABEL_VALUES.get(step.label) if step.label is not None else None)
    return StepLabelledExample(
        problem=problem.question,
        steps=tuple(step.text for step in candidate.steps),
        labels=tuple(labels),
        final_correct=candidate.correct,
    )


def from_reference(problem: Problem, steps: Sequence[str]) -> StepLabelledExample:
    """A reference solution as language-model text for PRM training: its steps, no labels."""
    return StepLabelledExample(problem=problem.question, steps=tuple(steps), labels=(None,) * len(steps))


def reference_examples(task: Task, split: str, limit: int, seed: int = 0) -> list[StepLabelledExample]:
    """The reference solutions of ``limit`` problems of ``task``'s ``split``, split into steps, as unlabelled
    language-model text (``from_reference``)."""
    problems = [p for p in task.load(split, limit=limit, seed=seed) if p.solution]
    if not problems:
        raise ValueError(f"task {task.name!r} split {split!r} has no reference solutions to train a language model on")
    return [from_reference(p, [s.text for s in task.split_steps(p.solution)]) for p in problems]


def contrastive_examples(
    task: Task, split: str, limit: int, seed: int = 0, negatives_per_problem: int = 2
) -> list[StepLabelledExample]:
    """Hard negatives that share their context with a positive: for each of ``limit`` problems of ``task``'s
    ``split``, its reference solution (every step correct) and up to ``negatives_per_problem`` corrupted twins from
    ``task.corrupted_solutions``, every step labelled by the task's own checker (``label_steps``) and the outcome by
    ``grade``. A PRM trained on them learns from the step labels, an ORM (``to_orm_example``) from the outcomes of
    exactly the same texts."""
    import random

    corrupt = getattr(task, "corrupted_solutions", None)
    if corrupt is None or not hasattr(task, "label_steps"):
        raise ValueError(f"task {task.name!r} cannot make hard negatives: it has no exact step checker and corruptor")
    rng = random.Random(f"contrastive:{task.name}:{split}:{seed}")
    examples = []
    for problem in task.load(split, limit=limit, seed=seed):
        if not problem.solution:
            continue
        texts = ["\n".join(s.text for s in task.split_steps(problem.solution))]
        texts += ["\n".join(steps) for steps in corrupt(problem, negatives_per_problem, rng)]
        for text in texts:
            steps = task.label_steps(text, problem)
            labels = tuple(STEP_LABEL_VALUES[s.label] for s in steps)
            examples.append(
                StepLabelledExample(
                    problem.question, tuple(s.text for s in steps), labels, task.grade(text, problem).correct
                )
            )
    if not examples:
        raise ValueError(f"task {task.name!r} split {split!r} has no reference solutions to corrupt")
    return examples


def with_local_labels(examples: Sequence[StepLabelledExample], task: Task) -> list[StepLabelledExample]:
    """The same texts labelled step by step against the state the previous step wrote
    (``task.local_step_labels``) instead of by prefix: a verifier then learns what a step itself does."""
    local = getattr(task, "local_step_labels", None)
    if local is None:
        raise ValueError(f"task {task.name!r} has no local step checker; train on its prefix labels instead")
    return [
        StepLabelledExample(
            e.problem, e.steps, tuple(None if x is None else float(x) for x in local(e.problem, list(e.steps))),
            e.final_correct,
        )
        for e in examples
    ]  # fmt: skip
