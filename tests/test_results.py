"""Results table rendering (Markdown, CSV) and accuracy plots (PNG, SVG)."""

import pytest

from bon_core.results import plot_accuracy, results_table, to_csv, to_markdown
from bon_core.types import MetricPoint

POINTS = [
    MetricPoint("best@k", 1, 0.5, 0.4, 0.6, "max", "prm", "min", 100.0, 120.0),
    MetricPoint("best@k", 4, 0.75, 0.7, 0.8, "max", "prm", "min", 400.0, 480.0),
    MetricPoint("maj@k", 4, 0.625, 0.6, 0.65, "majority", "", "", 400.0, 0.0),
]


def test_table_groups_rows_and_ns():
    t = results_table(POINTS)
    assert t.ns == (1, 4)
    assert [(r.strategy, r.scorer, r.aggregation, len(r.points)) for r in t.rows] == [
        ("max", "prm", "min", 2),
        ("majority", "", "", 1),
    ]
    with pytest.raises(ValueError, match="two points for row"):
        results_table(POINTS + POINTS[:1])


def test_markdown():
    assert to_markdown(results_table(POINTS)) == (
        "| strategy | scorer | aggregation | N=1 | N=4 |\n"
        "|---|---|---|---|---|\n"
        "| max | prm | min | 50.0 ± 10.0 | 75.0 ± 5.0 |\n"
        "| majority |  |  | – | 62.5 ± 2.5 |\n"
    )


def test_csv():
    assert to_csv(results_table(POINTS)) == (
        "strategy,scorer,aggregation,metric,n1,n1_ci_low,n1_ci_high,n4,n4_ci_low,n4_ci_high\n"
        "max,prm,min,best@k,0.5,0.4,0.6,0.75,0.7,0.8\n"
        "majority,,,maj@k,,,,0.625,0.6,0.65\n"
    )


@pytest.mark.parametrize("axis", ["n", "compute"])
def test_plots_write_png_and_svg(tmp_path, axis):
    png, svg = plot_accuracy(POINTS, tmp_path / "plots" / f"acc_{axis}", x=axis, title="arith")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text()
    assert "arith" in svg.read_text()


def test_plot_rejects_unknown_axis(tmp_path):
    with pytest.raises(ValueError, match="unknown plot axis 'time'; known: n, compute"):
        plot_accuracy(POINTS, tmp_path / "x", x="time")


def _demo_like_points():
    """The demo's 13 series: 3 baselines, a PRM under 4 aggregations x 2 strategies, an ORM x 2 strategies."""
    rows = [("oracle", "", ""), ("majority", "", ""), ("random", "", "")]
    rows += [(s, "bon-prm", a) for a in ("min", "prod", "last", "mean") for s in ("max", "weighted")]
    rows += [(s, "bon-orm", "last") for s in ("max", "weighted")]
    return [
        MetricPoint(
            "accuracy",
            n,
            0.5 + 0.01 * i + 0.02 * k,
            0.45 + 0.01 * i,
            0.6 + 0.01 * i + 0.02 * k,
            *row,
            16.0 * n,
            20.0 * n,
        )  # fmt: skip
        for i, row in enumerate(rows)
        for k, n in enumerate((1, 2, 4, 8, 16))
    ]


def test_plot_styles_are_grouped_by_scorer_and_all_distinct():
    from matplotlib.colors import to_hex

    from bon_core.results import accuracy_figure

    fig = accuracy_figure(_demo_like_points(), title="demo")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 13
    looks = {(to_hex(line.get_color()), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(looks) == 13  # before: 13 series in 10 colours, all solid with the same marker
    colour = {line.get_label(): to_hex(line.get_color()) for line in lines}
    baselines = {colour[name] for name in ("oracle", "majority", "random")}
    prm = {colour[f"{s} / bon-prm / {a}"] for a in ("min", "prod", "last", "mean") for s in ("max", "weighted")}
    orm = {colour["max / bon-orm / last"], colour["weighted / bon-orm / last"]}
    assert len(baselines) == 3 and not baselines & prm and not baselines & orm and not prm & orm
    # a PRM row is blue-ish and an ORM row orange-ish: each scorer has its own colour family
    r, g, b = (int(colour["max / bon-prm / min"][i : i + 2], 16) for i in (1, 3, 5))
    assert b > r
    r, g, b = (int(colour["max / bon-orm / last"][i : i + 2], 16) for i in (1, 3, 5))
    assert r > b
    assert len(ax.collections) == 13  # one CI band per series


def test_plot_legend_is_outside_the_axes(tmp_path):
    from bon_core.results import accuracy_figure

    fig = accuracy_figure(_demo_like_points(), x="compute")
    fig.canvas.draw()
    (legend,) = fig.legends
    box, axes_box = legend.get_window_extent(), fig.axes[0].get_window_extent()
    assert box.x0 >= axes_box.x1  # to the right of the plotting area: it covers no curve
    assert not fig.axes[0].get_legend()


def test_write_report_writes_the_table_notes_and_plots_under_the_given_folder(tmp_path):
    from bon_core.results import report_markdown, write_report

    notes = ("majority: no scorer", "scorer tokens = prompt + candidate")
    report = write_report(POINTS, notes, tmp_path / "out" / "run-a", "run-a")
    table = results_table(POINTS)
    notes_text = "\nNotes:\n- majority: no scorer\n- scorer tokens = prompt + candidate\n"
    assert report.markdown == to_markdown(table) + notes_text
    assert report.markdown == report_markdown(table, notes)
    assert report.csv == to_csv(table) and report.table == table
    folder = tmp_path / "out" / "run-a"
    assert (folder / "results.md").read_text() == report.markdown
    assert (folder / "results.csv").read_text() == report.csv
    assert [p.name for p in report.plots] == [
        "accuracy_vs_n.png",
        "accuracy_vs_n.svg",
        "accuracy_vs_compute.png",
        "accuracy_vs_compute.svg",
    ]
    assert "run-a: accuracy vs N" in (folder / "accuracy_vs_n.svg").read_text()
    assert "run-a: vs compute" in (folder / "accuracy_vs_compute.svg").read_text()
    assert report_markdown(table) == to_markdown(table)  # no notes, no "Notes:" heading


def test_tracked_names_of_curves_and_selections():
    from bon_core.results import curve_series, selection_metrics

    assert curve_series(results_table(POINTS)) == [
        ("max.prm.min.accuracy", [(1, 0.5), (4, 0.75)]),
        ("majority.accuracy", [(4, 0.625)]),
    ]
    chosen = MetricPoint("selection_accuracy", 4, 0.75, 0.7, 0.8, "early_stop", "prm", "min", 250.0, 90.0)
    assert selection_metrics([chosen]) == [
        ("select.early_stop.prm.min.accuracy", 0.75),
        ("select.early_stop.prm.min.policy_tokens", 250.0),
        ("select.early_stop.prm.min.scorer_tokens", 90.0),
    ]
