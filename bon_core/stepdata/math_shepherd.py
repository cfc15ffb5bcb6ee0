"""Math-Shepherd: ``input`` is the question followed by steps each ending in the tag ``ки``; ``label`` is the same
text with every tag replaced by ``+`` (the step can still reach the right answer) or ``-``."""

from __future__ import annotations

import re
from pathlib import Path

from bon_core.datafiles import DataFileError, DataSource, Schema, as_source, read_rows
from bon_core.stepdata.io import row_metadata
from bon_core.stepdata.record import LabelledSolution, first_error_of

STEP_TAG = "ки"
_STEP_PREFIX = re.compile(r"^\s*Step\s+\d+\s*:\s*")
_FIRST_STEP = re.compile(r"Step\s+1\s*:")
SCHEMA = Schema({"input": str, "label": str}, {"task": str})


def read_math_shepherd(path: DataSource | str | Path, strip_step_prefix: bool = True) -> list[LabelledSolution]:
    """Read a Math-Shepherd file or split (JSONL, JSON, parquet or a data set; see :mod:`bon_core.datafiles`).
    The problem is the text before ``Step 1:``; ``strip_step_prefix``
    removes the ``Step k:`` marker from each step. ``final_correct`` is the last step's label."""
    source = as_source(path)
    records = []
    for item in read_rows(source, SCHEMA):
        row, where = item.data, item.where
        source_text, label_text = row["input"], row["label"]
        tag_positions = [m.start() for m in re.finditer(STEP_TAG, source_text)]
        if not tag_positions:
            raise DataFileError(f"{where}: no step tag {STEP_TAG!r} in 'input'")
        first = _FIRST_STEP.search(source_text)
        body_start = first.start() if first else 0
        steps, labels = [], []
        previous_end = body_start
        for number, position in enumerate(tag_positions):
            # In 'label' each 2-character tag became a 1-character sign, so offsets shift by one per tag.
            sign = label_text[position - number] if position - number < len(label_text) else ""
            if sign not in ("+", "-"):
                raise DataFileError(f"{where}: step {number} has label {sign!r} in 'label', expected '+' or '-'")
            text = source_text[previous_end:position].strip()
            steps.append(_STEP_PREFIX.sub("", text) if strip_step_prefix else text)
            labels.append(1.0 if sign == "+" else 0.0)
            previous_end = position + len(STEP_TAG)
        records.append(
            LabelledSolution(
                problem=source_text[:body_start].strip(),
                steps=tuple(steps),
                labels=tuple(labels),
                first_error=first_error_of(labels),
                final_correct=labels[-1] == 1.0,
                source="math-shepherd",
                metadata={**row_metadata(item, source.label), "task": row.get("task")},
            )
        )
    return records
