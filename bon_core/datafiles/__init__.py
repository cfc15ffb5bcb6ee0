"""Reading data files and data sets into checked rows, for the tasks and the step-data readers.

>>> from bon_core.datafiles import Schema, read_rows
>>> rows = read_rows("../shared/data/gsm8k/test.jsonl", Schema({"question": str, "answer": str}))  # doctest: +SKIP

Every failure to read a file as expected raises :class:`DataFileError` (a ``ValueError``) whose message names the
file, the line or row (counted from 1) where known, and what is wrong.
"""

from __future__ import annotations

from bon_core.datafiles.errors import DataFileError
from bon_core.datafiles.schema import ListOf, Schema
from bon_core.datafiles.sources import DATA_SUFFIXES, DataSource, Row, as_source, expand_sources, read_rows
from bon_core.datafiles.text import MAX_LINE_BYTES, iter_json_rows

__all__ = [
    "DATA_SUFFIXES",
    "DataFileError",
    "DataSource",
    "ListOf",
    "MAX_LINE_BYTES",
    "Row",
    "Schema",
    "as_source",
    "expand_sources",
    "iter_json_rows",
    "read_rows",
]
