"""HumanEval: complete a Python function; a candidate is graded by running the task's tests in a sandbox.

Data: ``<data_dir>/HumanEval.jsonl.gz`` (fields ``task_id``, ``prompt``, ``canonical_solution``, ``test``,
``entry_point``), or the Hub dataset ``openai/openai_humaneval``. A candidate text is the *completion* of the
prompt (the function body); a completion that redefines the whole function also works, because the later
definition replaces the prompt's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from bon_core.datafiles import Schema
from bon_core.sandbox import SandboxLimits, SandboxResult, get_sandbox, run_many
from bon_core.steps import split_code_steps
from bon_core.tasks.base import Grade
from bon_core.tasks.data import load_task_rows, resolve_data_dir
from bon_core.types import Problem, Step

SPLIT_FILES = {"test": "HumanEval.jsonl.gz"}
SCHEMA = Schema(dict.fromkeys(("task_id", "prompt", "canonical_solution", "test", "entry_point"), str))
# Top-level code after the function is not part of the completion (models often add usage examples).
_STOP = re.compile(r"^(?:if __name__|print\(|assert |```)", re.MULTILINE)


def build_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """The program the sandbox runs: prompt + completion, the task's tests, and ``check(entry_point)``."""
    return f"{prompt}{completion}\n\n{test}\n\ncheck({entry_point})\n"


class HumanEvalTask:
    """HumanEval: sandboxed execution of the task's unit tests; no exact step checker."""

    name = "humaneval"
    description = "HumanEval Python function completion (graded by running unit tests in a sandbox)."

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        hub_name: str = "openai/openai_humaneval",
        sandbox: str = "subprocess",
        limits: SandboxLimits | None = None,
        step_mode: str = "statements",
        max_workers: int | None = None,
        sandbox_options: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir = resolve_data_dir(self.name, data_dir)
        self.hub_name = hub_name
        self.sandbox_name = sandbox
        self.sandbox_options = dict(sandbox_options or {})
        self.limits = limits or SandboxLimits()
        self.step_mode = step_mode
        self.max_workers = max_workers
        self._sandbox = None

    @property
    def sandbox(self):  # noqa: ANN201 - a Sandbox; created on first use (the Docker one pings its engine)
        """The sandbox that runs candidates (created on first use)."""
        if self._sandbox is None:
            self._sandbox = get_sandbox(self.sandbox_name, **self.sandbox_options)
        return self._sandbox

    def load(self, split: str = "test", limit: int | None = None, **options: Any) -> list[Problem]:
        """The 164 HumanEval problems; ``source="hub"`` loads ``hub_name`` instead of the local file."""
        source = options.get("source", "local")
        rows = [row.data for row in load_task_rows(self, split, limit, source, SPLIT_FILES, SCHEMA)]
        return [
            Problem(
                task=self.name,
                source_id=row["task_id"],
                question=row["prompt"],
                reference=row["canonical_solution"],
                solution=row["prompt"] + row["canonical_solution"],
                metadata={"test": row["test"], "entry_point": row["entry_point"]},
            )
            for row in rows
        ]

    def format_prompt(self, problem: Problem) -> str:
        """The prompt is the function header and docstring; the model continues it."""
        return problem.question

    def split_steps(self, text: str) -> list[Step]:
        """Logical blocks of the completion (top-level statements of the body by default, or lines)."""
        return split_code_steps(self.extract_answer(text) or "", self.step_mode)

    def extract_answer(self, text: str) -> str | None:
        """The completion up to the first top-level ``if __name__`` / ``print(`` / ``assert`` / code fence."""
        match = _STOP.search(text)
        code = text[: match.start()] if match else text
        return code if code.strip() else None

    def normalize_answer(self, answer: str | None) -> str | None:
        """Code with trailing spaces and blank lines removed (two completions equal up to layout vote together)."""
        if answer is None:
            return None
        lines = [line.rstrip() for line in answer.splitlines() if line.strip()]
        return "\n".join(lines) or None

    def answers_equal(self, a: str | None, b: str | None) -> bool:
        """Textual equality after :meth:`normalize_answer` (behavioural equality needs :meth:`grade`)."""
        na, nb = self.normalize_answer(a), self.normalize_answer(b)
        return na is not None and na == nb

    def program(self, text: str, problem: Problem) -> str:
        """The full test program for candidate ``text``."""
        meta = problem.metadata
        return build_program(problem.question, self.extract_answer(text) or "", meta["test"], meta["entry_point"])

    def run_tests(self, texts: Sequence[str], problems: Sequence[Problem]) -> list[SandboxResult]:
        """Run each candidate's tests in the sandbox, in parallel up to ``max_workers`` (default: core count)."""
        if len(texts) != len(problems):
            raise ValueError(f"got {len(texts)} candidate texts for {len(problems)} problems")
        programs = [self.program(text, problem) for text, problem in zip(texts, problems, strict=True)]
        return run_many(self.sandbox, programs, self.limits, self.max_workers)

    def grade_many(self, texts: Sequence[str], problems: Sequence[Problem]) -> list[Grade]:
        """Grade many candidates in parallel (see :meth:`run_tests`)."""
        results = self.run_tests(texts, problems)
        return [
            Grade(answer=self.extract_answer(text), correct=result.passed, detail=f"{result.status}: {result.detail}")
            for text, result in zip(texts, results, strict=True)
        ]

    def grade(self, text: str, problem: Problem) -> Grade:
        """Run the problem's tests on candidate ``text``; correct only if they all pass."""
        return self.grade_many([text], [problem])[0]

    def label_steps(self, text: str, problem: Problem) -> None:
        """HumanEval has no exact step checker."""
        return None
