"""JSONL reading with row validation, and writing, for the step-data formats."""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any


def expand_paths(path_or_glob: str | Path) -> list[Path]:
    """Files named by ``path_or_glob`` (a file, a directory's ``*.jsonl`` or a glob), sorted; none is an error."""
    text = str(path_or_glob)
    if any(char in text for char in "*?["):
        paths = [Path(p) for p in sorted(glob.glob(text))]
    elif Path(text).is_dir():
        paths = sorted(Path(text).glob("*.jsonl"))
    else:
        paths = [Path(text)]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        raise ValueError(f"no data file matches {text}")
    return paths


def iter_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` for each JSON object in ``path`` (1-based lines, blank lines skipped).

    A line that is not a JSON object or lacks a ``required`` field raises ``ValueError`` naming the file, the
    line and the field.
    """
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {line_number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path}, line {line_number}: expected a JSON object")
            for name in required:
                if name not in row:
                    raise ValueError(f"{path}, line {line_number}: missing required field {name!r}")
            yield line_number, row


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` as JSONL (UTF-8, one object per line); returns the number written."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
