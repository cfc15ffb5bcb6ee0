"""Timing and reporting shared by every benchmark: interleaved repetitions, medians, ratios, JSON and a Rich table.

Every figure is a ratio of two methods timed in the same process, repetition by repetition, so that load from
other processes on a shared machine hits both alike. Timing never fails a benchmark; correctness checks do.
"""

from __future__ import annotations

import gc
import json
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIN_REPEATS = 5


@dataclass(frozen=True)
class Timing:
    """Seconds per repetition of the baseline and of ours (same run, interleaved) and their medians."""

    baseline_s: tuple[float, ...]
    ours_s: tuple[float, ...]

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline_s)

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours_s)


def time_interleaved(
    baseline: Callable[[int], Any],
    ours: Callable[[int], Any],
    repeats: int = MIN_REPEATS,
    warmup: bool = True,
) -> Timing:
    """Time ``baseline(rep)`` and ``ours(rep)`` alternately ``repeats`` times (order swapped every repetition).

    ``rep`` is the repetition index (-1 for the untimed warm-up), so a benchmark can give each repetition fresh
    state (e.g. a new scorer id for store writes).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup:
        baseline(-1)
        ours(-1)
    base, mine = [], []
    for rep in range(repeats):
        pair = [(baseline, base), (ours, mine)]
        for fn, sink in pair if rep % 2 == 0 else pair[::-1]:
            gc.collect()
            start = time.perf_counter()
            fn(rep)
            sink.append(time.perf_counter() - start)
    return Timing(tuple(base), tuple(mine))


@dataclass(frozen=True)
class BenchResult:
    """One comparison: what was compared, its speed-up (or saving) and target, and the correctness checks.

    ``ratio`` is "how many times better ours is" (baseline time / our time, or a throughput ratio); for the
    compute-savings benchmark it is the fraction of tokens saved. ``target`` is the issue's target for ``ratio``
    (``None`` where the issue sets none); ``met`` compares the two but never fails the run.
    """

    name: str
    title: str
    baseline: str
    ours: str
    ratio: float
    target: float | None
    unit: str = "x"
    higher_is_better: bool = True
    size: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Any] = field(default_factory=dict)
    timing: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["met"] = self.met
        return json.loads(json.dumps(data, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | set):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def timing_dict(t: Timing) -> dict[str, Any]:
    """JSON view of a Timing: every repetition and the medians, rounded to microseconds."""
    return {
        "baseline_s": [round(x, 6) for x in t.baseline_s],
        "ours_s": [round(x, 6) for x in t.ours_s],
        "baseline_median_s": round(t.baseline_median, 6),
        "ours_median_s": round(t.ours_median, 6),
        "repeats": len(t.ours_s),
    }


def check(condition: bool, message: str) -> None:
    """Raise AssertionError(message) unless ``condition``: benchmarks fail on wrong outputs, never on timing."""
    if not condition:
        raise AssertionError(message)


def machine_info() -> dict[str, Any]:
    """Where the figures were measured."""
    import os

    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def write_json(results: list[BenchResult], quick: bool, directory: Path = RESULTS_DIR) -> list[Path]:
    """Write one ``<name>[_quick].json`` per result (small, commit-able) and return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    info = machine_info()
    for result in results:
        path = directory / f"{result.name}{'_quick' if quick else ''}.json"
        payload = {
            "quick": quick,
            "machine": info,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **result.to_json(),
        }
        path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        paths.append(path)
    return paths


def format_ratio(result: BenchResult) -> str:
    if result.unit == "%":
        return f"{100 * result.ratio:.0f}%"
    if result.unit == "exp":
        return f"^{result.ratio:.2f}"
    return f"{result.ratio:.1f}x"


def format_target(result: BenchResult) -> str:
    if result.target is None:
        return "-"
    sign = ">=" if result.higher_is_better else "<="
    value = {"%": f"{100 * result.target:.0f}%", "exp": f"^{result.target:g}"}.get(result.unit, f"{result.target:g}x")
    return f"{sign} {value}"


def render_table(results: list[BenchResult]):
    """A Rich table of every result: what was compared, the ratio, the target and whether it was met."""
    from rich.table import Table

    table = Table(title="bon benchmarks (ratios of two methods timed in the same run)")
    for column in ("benchmark", "baseline", "ours", "ratio", "target", "met", "details"):
        table.add_column(column, overflow="fold")
    for r in results:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r.met]
        details = ", ".join(f"{k}={_short(v)}" for k, v in r.metrics.items())
        table.add_row(r.title, r.baseline, r.ours, format_ratio(r), format_target(r), met, details)
    return table


def markdown_table(results: list[BenchResult]) -> str:
    """The same table as Markdown, for the README's Performance section."""
    lines = ["| benchmark | baseline | ours | ratio | target | met | details |", "|---|---|---|---|---|---|---|"]
    for r in results:
        met = {True: "yes", False: "no", None: "-"}[r.met]
        details = ", ".join(f"{k}={_short(v)}" for k, v in r.metrics.items())
        lines.append(
            f"| {r.title} | {r.baseline} | {r.ours} | {format_ratio(r)} | {format_target(r)} | {met} | {details} |"
        )
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
