"""PRMBench: a correct PRM800K solution (``original_process``) and a modified one (``modified_process``) with
1-based ``error_steps``; see PRMBench's ``docs/data_format.md``."""

from __future__ import annotations

from pathlib import Path

from bon_core.stepdata.io import iter_rows
from bon_core.stepdata.record import LabelledSolution, first_error_of

REQUIRED = ("modified_question", "modified_process", "error_steps", "original_question", "original_process", "idx")
INVALID_POLICIES = ("skip", "error")


def read_prmbench(path: Path, include_original: bool = True, invalid: str = "skip") -> list[LabelledSolution]:
    """Read a PRMBench JSONL file: per row the modified process (error steps labelled 0.0, the others 1.0) and,
    with ``include_original``, the original process as an all-correct example.

    Some published rows name error steps past the end of the modified process; ``invalid="skip"`` drops those
    modified records (their originals are kept), ``invalid="error"`` raises. ``final_correct`` is None: PRMBench
    labels steps, not answers.
    """
    if invalid not in INVALID_POLICIES:
        raise ValueError(f"unknown invalid policy {invalid!r}; known: {', '.join(INVALID_POLICIES)}")
    records = []
    for line, row in iter_rows(path, REQUIRED):
        where = f"{path}, line {line}"
        steps = tuple(row["modified_process"])
        errors = row["error_steps"]
        common = {"path": str(path), "line": line, "idx": row["idx"], "classification": row.get("classification")}
        if all(isinstance(e, int) and 1 <= e <= len(steps) for e in errors):
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
            raise ValueError(f"{where}: error_steps {errors} out of range for {len(steps)} modified steps")
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
