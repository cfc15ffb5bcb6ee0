"""Step-labelled data for PRM training and evaluation: readers and writers over one record,
:class:`LabelledSolution`, registered by format name.

Every reader takes JSON Lines, JSON arrays and parquet files, directories of them, data sets saved with
``save_to_disk`` (``DIR@SPLIT``) and Hub splits (``hub:NAME@SPLIT,SPLIT``); see :mod:`bon_core.datafiles`. A file
that is not as the format says raises :class:`bon_core.datafiles.DataFileError` naming the file and line or row.

>>> from bon_core.stepdata import read_labelled
>>> records = read_labelled("prmbench:../shared/data/prmbench/prm800k_test_p1_*.jsonl")  # doctest: +SKIP
>>> subsets = read_labelled_sources("processbench:hub:Qwen/ProcessBench@gsm8k,math")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bon_core.datafiles import DataSource, expand_sources
from bon_core.stepdata.math_shepherd import read_math_shepherd
from bon_core.stepdata.prm800k import read_prm800k
from bon_core.stepdata.prmbench import read_prmbench
from bon_core.stepdata.processbench import read_processbench, write_processbench
from bon_core.stepdata.record import LabelledSolution, first_error_of
from bon_core.stepdata.subsets import count_kinds, read_subsets, stratified_subset
from bon_core.stepdata.trl import read_trl, to_trl_rows, write_trl

READERS: dict[str, Callable[..., list[LabelledSolution]]] = {
    "prm800k": read_prm800k,
    "math-shepherd": read_math_shepherd,
    "prmbench": read_prmbench,
    "trl": read_trl,
    "processbench": read_processbench,
}
WRITERS: dict[str, Callable[..., int]] = {"trl": write_trl, "processbench": write_processbench}


def parse_spec(path_or_spec: str | Path, format: str | None = None) -> tuple[str, str]:
    """Split ``"format:path"`` into ``(format, path)``; an explicit ``format`` wins over a prefix."""
    text = str(path_or_spec)
    prefix, sep, rest = text.partition(":")
    if sep and prefix in READERS:
        if format is not None and format != prefix:
            raise ValueError(f"format {format!r} given but the spec {text!r} says {prefix!r}")
        return prefix, rest
    if format is None:
        raise ValueError(f"no format for {text!r}: pass format= or write 'FORMAT:PATH'; known: {', '.join(READERS)}")
    return format, text


def read_labelled_sources(
    path_or_spec: str | Path, format: str | None = None, **options: Any
) -> list[tuple[DataSource, list[LabelledSolution]]]:
    """Each source (file or split) a spec names, with its records: what evaluation groups by (a ProcessBench subset
    is one file or one split). ``options`` go to the format's reader."""
    name, path = parse_spec(path_or_spec, format)
    if name not in READERS:
        raise ValueError(f"unknown step-data format {name!r}; known: {', '.join(READERS)}")
    return [(source, READERS[name](source, **options)) for source in expand_sources(path)]


def read_labelled(path_or_spec: str | Path, format: str | None = None, **options: Any) -> list[LabelledSolution]:
    """Read step-labelled data from a file, directory, glob or split, e.g. ``read_labelled("prmbench:/data/p*.jsonl")``
    or ``read_labelled(path, format="prm800k", neutral="skip")``. ``options`` go to the format's reader."""
    return [record for _, records in read_labelled_sources(path_or_spec, format, **options) for record in records]


def write_labelled(records: Iterable[LabelledSolution], path: str | Path, format: str, **options: Any) -> int:
    """Write ``records`` to ``path`` in ``format`` (``trl`` or ``processbench``); returns the rows written."""
    if format not in WRITERS:
        raise ValueError(f"no writer for format {format!r}; known: {', '.join(WRITERS)}")
    return WRITERS[format](records, Path(path), **options)


__all__ = [
    "LabelledSolution",
    "READERS",
    "count_kinds",
    "WRITERS",
    "first_error_of",
    "parse_spec",
    "read_labelled",
    "read_labelled_sources",
    "read_subsets",
    "stratified_subset",
    "to_trl_rows",
    "write_labelled",
]
