"""Process vs outcome supervision, measured: what ``bon study prm-vs-orm`` computes from trained scorers' scores.

A study trains a PRM and an ORM on the same texts (the PRM on step labels, the ORM on outcomes) for several seeds
and training budgets (shares of the train problems), scores one stored test pool with each, and reports

* best@k curves per kind and budget as mean ± sd over seeds (each seed's point is the exact expectation over random
  k-subsets of the pool, ``bon_core.metrics.curves``);
* the paired difference PRM − ORM of best@n over the same test problems, with a paired bootstrap 95% interval over
  problems (each problem's value averaged over seeds first);
* the sample-efficiency curve: best@n against the number of labelled training texts.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bon_core.metrics import curve, default_ks
from bon_core.metrics.stats import paired_difference_ci
from bon_core.scored_pools import aggregated_scores, best_at_n_by_problem, scored_pools
from bon_core.scorer_choice import natural_aggregation
from bon_core.types import Candidate, MetricPoint, StepScores

if TYPE_CHECKING:
    from bon_core.prm.records import StepLabelledExample

STUDY_BUDGETS = (0.125, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class StudyCell:
    """One trained scorer of a study and what it did on the test pool."""

    kind: str  # "prm" | "orm"
    seed: int
    budget: float  # share of the train problems it was trained on
    labelled_texts: int  # training texts carrying labels (stored candidates + contrastive texts)
    per_problem: Mapping[str, float]  # best@n per test problem (exact expectation at n = the pool size)
    curve: tuple[tuple[int, float], ...]  # (k, best@k averaged over problems)
    train_seconds: float = 0.0


@dataclass(frozen=True)
class SeedSpread:
    """A figure over seeds: mean and sample standard deviation (0 for one seed)."""

    kind: str
    budget: float
    k: int
    mean: float
    sd: float
    seeds: int
    labelled_texts: float = 0.0  # mean over seeds


@dataclass(frozen=True)
class PairedDifference:
    """PRM − ORM on the same problems: mean difference with a paired bootstrap interval over problems."""

    budget: float
    n: int
    difference: float
    low: float
    high: float
    problems: int
    seeds: int
    method: str


def budget_subsets(problem_ids: Sequence[str], budgets: Sequence[float], seed: int) -> dict[float, list[str]]:
    """Nested subsets of ``problem_ids``: one seeded shuffle, the first ``ceil(budget × P)`` problems of it for each
    budget, so a larger budget always contains a smaller one."""
    for budget in budgets:
        if not 0.0 < budget <= 1.0:
            raise ValueError(f"a training budget is a share of the train problems in (0, 1], got {budget}")
    order = sorted(set(problem_ids))
    random.Random(f"study-budgets:{seed}").shuffle(order)
    return {b: order[: max(1, math.ceil(b * len(order)))] for b in budgets}


def training_texts(
    labelled: Sequence[tuple[str, StepLabelledExample]],
    contrastive: Sequence[StepLabelledExample],
    problems: Collection[str],
    budget: float,
) -> list[StepLabelledExample]:
    """One budget's training texts: the labelled stored candidates (``(problem id, example)``) of ``problems``,
    then the contrastive texts of the first ``round(budget × P)`` (at least one) of the P contrastive problems, in
    the order they were generated. A PRM and an ORM of one budget and seed train on exactly these texts."""
    contrastive_problems = list(dict.fromkeys(e.problem for e in contrastive))
    count = len(contrastive_problems) and max(1, round(budget * len(contrastive_problems)))
    extra = set(contrastive_problems[:count])
    return [e for pid, e in labelled if pid in problems] + [e for e in contrastive if e.problem in extra]


def study_cell(
    kind: str,
    seed: int,
    budget: float,
    labelled_texts: int,
    candidates: Sequence[Candidate],
    step_scores: Iterable[StepScores],
    train_seconds: float = 0.0,
) -> StudyCell:
    """The cell of a scorer of ``kind`` whose step scores on the test pool ``candidates`` are ``step_scores``,
    aggregated the kind's natural way (:func:`bon_core.scorer_choice.natural_aggregation`; an unscored candidate
    scores as if it had no steps): best@k for k = 1, 2, 4, …, n and each problem's best@n."""
    pools = scored_pools(candidates, aggregated_scores(step_scores, natural_aggregation(kind)))
    n = max(p.n for p in pools)
    points = curve(pools, "best", default_ks(n))
    curve_points = tuple((p.n, p.value) for p in points)
    return StudyCell(kind, seed, budget, labelled_texts, best_at_n_by_problem(pools), curve_points, train_seconds)


def seed_spread(cells: Sequence[StudyCell]) -> list[SeedSpread]:
    """Mean ± sd over seeds of every curve point, per (kind, budget, k)."""
    groups: dict[tuple[str, float, int], list[tuple[float, int]]] = {}
    for cell in cells:
        for k, value in cell.curve:
            groups.setdefault((cell.kind, cell.budget, k), []).append((value, cell.labelled_texts))
    return [
        SeedSpread(
            kind, budget, k, statistics.fmean(v for v, _ in values),
            statistics.stdev(v for v, _ in values) if len(values) > 1 else 0.0, len(values),
            statistics.fmean(t for _, t in values),
        )
        for (kind, budget, k), values in sorted(groups.items())
    ]  # fmt: skip


def paired_prm_minus_orm(
    cells: Sequence[StudyCell], budget: float, resamples: int = 10000, seed: int = 0
) -> PairedDifference:
    """PRM − ORM best@n at ``budget`` over the test problems both were scored on; each problem's value is its mean
    over the seeds of that kind, and the interval is a paired percentile bootstrap over problems."""
    means: dict[str, dict[str, float]] = {}
    seeds: dict[str, int] = {}
    for kind in ("prm", "orm"):
        chosen = [c for c in cells if c.kind == kind and c.budget == budget]
        if not chosen:
            raise ValueError(f"the study has no {kind.upper()} trained at budget {budget}")
        shared = set.intersection(*(set(c.per_problem) for c in chosen))
        means[kind] = {p: statistics.fmean(c.per_problem[p] for c in chosen) for p in shared}
        seeds[kind] = len(chosen)
    problems = sorted(set(means["prm"]) & set(means["orm"]))
    if not problems:
        raise ValueError("the PRM and the ORM were scored on no common test problem")
    a = [means["prm"][p] for p in problems]
    b = [means["orm"][p] for p in problems]
    diff, low, high = paired_difference_ci(a, b, resamples=resamples, seed=seed)
    n = max(k for c in cells for k, _ in c.curve)
    return PairedDifference(
        budget, n, diff, low, high, len(problems), min(seeds.values()),
        f"paired percentile bootstrap over {len(problems)} problems, {resamples} resamples, 95%",
    )  # fmt: skip


def study_points(spreads: Sequence[SeedSpread], paired: Sequence[PairedDifference]) -> list[MetricPoint]:
    """The study's figures as stored evaluations: every best@k curve point (mean ± 1 sd over seeds, labelled as
    not a confidence interval), then every paired PRM − ORM difference with its interval."""
    return [
        MetricPoint(
            "accuracy", s.k, s.mean, s.mean - s.sd, s.mean + s.sd, "max", f"study-{s.kind}-budget{s.budget:g}",
            natural_aggregation(s.kind), method=f"mean over {s.seeds} seeds of the exact expectation over k-subsets",
            ci_method=f"± 1 sd over {s.seeds} seeds (not a confidence interval)",
        )
        for s in spreads
    ] + [
        MetricPoint(
            "prm_minus_orm_accuracy", p.n, p.difference, p.low, p.high, "max", f"study-budget{p.budget:g}", "",
            method=f"mean over {p.problems} problems of the per-problem PRM − ORM best@{p.n} (seed means)",
            ci_method=p.method,
        )
        for p in paired
    ]  # fmt: skip


def study_markdown(spreads: Sequence[SeedSpread], paired: Sequence[PairedDifference]) -> str:
    """The study's tables: best@k (mean ± sd over seeds, in %) per kind at the largest budget, the sample-efficiency
    table at the largest k, and the paired PRM − ORM differences."""
    if not spreads:
        return "(no study results)"
    top_budget = max(s.budget for s in spreads)
    top_k = max(s.k for s in spreads)
    ks = sorted({s.k for s in spreads})
    lines = [
        "best@k on the test pool, % (mean ± sd over seeds; each seed exact over random k-subsets), "
        f"budget {top_budget:g}",
        "",
        "| scorer | seeds | " + " | ".join(f"k={k}" for k in ks) + " |",
        "|---|---|" + "---|" * len(ks),
    ]
    for kind in ("prm", "orm"):
        row = {s.k: s for s in spreads if s.kind == kind and s.budget == top_budget}
        if row:
            seeds = next(iter(row.values())).seeds
            cells = " | ".join(f"{100 * row[k].mean:.1f} ± {100 * row[k].sd:.1f}" if k in row else "–" for k in ks)
            lines.append(f"| {kind.upper()} | {seeds} | {cells} |")
    lines += [
        "",
        f"Sample efficiency: best@{top_k}, % (mean ± sd over seeds) against labelled training texts",
        "",
        "| budget (share of train problems) | labelled texts | PRM | ORM | PRM − ORM (paired 95% CI) |",
        "|---|---|---|---|---|",
    ]
    by_budget = {p.budget: p for p in paired}
    for budget in sorted({s.budget for s in spreads}):
        pick = {s.kind: s for s in spreads if s.budget == budget and s.k == top_k}
        texts = statistics.fmean(s.labelled_texts for s in pick.values()) if pick else 0.0
        p = by_budget.get(budget)
        diff = f"{100 * p.difference:+.1f} [{100 * p.low:+.1f}, {100 * p.high:+.1f}]" if p else "–"
        figures = [f"{100 * pick[k].mean:.1f} ± {100 * pick[k].sd:.1f}" if k in pick else "–" for k in ("prm", "orm")]
        lines.append(f"| {budget:g} | {texts:.0f} | " + " | ".join(figures) + f" | {diff} |")
    if paired:
        lines += ["", f"Intervals: {paired[0].method}; each problem's value is its mean over the seeds."]
    return "\n".join(lines)


def plot_study(spreads: Sequence[SeedSpread], out_dir) -> list:
    """Two PNGs under ``out_dir``: best@k curves (mean ± sd band over seeds) of PRM and ORM at the largest budget,
    and the sample-efficiency curve (best@n at the largest k against labelled training texts)."""
    from pathlib import Path

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not spreads:
        raise ValueError("plot_study needs at least one study result")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    top_budget = max(s.budget for s in spreads)
    top_k = max(s.k for s in spreads)
    style = {"prm": ("tab:blue", "-"), "orm": ("tab:orange", "--")}
    paths = []
    for name, select, x_of, xlabel in (
        ("study-best-at-k.png", lambda s: s.budget == top_budget, lambda s: s.k, "k (samples per problem)"),
        ("study-sample-efficiency.png", lambda s: s.k == top_k, lambda s: s.labelled_texts, "labelled training texts"),
    ):
        fig = Figure(figsize=(6.4, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for kind, (colour, dash) in style.items():
            points = sorted((x_of(s), s) for s in spreads if s.kind == kind and select(s))
            if not points:
                continue
            xs = [x for x, _ in points]
            ys = [100 * s.mean for _, s in points]
            sds = [100 * s.sd for _, s in points]
            ax.plot(xs, ys, dash, marker="o", color=colour, label=f"{kind.upper()} (mean ± sd over seeds)")
            low = [y - d for y, d in zip(ys, sds, strict=True)]
            high = [y + d for y, d in zip(ys, sds, strict=True)]
            ax.fill_between(xs, low, high, color=colour, alpha=0.2)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"best@{top_k} accuracy, %" if "efficiency" in name else "best@k accuracy, %")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
        fig.savefig(out / name, dpi=120)
        paths.append(out / name)
    return paths
