"""Writing step data as JSON Lines (reading goes through :mod:`bon_core.datafiles`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bon_core.datafiles import Row


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``rows`` as JSONL (UTF-8, one object per line); returns the number written."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def row_metadata(row: Row, source_label: str) -> dict[str, Any]:
    """Where a record came from: ``path`` (the source), ``line`` (JSON Lines, else None) and ``row`` (0-based)."""
    return {"path": source_label, "line": row.line, "row": row.index}
