"""TRL's stepwise-supervision format (what ``trl``'s PRM trainer reads): ``prompt`` (str), ``completions``
(list of step strings) and ``labels`` (one bool per step)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bon_core.datafiles import DataFileError, DataSource, ListOf, Schema, as_source, read_rows
from bon_core.stepdata.io import row_metadata, write_rows
from bon_core.stepdata.record import LabelledSolution, first_error_of, neutral_label

SCHEMA = Schema({"prompt": str, "completions": ListOf(str), "labels": ListOf(bool)})


def read_trl(path: DataSource | str | Path) -> list[LabelledSolution]:
    """Read TRL stepwise-supervision data (a file or split, see :mod:`bon_core.datafiles`; labels true/false ->
    1.0/0.0). ``final_correct`` is None."""
    source = as_source(path)
    records = []
    for item in read_rows(source, SCHEMA):
        row = item.data
        completions, raw_labels = row["completions"], row["labels"]
        if len(completions) != len(raw_labels):
            raise DataFileError(f"{item.where}: {len(completions)} completions but {len(raw_labels)} labels")
        labels = tuple(1.0 if label else 0.0 for label in raw_labels)
        records.append(
            LabelledSolution(
                problem=row["prompt"],
                steps=tuple(completions),
                labels=labels,
                first_error=first_error_of(labels),
                final_correct=None,
                source="trl",
                metadata=row_metadata(item, source.label),
            )
        )
    return records


def to_trl_rows(records: Iterable[LabelledSolution], unlabelled: str = "drop") -> list[dict[str, Any]]:
    """TRL rows for ``records``. TRL needs a boolean per step: unlabelled (None) steps are dropped together
    with everything after them (``unlabelled="drop"``), or become ``positive`` / ``negative``."""
    rows = []
    for record in records:
        steps, labels = list(record.steps), list(record.labels)
        if None in labels:
            if unlabelled == "drop":
                cut = labels.index(None)
                steps, labels = steps[:cut], labels[:cut]
            else:
                value = neutral_label(unlabelled)
                if value is None:
                    raise ValueError("unlabelled must be 'drop', 'positive' or 'negative'")
                labels = [value if label is None else label for label in labels]
        if steps:
            rows.append({"prompt": record.problem, "completions": steps, "labels": [label == 1.0 for label in labels]})
    return rows


def write_trl(records: Iterable[LabelledSolution], path: str | Path, unlabelled: str = "drop") -> int:
    """Write ``records`` as TRL stepwise-supervision JSONL; returns the number of rows written."""
    return write_rows(to_trl_rows(records, unlabelled), path)
