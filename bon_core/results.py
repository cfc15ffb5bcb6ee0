"""Results tables and plots built from MetricPoints. Computation lives in :mod:`bon_core.metrics`; this module
only arranges and renders.

A :class:`ResultsTable` has one row per strategy × scorer × aggregation and one column per N; each cell is a
MetricPoint (value with its 95% CI). It renders to Markdown (``78.2 ± 1.3``, in percent) and to CSV (one
``value``, ``ci_low``, ``ci_high`` column triple per N). Plots draw accuracy vs N and vs compute (policy + scorer
tokens) with CI bands, to PNG and SVG, on the Agg canvas without touching pyplot's global state.
:func:`write_report` writes all of it (with notes) to a folder the caller names; :func:`curve_series` and
:func:`selection_metrics` name the figures for a tracker.
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


def series_name(strategy: str, scorer: str = "", aggregation: str = "") -> str:
    """A series' metric name: its strategy, scorer and aggregation joined by dots, empty parts left out."""
    return ".".join(x for x in (strategy, scorer, aggregation) if x)


def curve_series(table: ResultsTable) -> list[tuple[str, list[tuple[int, float]]]]:
    """Each row as a curve to track over ``step = N``: ``(NAME.accuracy, [(N, value), ...])``."""
    return [
        (f"{series_name(row.strategy, row.scorer, row.aggregation)}.accuracy", [(p.n, p.value) for p in row.points])
        for row in table.rows
    ]


def selection_metrics(points: Iterable[MetricPoint]) -> list[tuple[str, float]]:
    """Full-N selection points as tracked metrics: ``select.NAME.accuracy``, ``.policy_tokens`` and
    ``.scorer_tokens`` of each point, in order."""
    out: list[tuple[str, float]] = []
    for p in points:
        name = f"select.{series_name(p.strategy, p.scorer, p.aggregation)}"
        out += [(f"{name}.accuracy", p.value), (f"{name}.policy_tokens", p.policy_tokens),
                (f"{name}.scorer_tokens", p.scorer_tokens)]  # fmt: skip
    return out


def to_markdown(table: ResultsTable, *, percent: bool = True, digits: int = 1) -> str:
    """Markdown table: strategy, scorer, aggregation, then ``value ± half-CI`` per N (``–`` where missing).

    The half-width is the larger side of the (possibly asymmetric) interval. When the points record how they
    were computed, notes follow the table: the interval method, and for every value not computed exactly
    (marked ``†1``, ``†2``, …) how it was estimated.
    """
    scale = 100.0 if percent else 1.0
    header = ["strategy", "scorer", "aggregation", *[f"N={n}" for n in table.ns]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    estimated: dict[str, str] = {}  # method label -> marker
    for row in table.rows:
        cells = []
        for n in table.ns:
            p = row.at(n)
            if p is None:
                cells.append("–")
                continue
            half = max(p.value - p.ci_low, p.ci_high - p.value) * scale
            marker = "" if p.method in ("", "exact") else estimated.setdefault(p.method, f"†{len(estimated) + 1}")
            cells.append(f"{p.value * scale:.{digits}f} ± {half:.{digits}f}{marker}")
        lines.append("| " + " | ".join([row.strategy, row.scorer, row.aggregation, *cells]) + " |")
    return "\n".join(lines) + "\n" + _notes(table, estimated)


def _notes(table: ResultsTable, estimated: dict[str, str]) -> str:
    points = [p for row in table.rows for p in row.points]
    ci_methods = sorted({p.ci_method for p in points if p.ci_method})
    if not ci_methods and not any(p.method for p in points):
        return ""
    notes = [f"± : half-width (larger side) of the {'; '.join(ci_methods) or 'CI (method not recorded)'}"]
    if any(p.method == "exact" for p in points):
        notes.append(
            "unmarked values: exact expectations over all N-subsets of each stored pool (computed, not sampled)"
        )
    notes += [f"{marker}: {method}" for method, marker in estimated.items()]
    return "\n" + "\n".join(notes) + "\n"


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


# Baselines (rows without a scorer) are drawn in greys; each scorer gets its own colour family, and the rows of one
# scorer (its aggregations and strategies) differ by shade, line style and marker, so no two series look alike.
_BASELINE_COLOURS = ("black", "dimgray", "darkgray", "silver")
_SCORER_COLOURMAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "YlOrBr", "GnBu", "RdPu")
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def series_styles(rows: Sequence[ResultsRow]) -> list[dict[str, object]]:
    """Colour, line style and marker of each row: grouped by scorer (one colour family per scorer, greys for
    baselines), distinct within a group. Pure: returns matplotlib keyword arguments, draws nothing."""
    from matplotlib import colormaps

    scorers = list(dict.fromkeys(r.scorer for r in rows if r.scorer))
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row.scorer, []).append(i)
    styles: list[dict[str, object]] = [{} for _ in rows]
    for scorer, members in groups.items():
        for rank, i in enumerate(members):
            if not scorer:
                colour: object = _BASELINE_COLOURS[rank % len(_BASELINE_COLOURS)]
            else:
                cmap = colormaps[_SCORER_COLOURMAPS[scorers.index(scorer) % len(_SCORER_COLOURMAPS)]]
                colour = cmap(0.9 - 0.45 * rank / max(len(members) - 1, 1))  # dark to mid shades, never pale
            styles[i] = {
                "color": colour,
                "linestyle": _LINESTYLES[rank % len(_LINESTYLES)],
                "marker": _MARKERS[rank % len(_MARKERS)],
            }
    return styles


def accuracy_figure(points: Iterable[MetricPoint], *, x: str = "n", title: str | None = None):
    """The figure of :func:`plot_accuracy` (a matplotlib ``Figure`` on the Agg canvas), not yet saved."""
    if x not in PLOT_AXES:
        raise ValueError(f"unknown plot axis {x!r}; known: {', '.join(PLOT_AXES)}")
    table = results_table(points)
    if not table.rows:
        raise ValueError("plot_accuracy needs at least one point")
    # The Agg canvas is chosen here, per figure, so importing bon_core never sets a global matplotlib backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.6, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for row, style in zip(table.rows, series_styles(table.rows), strict=True):
        xs: Sequence[float] = [p.n if x == "n" else p.policy_tokens + p.scorer_tokens for p in row.points]
        ax.plot(xs, [p.value for p in row.points], label=_label(row), linewidth=1.6, markersize=4, **style)
        lows, highs = [p.ci_low for p in row.points], [p.ci_high for p in row.points]
        ax.fill_between(xs, lows, highs, color=style["color"], alpha=0.12, linewidth=0)
    ax.set_xscale("log", base=2 if x == "n" else 10)
    ax.set_xlabel("N (samples per problem)" if x == "n" else "tokens per problem (policy + scorer)")
    ax.set_ylabel("accuracy (band: 95% CI)")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    # Outside the axes, so the legend never covers a curve.
    fig.legend(loc="outside right upper", fontsize="small", title="strategy / scorer / aggregation")
    return fig


def plot_accuracy(
    points: Iterable[MetricPoint], path: str | Path, *, x: str = "n", title: str | None = None
) -> tuple[Path, Path]:
    """Plot accuracy vs N (``x="n"``) or vs compute (``x="compute"``: policy + scorer tokens per problem), one
    line with a 95% CI band per row (styled by :func:`series_styles`), the x axis on a log scale and the legend
    outside the axes. Writes ``path`` with suffixes .png and .svg and returns the two paths.
    """
    fig = accuracy_figure(points, x=x, title=title)
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.with_suffix(".png"), base.with_suffix(".svg")
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    return png, svg


@dataclass(frozen=True)
class ResultsReport:
    """A results table rendered and written: Markdown (notes under the table), CSV, and the plot files."""

    table: ResultsTable
    markdown: str
    csv: str
    plots: tuple[Path, ...]


def report_markdown(table: ResultsTable, notes: Sequence[str] = ()) -> str:
    """:func:`to_markdown` of ``table``, then ``notes`` (what a reader must know) as a list under ``Notes:``."""
    markdown = to_markdown(table)
    if notes:
        markdown += "\nNotes:\n" + "".join(f"- {note}\n" for note in notes)
    return markdown


def write_report(curves: Sequence[MetricPoint], notes: Sequence[str], out_dir: str | Path, name: str) -> ResultsReport:
    """Render ``curves`` as a results table with ``notes`` and write it under ``out_dir`` (created if missing):
    ``results.md``, ``results.csv`` and the plots accuracy vs N and vs compute (``accuracy_vs_n`` and
    ``accuracy_vs_compute``, .png and .svg, titled with ``name``)."""
    table = results_table(curves)
    markdown, csv_text = report_markdown(table, notes), to_csv(table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = plot_accuracy(curves, out / "accuracy_vs_n", title=f"{name}: accuracy vs N")
    plots += plot_accuracy(curves, out / "accuracy_vs_compute", x="compute", title=f"{name}: vs compute")
    (out / "results.md").write_text(markdown)
    (out / "results.csv").write_text(csv_text)
    return ResultsReport(table, markdown, csv_text, plots)
