"""Command-line options made from config fields: the help text is the field's ``help`` metadata and the default
is the field's default, so both are written once, on the config dataclass (``bon_core.types.GenerationConfig``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer

_FIELD_DEFAULT = object()


def option(config: type, name: str, *param_decls: str, default: Any = _FIELD_DEFAULT, **kwargs: Any) -> Any:
    """A ``typer.Option`` for field ``name`` of the dataclass ``config``: its ``help`` metadata and its default
    (``default`` replaces it where the command's default differs); ``kwargs`` go to ``typer.Option``."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    if name not in fields:
        raise ValueError(f"{config.__name__} has no field {name!r}")
    field = fields[name]
    if "help" not in field.metadata:
        raise ValueError(f"{config.__name__}.{name} has no help text (metadata={{'help': ...}})")
    if default is _FIELD_DEFAULT:
        if field.default is dataclasses.MISSING:
            raise ValueError(f"{config.__name__}.{name} has no plain default; give the option one")
        default = field.default
    return typer.Option(default, *param_decls, help=field.metadata["help"], **kwargs)
