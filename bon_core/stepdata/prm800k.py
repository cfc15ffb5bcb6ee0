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

from bon_core.stepdata.io import iter_rows
from bon_core.stepdata.record import LabelledSolution, first_error_of, neutral_label

ANSWER_HEADING = "# Answer"


def _rating_label(rating: int | None, neutral: float | None, where: str) -> float | None:
    if rating == 1:
        return 1.0
    if rating == -1:
        return 0.0
    if rating == 0:
        return neutral
    raise ValueError(f"{where}: rating must be -1, 0 or 1, got {rating!r}")


def trajectory(row: dict[str, Any], neutral: str, where: str) -> tuple[list[str], list[float | None], list[int | None]]:
    """Steps, labels and raw ratings along the chosen path of one PRM800K row."""
    neutral_value = neutral_label(neutral)
    steps: list[str] = []
    labels: list[float | None] = []
    ratings: list[int | None] = []
    for number, step in enumerate(row["label"]["steps"]):
        completions = step.get("completions")
        chosen = step.get("chosen_completion")
        human = step.get("human_completion")
        if chosen is not None and completions:
            completion = completions[chosen]
            rating = completion["rating"]
            label = _rating_label(rating, neutral_value, f"{where}, step {number}")
        elif human is not None:
            completion, rating, label = human, None, 1.0
        elif completions:
            completion = next((c for c in completions if c.get("rating") == -1), completions[0])
            rating = completion["rating"]
            steps.append(completion["text"])
            labels.append(_rating_label(rating, neutral_value, f"{where}, step {number}"))
            ratings.append(rating)
            break
        else:
            break
        steps.append(completion["text"])
        labels.append(label)
        ratings.append(rating)
    return steps, labels, ratings


def read_prm800k(path: Path, neutral: str = "positive") -> list[LabelledSolution]:
    """Read a PRM800K JSONL file; ``neutral`` (``positive``/``negative``/``skip``) decides what 0-rated steps
    become. ``final_correct`` is the label of a last step that states the answer (``# Answer``), else None."""
    records = []
    for line, row in iter_rows(path, ("question", "label")):
        where = f"{path}, line {line}"
        if "problem" not in row["question"] or "steps" not in row["label"]:
            raise ValueError(f"{where}: missing required field 'question.problem' or 'label.steps'")
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
                    "path": str(path),
                    "line": line,
                    "ratings": tuple(ratings),
                    "finish_reason": row["label"].get("finish_reason"),
                    "ground_truth_answer": row["question"].get("ground_truth_answer"),
                },
            )
        )
    return records
