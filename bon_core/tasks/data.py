"""Where task data lives and how it is loaded: local files or Hub splits, read by :mod:`bon_core.datafiles` and
checked row by row (fields present and of the right JSON type) before any problem is built.

Local data sits under ``../shared/data/<task>`` relative to the working directory (the repository root), or
under ``$BON_DATA_DIR/<task>`` when that variable points at the ``data`` folder. The variable is read when a
task is constructed, never at import. Any file that cannot be read as the task expects raises
:class:`bon_core.datafiles.DataFileError` naming the file, the line or row, and what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bon_core.datafiles import DataFileError, DataSource, Row, Schema, read_rows

DATA_DIR_ENV = "BON_DATA_DIR"
DEFAULT_DATA_ROOT = Path("..") / "shared" / "data"


def resolve_data_dir(task_name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``task_name``'s files: ``data_dir`` if given, else ``$BON_DATA_DIR/<task>``, else
    ``../shared/data/<task>`` (relative to the current working directory)."""
    if data_dir is not None:
        return Path(data_dir)
    root = os.environ.get(DATA_DIR_ENV)
    return (Path(root) if root else DEFAULT_DATA_ROOT) / task_name


def split_file(data_dir: Path, split: str, files: dict[str, str], task_name: str) -> Path:
    """The file of ``split`` inside ``data_dir``; an unknown split fails listing the known ones."""
    if split not in files:
        raise ValueError(f"unknown split {split!r} for task {task_name}; known splits: {', '.join(files)}")
    return data_dir / files[split]


def load_task_rows(
    task: Any, split: str, limit: int | None, source: str, split_files: dict[str, str], schema: Schema,
    **hub_options: Any,
) -> list[Row]:  # fmt: skip
    """The first ``limit`` (all when None) checked rows of ``task``'s ``split``, from its local file
    (``source="local"``) or its Hub data set ``task.hub_name`` (``"hub"``; needs network or a warm cache)."""
    if source == "hub":
        return read_rows(DataSource("hub", task.hub_name, split, hub_options.get("config")), schema, limit)
    if source == "local":
        return read_rows(split_file(task.data_dir, split, split_files, task.name), schema, limit)
    raise ValueError(f"unknown source {source!r}; known: local, hub")


__all__ = ["DataFileError", "load_task_rows", "resolve_data_dir", "split_file"]
