"""Rich rendering of what the flows return as text: the Markdown results table becomes a Rich table (the Markdown
itself, with any notes under it, stays the artifact in MLflow and under ``results/``), and stored settings become
key/value tables instead of Python dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_tables(markdown: str, title: str | None = None) -> list[Any]:
    """Each Markdown table of ``markdown`` as a Rich table (numeric columns right-aligned); every other non-empty
    line as plain text, in order. ``title`` heads the first table only (the others are named by their header)."""
    out: list[Any] = []
    table: Table | None = None
    header: list[str] | None = None
    for line in markdown.splitlines():
        if line.lstrip().startswith("|"):
            cells = _cells(line)
            if header is None:
                header, table = cells, None
            elif table is None and all(set(c) <= set("-: ") for c in cells):
                titled = any(isinstance(x, Table) for x in out)
                table = Table(title=None if titled else title, title_justify="left")
                for name in header:
                    table.add_column(name, justify="right" if name.startswith(("N=", "n=")) else "left")
                out.append(table)
            elif table is not None:
                table.add_row(*(Text(c) for c in cells))
            continue
        header, table = None, None
        if line.strip():
            out.append(Text(line))
    return out


def key_values(values: Mapping[str, Any], title: str | None = None) -> Table:
    """A two-column table of ``values`` (nested mappings flattened as ``outer.inner``)."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()

    def add(prefix: str, mapping: Mapping[str, Any]) -> None:
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                add(f"{prefix}{key}.", value)
            else:
                table.add_row(f"{prefix}{key}", Text(str(value)))

    add("", values)
    return table
