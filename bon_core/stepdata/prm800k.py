"""PRM800K (OpenAI, raw phase-1/phase-2 labelling format): one record per labelled trajectory.

Each line holds ``question.problem`` and ``label.steps``; every step lists rated ``completions`` (rating +1 good,
0 neutral, -1 bad), the ``chosen_completion`` the labeller continued with, or a ``human_completion`` written
instead. The trajectory we read follows the chosen completions; a human completion counts as correct (1.0);
a step with neither ends the trajectory with its first (-1 rated, if any) completion — that is where the labeller
found the error (phase 2 ``found_error``) — and a step without completions ends it silently (``give_up``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bon_core.datafiles import DataFileError, DataSource, Schema, as_source, read_rows
from bon_core.datafiles.schema import has_kind, shown
from bon_core.stepdata.io import row_metadata
from bon_core.stepdata.record import LabelledSolution, first_error_of, neutral_label

ANSWER_HEADING = "# Answer"
SCHEMA = Schema({"question": dict, "label": dict})


def _check(value: Any, kind: Any, where: str, what: str) -> Any:
    if not has_kind(value, kind):
        raise DataFileError(f"{where}: {what} has the wrong type, got {shown(value)}")
    return value


def _rating_label(rating: int | None, neutral: float | None, where: str) -> float | None:
    if rating is True or rating is False or rating not in (-1, 0, 1):
        raise DataFileError(f"{where}: rating must be -1, 0 or 1, got {rating!r}")
    return {1: 1.0, -1: 0.0, 0: neutral}[rating]


def trajectory(row: dict[str, Any], neutral: str, where: str) -> tuple[list[str], list[float | None], list[int | None]]:
    """Steps, labels and raw ratings along the chosen path of one PRM800K row."""
    neutral_value = neutral_label(neutral)
    steps: list[str] = []
    labels: list[float | None] = []
    ratings: list[int | None] = []
    for number, step in enumerate(_check(row["label"]["steps"], list, where, "'label.steps'")):
        at = f"{where}, step {number}"
        _check(step, dict, at, "the step")
        completions = _check(step.get("completions") or [], list, at, "'completions'")
        for completion in completions:
            _check(completion, dict, at, "a completion")
            _check(completion.get("text"), str, at, "a completion's 'text'")
        chosen = step.get("chosen_completion")
        human = step.get("human_completion")
        if human is not None:
            _check(human, dict, at, "'human_completion'")
            _check(human.get("text"), str, at, "'human_completion.text'")
        if chosen is not None and completions:
            if not has_kind(chosen, int) or not 0 <= chosen < len(completions):
                raise DataFileError(f"{at}: chosen_completion {chosen!r} is not an index of its completions")
            completion = completions[chosen]
            rating = completion.get("rating")
            label = _rating_label(rating, neutral_value, at)
        elif human is not None:
            completion, rating, label = human, None, 1.0
        elif completions:
            completion = next((c for c in completions if c.get("rating") == -1), completions[0])
            rating = completion.get("rating")
            steps.append(completion["text"])
            labels.append(_rating_label(rating, neutral_value, at))
            ratings.append(rating)
            break
        else:
            break
        steps.append(completion["text"])
        labels.append(label)
        ratings.append(rating)
    return steps, labels, ratings


def read_prm800k(path: DataSource | str | Path, neutral: str = "positive") -> list[LabelledSolution]:
    """Read a PRM800K file or split (see :mod:`bon_core.datafiles`); ``neutral`` (``positive``/``negative``/``skip``)
    decides what 0-rated steps become. ``final_correct`` is the label of a last step that states the answer
    (``# Answer``), else None."""
    source = as_source(path)
    records = []
    for item in read_rows(source, SCHEMA):
        row, where = item.data, item.where
        if row["question"].get("problem") is None or row["label"].get("steps") is None:
            raise DataFileError(f"{where}: missing required field 'question.problem' or 'label.steps'")
        _check(row["question"]["problem"], str, where, "'question.problem'")
        steps, labels, ratings = trajectory(row, neutral, where)
        final_correct = None
        if steps and ANSWER_HEADING in steps[-1] and labels[-1] is not None:
            final_correct = labels[-1] == 1.0
        records.append(
            LabelledSolution(
                problem=row["question"]["problem"],
                steps=tuple(steps),
                labels=tuple(labels),
                first_error=first_error_of(labels),
                final_correct=final_correct,
                source="prm800k",
                metadata={
                    **row_metadata(item, source.label),
                    "ratings": tuple(ratings),
                    "finish_reason": row["label"].get("finish_reason"),
                    "ground_truth_answer": row["question"].get("ground_truth_answer"),
                },
            )
        )
    return records
