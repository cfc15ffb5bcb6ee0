"""PRMBench: a correct PRM800K solution (``original_process``) and a modified one (``modified_process``) with
1-based ``error_steps``; see PRMBench's ``docs/data_format.md``."""

from __future__ import annotations

from pathlib import Path

from bon_core.datafiles import DataFileError, DataSource, ListOf, Schema, as_source, read_rows
from bon_core.stepdata.io import row_metadata
from bon_core.stepdata.record import LabelledSolution, first_error_of

SCHEMA = Schema(
    {"modified_question": str, "modified_process": ListOf(str), "error_steps": ListOf(int),
     "original_question": str, "original_process": ListOf(str), "idx": (str, int)},
    {"classification": str, "reason": str},
)  # fmt: skip
INVALID_POLICIES = ("skip", "error")


def read_prmbench(
    path: DataSource | str | Path, include_original: bool = True, invalid: str = "skip"
) -> list[LabelledSolution]:
    """Read a PRMBench file or split (see :mod:`bon_core.datafiles`): per row the modified process (error steps
    labelled 0.0, the others 1.0) and, with ``include_original``, the original process as an all-correct example.

    Some published rows name error steps past the end of the modified process; ``invalid="skip"`` drops those
    modified records (their originals are kept), ``invalid="error"`` raises. ``final_correct`` is None: PRMBench
    labels steps, not answers.
    """
    if invalid not in INVALID_POLICIES:
        raise ValueError(f"unknown invalid policy {invalid!r}; known: {', '.join(INVALID_POLICIES)}")
    source = as_source(path)
    records = []
    for item in read_rows(source, SCHEMA):
        row, where = item.data, item.where
        steps = tuple(row["modified_process"])
        errors = row["error_steps"]
        common = {**row_metadata(item, source.label), "idx": row["idx"], "classification": row.get("classification")}
        if all(1 <= e <= len(steps) for e in errors):
            labels = tuple(0.0 if number in errors else 1.0 for number in range(1, len(steps) + 1))
            records.append(
                LabelledSolution(
                    problem=row["modified_question"],
                    steps=steps,
                    labels=labels,
                    first_error=first_error_of(labels),
                    final_correct=None,
                    source="prmbench",
                    metadata={
                        **common,
                        "variant": "modified",
                        "error_steps": tuple(errors),
                        "reason": row.get("reason"),
                    },
                )
            )
        elif invalid == "error":
            raise DataFileError(f"{where}: error_steps {errors} out of range for {len(steps)} modified steps")
        if include_original:
            original = tuple(row["original_process"])
            records.append(
                LabelledSolution(
                    problem=row["original_question"],
                    steps=original,
                    labels=(1.0,) * len(original),
                    first_error=-1,
                    final_correct=None,
                    source="prmbench",
                    metadata={**common, "variant": "original"},
                )
            )
    return records
