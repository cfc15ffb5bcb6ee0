"""MATH-500: competition problems whose answer is the last ``\\boxed{...}``; equivalence by ``math-verify``.

Data: ``<data_dir>/test.jsonl`` with fields ``problem``, ``solution``, ``answer`` (and ``subject``, ``level``,
``unique_id``), i.e. the PRM800K ``math_splits/test.jsonl`` file, or the Hub dataset ``HuggingFaceH4/MATH-500``.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from bon_core.datafiles import Schema
from bon_core.steps import make_splitter
from bon_core.tasks.base import Grade
from bon_core.tasks.data import load_task_rows, resolve_data_dir
from bon_core.types import Problem, Step

DEFAULT_PROMPT = (
    "Solve the problem step by step, separating steps by a blank line. "
    "Put the final answer in \\boxed{{}}.\n\nProblem: {question}\nSolution:"
)
SPLIT_FILES = {"test": "test.jsonl"}
SCHEMA = Schema(
    {"problem": str, "answer": str},
    {"solution": str, "subject": str, "level": (int, str), "unique_id": str},
)

_BOX_COMMANDS = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_HEADING = re.compile(r"#\s*Answer\s*\n+\s*(.+?)\s*$", re.DOTALL)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox``) in ``text``, nested braces included.

    ``\\boxed 5`` (no braces) gives ``"5"``. An unclosed box gives ``None``.
    """
    matches = list(_BOX_COMMANDS.finditer(text))
    for match in reversed(matches):
        position = match.end()
        if position < len(text) and text[position] != "{":
            token = re.match(r"[^\s$]+", text[position:])
            if token:
                return token.group(0)
            continue
        depth = 0
        for index in range(position, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    return text[position + 1 : index].strip()
    return None


def _strip_latex(answer: str) -> str:
    """A plain-string fallback normalisation for answers math-verify cannot parse."""
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", answer)
    text = re.sub(r"\\(?:left|right|displaystyle|,|;|!)", "", text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("$", "")
    return re.sub(r"\s+", "", text).rstrip(".").lower()


class MathTask:
    """MATH-500: boxed answers, compared with math-verify (sympy) and a string fallback."""

    name = "math"
    description = "MATH-500 competition problems (answer in \\boxed{}, checked with math-verify)."

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        hub_name: str = "HuggingFaceH4/MATH-500",
        step_separator: str = "blank_line",
        prompt_template: str = DEFAULT_PROMPT,
    ) -> None:
        self.data_dir = resolve_data_dir("math500", data_dir)
        self.hub_name = hub_name
        self.prompt_template = prompt_template
        self._split = make_splitter(step_separator)

    def load(self, split: str = "test", limit: int | None = None, **options: Any) -> list[Problem]:
        """The MATH-500 problems; ``source="hub"`` loads ``hub_name`` instead of the local file."""
        source = options.get("source", "local")
        rows = load_task_rows(self, split, limit, source, SPLIT_FILES, SCHEMA)
        return [
            Problem(
                task=self.name,
                source_id=row.data.get("unique_id") or f"{split}-{row.index}",
                question=row.data["problem"],
                reference=row.data["answer"],
                solution=row.data.get("solution"),
                metadata={"subject": row.data.get("subject"), "level": row.data.get("level"), "split": split},
            )
            for row in rows
        ]

    def format_prompt(self, problem: Problem) -> str:
        """The prompt for ``problem`` (the template's ``{question}`` filled in)."""
        return self.prompt_template.format(question=problem.question)

    def split_steps(self, text: str) -> list[Step]:
        """Steps of a candidate (paragraphs by default)."""
        return self._split(text)

    def extract_answer(self, text: str) -> str | None:
        """The last ``\\boxed{...}``; else the text under a PRM800K-style ``# Answer`` heading; else ``None``."""
        boxed = last_boxed(text)
        if boxed is not None:
            return boxed
        heading = _ANSWER_HEADING.search(text)
        return heading.group(1) if heading else None

    def normalize_answer(self, answer: str | None) -> str | None:
        """A canonical key for majority voting: the sympy form math-verify parses, else a stripped string."""
        if answer is None:
            return None
        parsed = self._parse(answer)
        return str(parsed[0]) if parsed else _strip_latex(answer)

    def _parse(self, answer: str) -> list[Any]:
        from math_verify import parse

        # math-verify's timeouts use SIGALRM, which only works in the main thread.
        timeout = 5 if threading.current_thread() is threading.main_thread() else None
        return parse(f"${answer}$", parsing_timeout=timeout)

    def answers_equal(self, a: str | None, b: str | None) -> bool:
        """Mathematical equivalence via math-verify (fractions, radicals, intervals, tuples ...), with a
        normalised string comparison for answers it cannot parse."""
        if a is None or b is None:
            return False
        from math_verify import verify

        parsed_a, parsed_b = self._parse(a), self._parse(b)
        if parsed_a and parsed_b:
            timeout = 5 if threading.current_thread() is threading.main_thread() else None
            if verify(parsed_a, parsed_b, timeout_seconds=timeout):
                return True
        return _strip_latex(a) == _strip_latex(b)

    def grade(self, text: str, problem: Problem) -> Grade:
        """Extract the boxed answer of ``text`` and compare it with the reference."""
        answer = self.extract_answer(text)
        if answer is None:
            return Grade(answer=None, correct=False, detail="no answer found")
        correct = self.answers_equal(problem.reference, answer)
        return Grade(answer=answer, correct=correct, detail="correct" if correct else f"expected {problem.reference}")

    def label_steps(self, text: str, problem: Problem) -> None:
        """MATH has no exact step checker."""
        return None
