"""Where rows come from — JSON Lines, JSON arrays and parquet files, directories of them, data sets saved with
``datasets``' ``save_to_disk`` and Hugging Face Hub splits — and the one loader that reads any of them into
checked rows.

A data spec is a file, a directory, a glob, ``DIR@SPLIT[,SPLIT...]`` for a saved ``DatasetDict``, or
``hub:NAME[:CONFIG][@SPLIT[,SPLIT...]]`` for a Hub data set (every split when none is named; ``NAME`` may also be
a local directory laid out like a Hub repository). JSON and JSON Lines are parsed here, line by line, so that an
error names its line; parquet, saved data sets and Hub splits are read through ``datasets``.
"""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bon_core.datafiles.errors import DataFileError
from bon_core.datafiles.schema import Schema
from bon_core.datafiles.text import iter_json_rows

TEXT_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")
DATA_SUFFIXES = (*TEXT_SUFFIXES, ".parquet")
HUB_PREFIX = "hub:"


@dataclass(frozen=True)
class DataSource:
    """One table of rows: a ``file``, one split of a data set ``saved`` to disk, or one split of a ``hub`` data set."""

    kind: str
    location: str
    split: str | None = None
    config: str | None = None

    @property
    def name(self) -> str:
        """What the rows are grouped under: the split name, else the file name without its data suffix."""
        if self.split is not None:
            return self.split
        file_name = Path(self.location).name
        suffix = next((s for s in DATA_SUFFIXES if file_name.endswith(s)), "")
        return file_name[: len(file_name) - len(suffix)] if suffix else Path(self.location).stem

    @property
    def label(self) -> str:
        """How error messages name the source."""
        if self.kind == "file":
            return self.location
        prefix = HUB_PREFIX if self.kind == "hub" else ""
        config = f":{self.config}" if self.config else ""
        return f"{prefix}{self.location}{config}@{self.split}"


@dataclass(frozen=True)
class Row:
    """One checked row: where it is (for messages), its 1-based line in a JSON Lines file (else None), its 0-based
    position among the source's rows, and its fields."""

    where: str
    line: int | None
    index: int
    data: dict[str, Any]


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[Any]:
    import datasets  # heavy: imported on use
    from datasets.utils import logging as datasets_logging

    was_enabled = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()  # a progress bar per small file is noise in CLIs and logs
    try:
        yield datasets
    finally:
        if was_enabled:
            datasets_logging.enable_progress_bar()


def _datasets_error(label: str, exc: Exception) -> DataFileError:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return DataFileError(f"{label}: cannot be read with datasets ({type(exc).__name__}: {first_line})")


def _split_names(spec: str, text: str) -> list[str]:
    names = [s.strip() for s in text.split(",")]
    if not all(names):
        raise DataFileError(f"{spec}: empty split name")
    return names


def _hub_sources(spec: str) -> list[DataSource]:
    body, _, splits = spec[len(HUB_PREFIX) :].partition("@")
    name, _, config = body.partition(":")
    if not name:
        raise DataFileError(f"{spec}: no data set name after {HUB_PREFIX!r}")
    if splits:
        names = _split_names(spec, splits)
    else:
        with _quiet_datasets() as datasets:
            try:
                names = list(datasets.get_dataset_split_names(name, config or None))
            except Exception as exc:  # noqa: BLE001 - network, missing repo, bad layout: all mean "cannot read"
                raise _datasets_error(spec, exc) from exc
    return [DataSource("hub", name, split, config or None) for split in names]


def _saved_splits(directory: Path) -> list[str] | None:
    """The splits of a ``DatasetDict`` saved in ``directory``, [] for a saved single ``Dataset``, None otherwise."""
    if (directory / "dataset_dict.json").is_file():
        import json

        try:
            return list(json.loads((directory / "dataset_dict.json").read_text(encoding="utf-8"))["splits"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataFileError(f"{directory}/dataset_dict.json: not a saved DatasetDict ({exc})") from exc
    if (directory / "state.json").is_file() and (directory / "dataset_info.json").is_file():
        return []
    return None


def _directory_sources(directory: Path, splits: str | None, spec: str) -> list[DataSource]:
    saved = _saved_splits(directory)
    if saved is None:
        if splits is not None:
            raise DataFileError(f"{spec}: {directory} is not a data set saved with save_to_disk, so it has no splits")
        files = sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(DATA_SUFFIXES))
        return [DataSource("file", str(p)) for p in files]
    if not saved:
        if splits is not None:
            raise DataFileError(f"{spec}: {directory} holds one saved Dataset, not splits")
        return [DataSource("saved", str(directory))]
    names = _split_names(spec, splits) if splits is not None else saved
    unknown = [n for n in names if n not in saved]
    if unknown:
        raise DataFileError(f"{spec}: no split {unknown[0]!r} in {directory}; known splits: {', '.join(saved)}")
    return [DataSource("saved", str(directory), n) for n in names]


def expand_sources(spec: str | Path) -> list[DataSource]:
    """The sources a data spec names (see the module docstring), files sorted by name; none is an error."""
    text = str(spec)
    if text.startswith(HUB_PREFIX):
        return _hub_sources(text)
    head, at, splits = text.rpartition("@")
    if at and Path(head).is_dir():
        return _directory_sources(Path(head), splits, text)
    if any(char in text for char in "*?["):
        sources = []
        for match in sorted(glob.glob(text)):
            path = Path(match)
            if path.is_dir():
                sources += _directory_sources(path, None, text)
            elif path.is_file():
                sources.append(DataSource("file", match))
    elif Path(text).is_dir():
        sources = _directory_sources(Path(text), None, text)
    else:
        sources = [DataSource("file", text)] if Path(text).is_file() else []
    if not sources:
        raise DataFileError(f"no data file matches {text}")
    return sources


def _arrow_rows(source: DataSource) -> Iterator[tuple[int | None, dict[str, Any]]]:
    with _quiet_datasets() as datasets:
        try:
            if source.kind == "hub":
                table = datasets.load_dataset(source.location, source.config, split=source.split)
            elif source.kind == "saved":
                table = datasets.load_from_disk(source.location)
                if source.split is not None:
                    table = table[source.split]
            else:
                table = datasets.Dataset.from_parquet(source.location)
            rows = [dict(row) for row in table]
        except Exception as exc:  # noqa: BLE001 - whatever datasets/pyarrow raise, the file cannot be read
            raise _datasets_error(source.label, exc) from exc
    for row in rows:
        yield None, row


def _raw_rows(source: DataSource) -> Iterator[tuple[int | None, dict[str, Any]]]:
    if source.kind != "file":
        return _arrow_rows(source)
    if source.location.endswith(TEXT_SUFFIXES):
        return iter_json_rows(source.location)
    if source.location.endswith(".parquet"):
        if not Path(source.location).is_file():
            raise DataFileError(f"data file {source.location} does not exist")
        return _arrow_rows(source)
    raise DataFileError(f"{source.location}: unknown data file type; expected one of {', '.join(DATA_SUFFIXES)}")


def as_source(source: DataSource | str | Path) -> DataSource:
    """``source`` itself, or a path taken as a file."""
    return source if isinstance(source, DataSource) else DataSource("file", str(source))


def read_rows(source: DataSource | str | Path, schema: Schema = Schema(), limit: int | None = None) -> list[Row]:
    """Every row of ``source`` (a file path or a :class:`DataSource`), each checked against ``schema``; ``limit``
    keeps the first rows (the whole source is still checked). A source without rows, or any row that is not as
    ``schema`` says, raises :class:`DataFileError` naming the source and the line (JSON Lines) or row."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    source = as_source(source)
    rows = []
    for index, (line, data) in enumerate(_raw_rows(source)):
        where = f"{source.label}, line {line}" if line is not None else f"{source.label}, row {index + 1}"
        schema.check(data, where)
        rows.append(Row(where, line, index, data))
    if not rows:
        raise DataFileError(f"{source.label}: no rows (empty file or data set)")
    return rows if limit is None else rows[:limit]
