"""The task interface: load problems, format prompts, split steps, extract and grade answers, label steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bon_core.types import Problem, Step


@dataclass(frozen=True)
class Grade:
    """The result of grading one candidate text against a problem."""

    answer: str | None
    correct: bool
    detail: str = ""  # e.g. "passed", "failed: AssertionError", "timed out after 5.0s"


@runtime_checkable
class Task(Protocol):
    """What every task offers. ``label_steps`` returns ``None`` where the task has no exact step checker."""

    name: str

    def load(self, split: str = "test", limit: int | None = None, **options: Any) -> list[Problem]: ...

    def format_prompt(self, problem: Problem) -> str: ...

    def split_steps(self, text: str) -> list[Step]: ...

    def extract_answer(self, text: str) -> str | None: ...

    def grade(self, text: str, problem: Problem) -> Grade: ...

    def answers_equal(self, a: str | None, b: str | None) -> bool: ...

    def normalize_answer(self, answer: str | None) -> str | None: ...

    def label_steps(self, text: str, problem: Problem) -> Sequence[Step] | None: ...
