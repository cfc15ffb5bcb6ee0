"""Reasoning tasks, registered by name.

>>> from bon_core.tasks import get_task
>>> task = get_task("arith")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bon_core.tasks.base import Grade, Task

TaskFactory = Callable[..., Task]


def _factories() -> dict[str, TaskFactory]:
    # Imported lazily so that importing bon_core.tasks loads no task module (and no data).
    from bon_core.tasks.arith import ArithTask
    from bon_core.tasks.gsm8k import GSM8KTask
    from bon_core.tasks.humaneval import HumanEvalTask
    from bon_core.tasks.math import MathTask

    return {"arith": ArithTask, "gsm8k": GSM8KTask, "math": MathTask, "humaneval": HumanEvalTask}


TASK_NAMES: tuple[str, ...] = ("arith", "gsm8k", "math", "humaneval")


def get_task(name: str, **options: Any) -> Task:
    """Return the task registered as ``name``; an unknown name fails listing the known ones."""
    if name not in TASK_NAMES:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASK_NAMES)}")
    return _factories()[name](**options)


__all__ = ["Grade", "Task", "TASK_NAMES", "get_task"]
