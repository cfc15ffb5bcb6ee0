"""JSONL reading with row validation, and writing, for the step-data formats."""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bon_core.jsonl import iter_rows  # noqa: F401  (re-exported: the readers' row iterator)


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


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` as JSONL (UTF-8, one object per line); returns the number written."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
