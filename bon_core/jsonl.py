"""Reading JSON Lines files with errors that name the file, the line and the field."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def iter_rows(
    path: str | Path, required: Sequence[str] = (), *, null_is_missing: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` for each JSON object in ``path`` (``.gz`` too; 1-based lines, blank lines
    skipped).

    A line that is not a JSON object, or lacks a ``required`` field (or holds ``null`` there, with
    ``null_is_missing``), raises ``ValueError`` naming the file, the line and the field.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {line_number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path}, line {line_number}: expected a JSON object, got {type(row).__name__}")
            for name in required:
                if name not in row or (null_is_missing and row[name] is None):
                    raise ValueError(f"{path}, line {line_number}: missing required field {name!r}")
            yield line_number, row
