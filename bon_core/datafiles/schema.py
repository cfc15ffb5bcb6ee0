"""The fields a row must (or may) hold and their JSON types, checked with messages that name the row and field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bon_core.datafiles.errors import DataFileError


@dataclass(frozen=True)
class ListOf:
    """A JSON list whose every item has type ``item`` (a type or a tuple of types)."""

    item: type | tuple[type, ...]


Kind = type | tuple[type, ...] | ListOf

_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "an object",
          list: "a list", type(None): "null"}  # fmt: skip
_JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "list",
               type(None): "null"}  # fmt: skip


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if k is bool and isinstance(value, bool):
            return True
        if k is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if k is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if k not in (bool, int, float) and isinstance(value, k):
            return True
    return False


def describe(kind: Kind) -> str:
    """``str`` -> "a string", ``ListOf(str)`` -> "a list of strings" (for error messages)."""
    if isinstance(kind, ListOf):
        items = kind.item if isinstance(kind.item, tuple) else (kind.item,)
        return "a list of " + " or ".join(_JSON_NAMES.get(k, k.__name__) + "s" for k in items)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(_NAMES.get(k, k.__name__) for k in kinds)


def shown(value: Any) -> str:
    """The JSON type and a short repr of ``value``, e.g. ``integer 5`` or ``list ['#### 1']``."""
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{_JSON_NAMES.get(type(value), type(value).__name__)} {text}"


def has_kind(value: Any, kind: Kind) -> bool:
    """Whether ``value`` is of ``kind`` (``int`` excludes booleans; ``float`` accepts integers)."""
    if isinstance(kind, ListOf):
        return isinstance(value, list) and all(_is(item, kind.item) for item in value)
    return _is(value, kind)


@dataclass(frozen=True)
class Schema:
    """Fields a row must hold (non-null) and fields it may hold (null or absent allowed), with their kinds."""

    required: Mapping[str, Kind] = field(default_factory=dict)
    optional: Mapping[str, Kind] = field(default_factory=dict)

    def check(self, row: Mapping[str, Any], where: str) -> None:
        """Raise :class:`DataFileError` at the first missing or mistyped field, naming ``where`` and the field."""
        for name, kind in self.required.items():
            if row.get(name) is None:
                raise DataFileError(f"{where}: missing required field {name!r}")
            if not has_kind(row[name], kind):
                raise DataFileError(f"{where}: field {name!r} must be {describe(kind)}, got {shown(row[name])}")
        for name, kind in self.optional.items():
            if row.get(name) is not None and not has_kind(row[name], kind):
                raise DataFileError(f"{where}: field {name!r} must be {describe(kind)} or null, got {shown(row[name])}")
