"""JSON Lines and JSON-array files (gzip too), read as UTF-8 with errors that name the file and the line.

A file whose first non-blank character is ``[`` is one JSON array of objects (ProcessBench's layout); otherwise
each non-blank line is one JSON object (JSON Lines), whatever the file's suffix.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bon_core.datafiles.errors import DataFileError

MAX_LINE_BYTES = 64 * 2**20  # one JSON Lines row; beyond this the file is not what it claims to be
MAX_ARRAY_BYTES = 1024 * 2**20  # a JSON array is parsed whole; bigger data sets belong in JSONL or parquet
_BOM = b"\xef\xbb\xbf"


def _open(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist")
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115


def _decode(raw: bytes, path: Path, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line += raw.count(b"\n", 0, exc.start)
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataFileError(
            f"{path}, line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {column} of the line)"
        ) from exc


def _row(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataFileError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _jsonl(handle: IO[bytes], path: Path, raw: bytes, line_number: int) -> Iterator[tuple[int, dict[str, Any]]]:
    while raw:
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise DataFileError(
                f"{path}, line {line_number}: longer than {MAX_LINE_BYTES // 2**20} MiB (not one JSON object per line?)"
            )
        text = _decode(raw, path, line_number)
        if text.strip():
            try:
                value = json.loads(text.rstrip("\r\n"))  # the line break is not part of the row's JSON
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{path}, line {line_number}: not valid JSON ({exc.msg})") from exc
            yield line_number, _row(value, f"{path}, line {line_number}")
        raw = handle.readline(MAX_LINE_BYTES + 1)
        line_number += 1


def _array(handle: IO[bytes], path: Path, start: bytes) -> Iterator[tuple[int | None, dict[str, Any]]]:
    raw = start + handle.read(MAX_ARRAY_BYTES + 1 - len(start))
    if len(raw) > MAX_ARRAY_BYTES:
        raise DataFileError(f"{path}: a JSON array over {MAX_ARRAY_BYTES // 2**20} MiB; convert it to JSONL or parquet")
    text = _decode(raw, path, 1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    if not isinstance(value, list):
        raise DataFileError(f"{path}: expected a JSON array of objects, got {type(value).__name__}")
    for index, item in enumerate(value):
        yield None, _row(item, f"{path}, row {index + 1}")


def iter_json_rows(path: str | Path) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """Yield ``(line, row)`` for each JSON object in ``path``: JSON Lines (1-based line numbers, blank lines
    skipped) or one JSON array (line None; rows counted from 1 in messages). Raises :class:`DataFileError`
    naming the file and line."""
    path = Path(path)
    try:
        with _open(path) as handle:
            first = handle.readline(MAX_LINE_BYTES + 1)
            if first.startswith(_BOM):
                first = first[len(_BOM) :]
            blank = b""
            while first and not first.strip():
                blank, first = blank + first, handle.readline(MAX_LINE_BYTES + 1)
            if first.lstrip().startswith(b"["):
                yield from _array(handle, path, blank + first)
            elif first:
                yield from _jsonl(handle, path, first, blank.count(b"\n") + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataFileError(f"{path}: cannot be read ({exc})") from exc
