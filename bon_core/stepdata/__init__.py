"""Step-labelled data for PRM training and evaluation: readers and writers over one record,
:class:`LabelledSolution`, registered by format name.

>>> from bon_core.stepdata import read_labelled
>>> records = read_labelled("prmbench:../shared/data/prmbench/prm800k_test_p1_*.jsonl")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bon_core.stepdata.io import expand_paths
from bon_core.stepdata.math_shepherd import read_math_shepherd
from bon_core.stepdata.prm800k import read_prm800k
from bon_core.stepdata.prmbench import read_prmbench
from bon_core.stepdata.processbench import read_processbench, write_processbench
from bon_core.stepdata.record import LabelledSolution, first_error_of
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


def read_labelled(path_or_spec: str | Path, format: str | None = None, **options: Any) -> list[LabelledSolution]:
    """Read step-labelled data from a file, directory or glob, e.g. ``read_labelled("prmbench:/data/p*.jsonl")``
    or ``read_labelled(path, format="prm800k", neutral="skip")``. ``options`` go to the format's reader."""
    name, path = parse_spec(path_or_spec, format)
    if name not in READERS:
        raise ValueError(f"unknown step-data format {name!r}; known: {', '.join(READERS)}")
    records: list[LabelledSolution] = []
    for file in expand_paths(path):
        records.extend(READERS[name](file, **options))
    return records


def write_labelled(records: Iterable[LabelledSolution], path: str | Path, format: str, **options: Any) -> int:
    """Write ``records`` to ``path`` in ``format`` (``trl`` or ``processbench``); returns the rows written."""
    if format not in WRITERS:
        raise ValueError(f"no writer for format {format!r}; known: {', '.join(WRITERS)}")
    return WRITERS[format](records, Path(path), **options)


__all__ = [
    "LabelledSolution",
    "READERS",
    "WRITERS",
    "first_error_of",
    "parse_spec",
    "read_labelled",
    "to_trl_rows",
    "write_labelled",
]
