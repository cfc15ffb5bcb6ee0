"""Markdown tables as Rich tables for the command line."""

from __future__ import annotations

from rich.table import Table

from flows.cli.render import markdown_tables


def test_the_title_heads_only_the_first_table_and_text_lines_stay_in_order():
    markdown = "| N=1 | name |\n|---|---|\n| 1.0 | a |\nbetween\n\n| difference | CI |\n|---|---|\n| +1 | [0, 2] |"
    out = markdown_tables(markdown, title="accuracy")
    assert [type(x).__name__ for x in out] == ["Table", "Text", "Table"]
    first, second = out[0], out[2]
    assert isinstance(first, Table) and first.title == "accuracy" and second.title is None
    assert [c.justify for c in first.columns] == ["right", "left"] and first.row_count == 1
    assert [c.header for c in second.columns] == ["difference", "CI"]
