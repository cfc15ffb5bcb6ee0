"""Results tables and plots built from MetricPoints. Computation lives in :mod:`bon_core.metrics`; this module
only arranges and renders.

A :class:`ResultsTable` has one row per strategy × scorer × aggregation and one column per N; each cell is a
MetricPoint (value with its 95% CI). It renders to Markdown (``78.2 ± 1.3``, in percent) and to CSV (one
``value``, ``ci_low``, ``ci_high`` column triple per N). Plots draw accuracy vs N and vs compute (policy + scorer
tokens) with CI bands, to PNG and SVG, on the Agg canvas without touching pyplot's global state.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bon_core.types import MetricPoint

RowKey = tuple[str, str, str]  # (strategy, scorer, aggregation)
PLOT_AXES = ("n", "compute")


@dataclass(frozen=True)
class ResultsRow:
    """One strategy × scorer × aggregation and its points, one per N (ascending)."""

    strategy: str
    scorer: str
    aggregation: str
    metric: str
    points: tuple[MetricPoint, ...]

    def at(self, n: int) -> MetricPoint | None:
        """The point at N = ``n``, or None."""
        return next((p for p in self.points if p.n == n), None)


@dataclass(frozen=True)
class ResultsTable:
    """Rows of results and the union of their Ns (ascending)."""

    rows: tuple[ResultsRow, ...]
    ns: tuple[int, ...]


def results_table(points: Iterable[MetricPoint]) -> ResultsTable:
    """Group MetricPoints into a table: rows keyed by (strategy, scorer, aggregation) in first-seen order.

    Two points with the same row key and N are an error (they would overwrite each other).
    """
    rows: dict[RowKey, dict[int, MetricPoint]] = {}
    metrics: dict[RowKey, str] = {}
    for p in points:
        key = (p.strategy, p.scorer, p.aggregation)
        cells = rows.setdefault(key, {})
        if p.n in cells:
            raise ValueError(f"two points for row {key} at N={p.n}")
        cells[p.n] = p
        metrics.setdefault(key, p.metric)
    ns = sorted({n for cells in rows.values() for n in cells})
    built = tuple(ResultsRow(*key, metrics[key], tuple(cells[n] for n in sorted(cells))) for key, cells in rows.items())
    return ResultsTable(built, tuple(ns))


def _label(row: ResultsRow) -> str:
    return " / ".join(x for x in (row.strategy, row.scorer, row.aggregation) if x) or row.metric


def to_markdown(table: ResultsTable, *, percent: bool = True, digits: int = 1) -> str:
    """Markdown table: strategy, scorer, aggregation, then ``value ± half-CI`` per N (``–`` where missing)."""
    scale = 100.0 if percent else 1.0
    header = ["strategy", "scorer", "aggregation", *[f"N={n}" for n in table.ns]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table.rows:
        cells = []
        for n in table.ns:
            p = row.at(n)
            if p is None:
                cells.append("–")
            else:
                half = max(p.value - p.ci_low, p.ci_high - p.value) * scale
                cells.append(f"{p.value * scale:.{digits}f} ± {half:.{digits}f}")
        lines.append("| " + " | ".join([row.strategy, row.scorer, row.aggregation, *cells]) + " |")
    return "\n".join(lines) + "\n"


def to_csv(table: ResultsTable) -> str:
    """CSV: strategy, scorer, aggregation, metric, then ``n{N}``, ``n{N}_ci_low``, ``n{N}_ci_high`` per N."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["strategy", "scorer", "aggregation", "metric"]
    for n in table.ns:
        header += [f"n{n}", f"n{n}_ci_low", f"n{n}_ci_high"]
    writer.writerow(header)
    for row in table.rows:
        values: list[str] = [row.strategy, row.scorer, row.aggregation, row.metric]
        for n in table.ns:
            p = row.at(n)
            values += ["", "", ""] if p is None else [repr(p.value), repr(p.ci_low), repr(p.ci_high)]
        writer.writerow(values)
    return buf.getvalue()


def plot_accuracy(
    points: Iterable[MetricPoint], path: str | Path, *, x: str = "n", title: str | None = None
) -> tuple[Path, Path]:
    """Plot accuracy vs N (``x="n"``) or vs compute (``x="compute"``: policy + scorer tokens per problem), one
    line with a 95% CI band per row, both axes' x on a log scale. Writes ``path`` with suffixes .png and .svg and
    returns the two paths.
    """
    if x not in PLOT_AXES:
        raise ValueError(f"unknown plot axis {x!r}; known: {', '.join(PLOT_AXES)}")
    table = results_table(points)
    if not table.rows:
        raise ValueError("plot_accuracy needs at least one point")
    # The Agg canvas is chosen here, per figure, so importing bon_core never sets a global matplotlib backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for row in table.rows:
        xs: Sequence[float] = [p.n if x == "n" else p.policy_tokens + p.scorer_tokens for p in row.points]
        ys = [p.value for p in row.points]
        (line,) = ax.plot(xs, ys, marker="o", label=_label(row))
        ax.fill_between(
            xs, [p.ci_low for p in row.points], [p.ci_high for p in row.points], color=line.get_color(), alpha=0.2
        )
    ax.set_xscale("log", base=2 if x == "n" else 10)
    ax.set_xlabel("N (samples per problem)" if x == "n" else "tokens per problem (policy + scorer)")
    ax.set_ylabel("accuracy")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.with_suffix(".png"), base.with_suffix(".svg")
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    return png, svg
