"""ProcessBench-style evaluation data: ``problem``, ``steps`` and ``label`` = 0-based index of the first wrong
step, or -1 when every step is correct (optionally ``id``, ``generator``, ``final_answer_correct``).

As published, ProcessBench is one JSON array per subset (``gsm8k.json``, ``math.json``, ``olympiadbench.json``,
``omnimath.json``) and the Hub data set ``Qwen/ProcessBench`` with one split per subset; JSON Lines and parquet
work too (see :mod:`bon_core.datafiles`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bon_core.datafiles import DataFileError, DataSource, ListOf, Schema, as_source, read_rows
from bon_core.stepdata.io import row_metadata, write_rows
from bon_core.stepdata.record import LabelledSolution

SCHEMA = Schema(
    {"problem": str, "steps": ListOf(str), "label": int},
    {"id": (str, int), "generator": str, "final_answer_correct": bool},
)


def read_processbench(path: DataSource | str | Path) -> list[LabelledSolution]:
    """Read ProcessBench-style rows from a file or split. Steps before ``label`` are correct (1.0), the step at
    ``label`` is wrong (0.0), later steps are unlabelled (None) — the format says nothing about them."""
    source = as_source(path)
    records = []
    for item in read_rows(source, SCHEMA):
        row = item.data
        steps, first_error = tuple(row["steps"]), row["label"]
        if not -1 <= first_error < len(steps):
            raise DataFileError(f"{item.where}: label {first_error!r} is not -1 or a step index < {len(steps)}")
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
                metadata={**row_metadata(item, source.label), "id": row.get("id"), "generator": row.get("generator")},
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
