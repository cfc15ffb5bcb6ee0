"""GSM8K: grade-school word problems whose answer is one number, written after ``####`` in the reference.

Data: ``<data_dir>/{train,test}.jsonl`` with fields ``question`` and ``answer`` (the official OpenAI files), or
the Hub dataset ``openai/gsm8k`` (config ``main``) with ``load(..., source="hub")``.
"""

from __future__ import annotations

import os
import re
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import Any

from bon_core.datafiles import DataFileError, Row, Schema
from bon_core.steps import make_splitter
from bon_core.tasks.base import Grade
from bon_core.tasks.data import load_task_rows, resolve_data_dir
from bon_core.types import Problem, Step

DEFAULT_PROMPT = (
    "Solve the math word problem step by step, one step per line. "
    "End with a line '#### <number>' giving the final answer.\n\nQuestion: {question}\nAnswer:"
)
SPLIT_FILES = {"train": "train.jsonl", "test": "test.jsonl"}
SCHEMA = Schema({"question": str, "answer": str})

_NUMBER = r"-?\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\$?\s*\.\d+"
_HASH_ANSWER = re.compile(r"####\s*(" + _NUMBER + ")")
_THE_ANSWER_IS = re.compile(r"[Tt]he (?:final )?answer is:?\s*(" + _NUMBER + ")")
_ANY_NUMBER = re.compile(_NUMBER)


def normalize_number(text: str | None) -> str | None:
    """Canonical form of a numeric answer: no ``$``, commas or spaces, no trailing zeros (``"1,000.0"`` -> ``"1000"``).

    Returns ``None`` for ``None`` or text that is not a number.
    """
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").replace("$", "").replace(" ", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if abs(value.adjusted()) > 1000:  # e.g. "1e5000": too long to write out (or to convert with int())
        exact = Context(prec=max(28, len(value.as_tuple().digits)), Emax=MAX_EMAX, Emin=MIN_EMIN)
        return str(value.normalize(exact))
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


class GSM8KTask:
    """The GSM8K benchmark: numeric answers compared after normalisation; no exact step checker."""

    name = "gsm8k"
    description = "GSM8K grade-school math word problems (numeric answer after '####')."

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        hub_name: str = "openai/gsm8k",
        step_separator: str = "newline",
        prompt_template: str = DEFAULT_PROMPT,
    ) -> None:
        self.data_dir = resolve_data_dir(self.name, data_dir)
        self.hub_name = hub_name
        self.prompt_template = prompt_template
        self._split = make_splitter(step_separator)

    def load(self, split: str = "test", limit: int | None = None, **options: Any) -> list[Problem]:
        """Problems of ``split`` (``train``/``test``); ``source="hub"`` loads ``hub_name`` instead of local files."""
        source = options.get("source", "local")
        rows = load_task_rows(self, split, limit, source, SPLIT_FILES, SCHEMA, config="main")
        return [self._problem(row, split) for row in rows]

    def _problem(self, row: Row, split: str) -> Problem:
        reference = self.extract_answer(row.data["answer"])
        if reference is None:
            raise DataFileError(f"{row.where}: no number in field 'answer' (expected '#### <number>')")
        return Problem(
            task=self.name,
            source_id=f"{split}-{row.index}",
            question=row.data["question"],
            reference=reference,
            solution=row.data["answer"],
            metadata={"split": split},
        )

    def format_prompt(self, problem: Problem) -> str:
        """The prompt for ``problem`` (the template's ``{question}`` filled in)."""
        return self.prompt_template.format(question=problem.question)

    def split_steps(self, text: str) -> list[Step]:
        """Steps of a candidate (one per line by default)."""
        return self._split(text)

    def extract_answer(self, text: str) -> str | None:
        """The final number: after ``####``, else after "The answer is", else the last number in the text."""
        for pattern in (_HASH_ANSWER, _THE_ANSWER_IS):
            matches = pattern.findall(text)
            if matches:
                return normalize_number(matches[-1])
        numbers = _ANY_NUMBER.findall(text)
        return normalize_number(numbers[-1]) if numbers else None

    def normalize_answer(self, answer: str | None) -> str | None:
        """Canonical numeric string (used to group answers for majority voting)."""
        return normalize_number(answer)

    def answers_equal(self, a: str | None, b: str | None) -> bool:
        """Numeric equality, tolerant to commas, ``$`` and trailing ``.0``."""
        na, nb = normalize_number(a), normalize_number(b)
        return na is not None and na == nb

    def grade(self, text: str, problem: Problem) -> Grade:
        """Extract the answer of ``text`` and compare it with the reference."""
        answer = self.extract_answer(text)
        if answer is None:
            return Grade(answer=None, correct=False, detail="no answer found")
        correct = self.answers_equal(answer, problem.reference)
        return Grade(answer=answer, correct=correct, detail="correct" if correct else f"expected {problem.reference}")

    def label_steps(self, text: str, problem: Problem) -> None:
        """GSM8K has no exact step checker."""
        return None
