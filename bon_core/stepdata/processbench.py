"""ProcessBench-style evaluation data: ``problem``, ``steps`` and ``label`` = 0-based index of the first wrong
step, or -1 when every step is correct (optionally ``final_answer_correct``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bon_core.stepdata.io import iter_rows, write_rows
from bon_core.stepdata.record import LabelledSolution


def read_processbench(path: Path) -> list[LabelledSolution]:
    """Read ProcessBench-style JSONL. Steps before ``label`` are correct (1.0), the step at ``label`` is wrong
    (0.0), later steps are unlabelled (None) — the format says nothing about them."""
    records = []
    for line, row in iter_rows(path, ("problem", "steps", "label")):
        steps, first_error = tuple(row["steps"]), row["label"]
        if not isinstance(first_error, int) or not -1 <= first_error < len(steps):
            raise ValueError(f"{path}, line {line}: label {first_error!r} is not -1 or a step index < {len(steps)}")
        if first_error == -1:
            labels: tuple[float | None, ...] = (1.0,) * len(steps)
        else:
            labels = (1.0,) * first_error + (0.0,) + (None,) * (len(steps) - first_error - 1)
        records.append(
            LabelledSolution(
                problem=row["problem"],
                steps=steps,
                labels=labels,
                first_error=first_error,
                final_correct=row.get("final_answer_correct"),
                source="processbench",
                metadata={"path": str(path), "line": line, "id": row.get("id")},
            )
        )
    return records


def write_processbench(records: Iterable[LabelledSolution], path: str | Path) -> int:
    """Write ``records`` as ProcessBench-style JSONL (``id``, ``problem``, ``steps``, ``label``,
    ``final_answer_correct``); returns the number of rows written."""
    rows = (
        {
            "id": str(record.metadata.get("id", index)),
            "problem": record.problem,
            "steps": list(record.steps),
            "label": record.first_error,
            "final_answer_correct": record.final_correct,
        }
        for index, record in enumerate(records)
    )
    return write_rows(rows, path)
