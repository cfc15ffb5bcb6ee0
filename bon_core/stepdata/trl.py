"""TRL's stepwise-supervision format (what ``trl``'s PRM trainer reads): ``prompt`` (str), ``completions``
(list of step strings) and ``labels`` (one bool per step)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bon_core.stepdata.io import iter_rows, write_rows
from bon_core.stepdata.record import LabelledSolution, first_error_of, neutral_label


def read_trl(path: Path) -> list[LabelledSolution]:
    """Read TRL stepwise-supervision JSONL (labels true/false -> 1.0/0.0). ``final_correct`` is None."""
    records = []
    for line, row in iter_rows(path, ("prompt", "completions", "labels")):
        completions, raw_labels = row["completions"], row["labels"]
        if len(completions) != len(raw_labels):
            raise ValueError(f"{path}, line {line}: {len(completions)} completions but {len(raw_labels)} labels")
        if any(not isinstance(label, bool) for label in raw_labels):
            raise ValueError(f"{path}, line {line}: 'labels' must be booleans")
        labels = tuple(1.0 if label else 0.0 for label in raw_labels)
        records.append(
            LabelledSolution(
                problem=row["prompt"],
                steps=tuple(completions),
                labels=labels,
                first_error=first_error_of(labels),
                final_correct=None,
                source="trl",
                metadata={"path": str(path), "line": line},
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
