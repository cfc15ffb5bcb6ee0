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
