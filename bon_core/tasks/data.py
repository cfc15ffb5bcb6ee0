"""Where task data lives and how it is loaded: local JSONL through ``datasets``, validated row by row.

Local data sits under ``../shared/data/<task>`` relative to the working directory (the repository root), or
under ``$BON_DATA_DIR/<task>`` when that variable points at the ``data`` folder. The variable is read when a
task is constructed, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bon_core.jsonl import iter_rows

DATA_DIR_ENV = "BON_DATA_DIR"
DEFAULT_DATA_ROOT = Path("..") / "shared" / "data"


def resolve_data_dir(task_name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``task_name``'s files: ``data_dir`` if given, else ``$BON_DATA_DIR/<task>``, else
    ``../shared/data/<task>`` (relative to the current working directory)."""
    if data_dir is not None:
        return Path(data_dir)
    root = os.environ.get(DATA_DIR_ENV)
    return (Path(root) if root else DEFAULT_DATA_ROOT) / task_name


def validate_jsonl(path: Path, required: Sequence[str]) -> int:
    """Check that ``path`` exists and every line is a JSON object holding every ``required`` field.

    Returns the number of rows. Raises ``ValueError`` naming the file, the 1-based line number and the missing
    field, so a broken file is found before ``datasets`` turns it into an opaque schema error.
    """
    if not path.is_file():
        raise ValueError(f"data file {path} does not exist")
    return sum(1 for _ in iter_rows(path, required, null_is_missing=True))


def load_jsonl_rows(path: Path, required: Sequence[str], limit: int | None = None) -> list[dict[str, Any]]:
    """Validate ``path`` (see :func:`validate_jsonl`), then load it with ``datasets.load_dataset("json")``.

    ``limit`` keeps the first rows only. Rows come back as plain dicts in file order.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    validate_jsonl(path, required)
    import datasets  # heavy: imported on use
    from datasets.utils import logging as datasets_logging

    was_enabled = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()  # a "Generating train split" bar per call is noise in CLIs and logs
    try:
        dataset = datasets.load_dataset("json", data_files=str(path), split="train")
    finally:
        if was_enabled:
            datasets_logging.enable_progress_bar()
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    return [dict(row) for row in dataset]


def load_hub_rows(
    hub_name: str, split: str, limit: int | None = None, config: str | None = None
) -> list[dict[str, Any]]:
    """Load ``split`` of a Hub dataset (needs network or a warm ``datasets`` cache)."""
    import datasets

    dataset = datasets.load_dataset(hub_name, config, split=split)
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    return [dict(row) for row in dataset]


def split_file(data_dir: Path, split: str, files: dict[str, str], task_name: str) -> Path:
    """The file of ``split`` inside ``data_dir``; an unknown split fails listing the known ones."""
    if split not in files:
        raise ValueError(f"unknown split {split!r} for task {task_name}; known splits: {', '.join(files)}")
    return data_dir / files[split]


def load_task_rows(
    task: Any, split: str, limit: int | None, source: str, split_files: Any, required: Sequence[str], **hub_options: Any
) -> list[dict[str, Any]]:
    """Rows of ``task``'s ``split`` from its local file (``source="local"``) or its Hub data set (``"hub"``)."""
    if source == "hub":
        return load_hub_rows(task.hub_name, split, limit, **hub_options)
    if source == "local":
        return load_jsonl_rows(split_file(task.data_dir, split, split_files, task.name), required, limit)
    raise ValueError(f"unknown source {source!r}; known: local, hub")
