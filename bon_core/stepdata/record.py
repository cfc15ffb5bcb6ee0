"""The one internal record every step-labelled data format is read into and written from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NEUTRAL_POLICIES: tuple[str, ...] = ("positive", "negative", "skip")


@dataclass(frozen=True)
class LabelledSolution:
    """A solution split into steps with one label per step.

    ``labels[i]`` is 1.0 (step correct), 0.0 (step incorrect) or ``None`` (unlabelled: a neutral step under
    the ``skip`` policy, or a step after the first error in ProcessBench-style data). ``first_error`` is the
    0-based index of the first 0.0 label, -1 if there is none (ProcessBench convention). ``final_correct`` says
    whether the final answer is right, ``None`` where the source does not say.
    """

    problem: str
    steps: tuple[str, ...]
    labels: tuple[float | None, ...]
    first_error: int
    final_correct: bool | None
    source: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.steps) != len(self.labels):
            raise ValueError(f"{self.source}: {len(self.steps)} steps but {len(self.labels)} labels")
        bad = [label for label in self.labels if label not in (0.0, 1.0, None)]
        if bad:
            raise ValueError(f"{self.source}: step labels must be 1.0, 0.0 or None, got {bad[0]!r}")
        if not -1 <= self.first_error < max(len(self.steps), 1) or (self.first_error >= 0 and not self.steps):
            raise ValueError(f"{self.source}: first_error {self.first_error} out of range for {len(self.steps)} steps")


def first_error_of(labels: Sequence[float | None]) -> int:
    """0-based index of the first 0.0 label, or -1."""
    return next((index for index, label in enumerate(labels) if label == 0.0), -1)


def neutral_label(policy: str) -> float | None:
    """The label a neutral (0-rated) step gets under ``policy`` (``positive`` / ``negative`` / ``skip``)."""
    if policy == "positive":
        return 1.0
    if policy == "negative":
        return 0.0
    if policy == "skip":
        return None
    raise ValueError(f"unknown neutral policy {policy!r}; known: {', '.join(NEUTRAL_POLICIES)}")
