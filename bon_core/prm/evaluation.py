"""Judging a step scorer on step-labelled solutions the way ProcessBench does, next to baselines.

For every group of solutions (a subset: one data file or split) and overall: step AUROC (correct vs incorrect
labelled steps) and ProcessBench F1 — the harmonic mean of first-error accuracy on wrong solutions and accuracy on
all-correct solutions, a solution's predicted first error being its first step scored below a threshold. Thresholds
are chosen on a validation split of the problems (grouped by problem text, so a problem's correct and modified
solutions fall on the same side), per subset on that subset's validation part as ProcessBench does — or, where that
part lacks correct or wrong solutions, on the pooled validation split, with a note saying so — and reported; all
figures are computed on the remaining test split. "Overall" comes two ways: ``overall`` pools every test solution
(each judged at its own subset's threshold), ``mean-of-subsets`` is the unweighted mean of the subsets' F1, which is
what ProcessBench publishes as its average F1.

Baseline: :class:`PositionLengthBaseline` sees no text, only where a step is and how long it is.

>>> val, test = split_validation(records, 0.2)
>>> figures = evaluate_scores("my-prm", val_scores, val, test_scores, test, groups)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bon_core.metrics.steps import DEFAULT_GRID, choose_threshold, detected_first_error, step_auroc
from bon_core.prm.base import CandidateScoringMixin
from bon_core.stepdata.record import LabelledSolution
from bon_core.stepdata.subsets import count_kinds

OVERALL = "overall"
MEAN_OF_SUBSETS = "mean-of-subsets"
GROUP_LABELS = {OVERALL: "overall (pooled)", MEAN_OF_SUBSETS: "overall (mean of per-subset F1)"}
POSITION_LENGTH = "position-length-logistic"


@dataclass(frozen=True)
class ThresholdPlan:
    """Which subsets get a threshold of their own (their validation part holds correct and wrong solutions); the
    others use the pooled one, each with a note saying why."""

    own: frozenset[str]
    notes: tuple[str, ...]


def plan_thresholds(
    val_records: Sequence[LabelledSolution], val_groups: Sequence[str], groups: Sequence[str]
) -> ThresholdPlan:
    """Decide, from the labels alone (before any model is loaded or scored), where each subset in ``groups`` gets its
    threshold. Raises ``ValueError`` when even the pooled validation split lacks correct or wrong solutions."""
    if len(val_groups) != len(val_records):
        raise ValueError(f"{len(val_records)} validation records but {len(val_groups)} groups")
    n_correct, n_wrong = count_kinds(val_records)
    if not n_correct or not n_wrong:
        raise ValueError(
            f"the validation split ({n_correct} all-correct, {n_wrong} wrong solutions) needs both correct and wrong "
            "solutions to choose a threshold; raise the validation fraction or use more solutions"
        )
    own, notes = set(), []
    for group in dict.fromkeys(groups):
        c, w = count_kinds([r for r, g in zip(val_records, val_groups, strict=True) if g == group])
        if c and w:
            own.add(group)
        else:
            notes.append(
                f"{group}: its validation part has {c} all-correct and {w} wrong solutions, so it uses the threshold "
                "chosen on the pooled validation split"
            )
    return ThresholdPlan(frozenset(own), tuple(notes))


def split_validation(
    records: Sequence[LabelledSolution], fraction: float, seed: int = 0
) -> tuple[list[LabelledSolution], list[LabelledSolution]]:
    """``(validation, test)``: a problem goes to validation when the hash of ``(seed, problem text)`` falls below
    ``fraction``, so every solution of one problem lands on the same side and the split is reproducible."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    val, test = [], []
    for record in records:
        digest = hashlib.sha256(f"{seed}\n{record.problem}".encode()).digest()
        (val if int.from_bytes(digest[:8], "big") / 2**64 < fraction else test).append(record)
    return val, test


@dataclass(frozen=True)
class EvalSplit:
    """Validation and test solutions with the subset each belongs to, and where each subset gets its threshold."""

    validation: tuple[LabelledSolution, ...]
    validation_groups: tuple[str, ...]
    test: tuple[LabelledSolution, ...]
    test_groups: tuple[str, ...]
    plan: ThresholdPlan


def prepare_split(
    subsets: Sequence[tuple[str, Sequence[LabelledSolution]]], fraction: float, seed: int = 0
) -> EvalSplit:
    """Split named subsets by problem (:func:`split_validation`) and plan the thresholds (:func:`plan_thresholds`),
    failing at once — before any scoring — when no test solutions remain or no threshold can be chosen."""
    records = [r for _, rows in subsets for r in rows]
    groups = [name for name, rows in subsets for _ in rows]
    val, _ = split_validation(records, fraction, seed)
    in_val = {id(r) for r in val}
    val_groups = tuple(g for r, g in zip(records, groups, strict=True) if id(r) in in_val)
    test = tuple(r for r in records if id(r) not in in_val)
    test_groups = tuple(g for r, g in zip(records, groups, strict=True) if id(r) not in in_val)
    if not test:
        raise ValueError("no test solutions left after the validation split; lower the validation fraction")
    return EvalSplit(tuple(val), val_groups, test, test_groups, plan_thresholds(val, val_groups, test_groups))


def step_label_names(record: LabelledSolution) -> list[str | None]:
    """Labels as the step metrics spell them: ``correct`` / ``incorrect`` / None."""
    return [None if x is None else ("correct" if x == 1.0 else "incorrect") for x in record.labels]


def gold_first_error(record: LabelledSolution) -> int | None:
    """The 0-based first wrong step, None for an all-correct solution."""
    return None if record.first_error < 0 else record.first_error


@dataclass(frozen=True)
class ScorerFigures:
    """One scorer on one group of test solutions; nan where a figure is undefined (e.g. one class only)."""

    scorer: str
    group: str
    step_auroc: float
    f1: float
    error_accuracy: float
    correct_accuracy: float
    threshold: float
    n_solutions: int
    n_error: int
    n_correct: int
    note: str = ""  # e.g. which subsets a mean is over


def threshold_grid(val_scores: Sequence[Sequence[float]]) -> list[float]:
    """The fixed 0.01..0.99 grid plus 100 quantiles of the validation step scores (so scorers whose scores sit in
    a narrow band, like an untrained head, still get a fair threshold)."""
    flat = np.asarray([s for scores in val_scores for s in scores], dtype=float)
    quantiles = np.quantile(flat, np.linspace(0.005, 0.995, 100)).tolist() if flat.size else []
    return sorted(set(DEFAULT_GRID) | {float(q) for q in quantiles})


def figures_for(
    scorer: str,
    group: str,
    scores: Sequence[Sequence[float]],
    records: Sequence[LabelledSolution],
    threshold: float | Sequence[float],
) -> ScorerFigures:
    """Step AUROC and ProcessBench accuracies/F1 of ``scores`` on ``records`` at ``threshold`` (one for all, or one
    per solution; the reported threshold is nan when they differ). F1 is nan unless both kinds are present."""
    labels = [step_label_names(r) for r in records]
    gold = [gold_first_error(r) for r in records]
    try:
        auroc = step_auroc(scores, labels)
    except ValueError:  # a group with only correct (or only incorrect) labelled steps
        auroc = math.nan
    per_solution = [float(threshold)] * len(records) if isinstance(threshold, (int, float)) else list(threshold)
    if len(per_solution) != len(records):
        raise ValueError(f"{len(per_solution)} thresholds for {len(records)} solutions")
    hits = [detected_first_error(s, t) == g for s, t, g in zip(scores, per_solution, gold, strict=True)]
    error_hits = [h for h, g in zip(hits, gold, strict=True) if g is not None]
    correct_hits = [h for h, g in zip(hits, gold, strict=True) if g is None]
    error_acc = float(np.mean(error_hits)) if error_hits else math.nan
    correct_acc = float(np.mean(correct_hits)) if correct_hits else math.nan
    if error_hits and correct_hits:
        f1 = 0.0 if error_acc + correct_acc == 0 else 2 * error_acc * correct_acc / (error_acc + correct_acc)
    else:
        f1 = math.nan
    shown = per_solution[0] if per_solution and len(set(per_solution)) == 1 else math.nan
    return ScorerFigures(
        scorer, group, auroc, f1, error_acc, correct_acc, shown, len(records), len(error_hits), len(correct_hits)
    )


def mean_of_subsets(scorer: str, subsets: Sequence[ScorerFigures]) -> ScorerFigures:
    """The unweighted mean of the subsets' F1 (ProcessBench's "average F1"), over the subsets where F1 is defined;
    the note names any left out. Only F1 is averaged; the other figures are nan."""
    defined = [f for f in subsets if not math.isnan(f.f1)]
    left_out = [f.group for f in subsets if math.isnan(f.f1)]
    mean = float(np.mean([f.f1 for f in defined])) if defined else math.nan
    note = f"{len(defined)} of {len(subsets)} subsets" + (f"; no F1 for {', '.join(left_out)}" if left_out else "")
    return ScorerFigures(
        scorer, MEAN_OF_SUBSETS, math.nan, mean, math.nan, math.nan, math.nan,
        sum(f.n_solutions for f in subsets), sum(f.n_error for f in subsets), sum(f.n_correct for f in subsets), note,
    )  # fmt: skip


def evaluate_scores(
    scorer: str,
    val_scores: Sequence[Sequence[float]],
    val_records: Sequence[LabelledSolution],
    test_scores: Sequence[Sequence[float]],
    test_records: Sequence[LabelledSolution],
    groups: Sequence[str],
    val_groups: Sequence[str] | None = None,
) -> list[ScorerFigures]:
    """Choose ``scorer``'s thresholds on the validation split (max ProcessBench F1) — per subset when ``val_groups``
    names the subset of each validation record (see :func:`plan_thresholds`), else one pooled threshold — then
    figures per test subset (``groups[i]`` names the subset of ``test_records[i]``, in first-seen order), overall
    pooled (:data:`OVERALL`) and the mean of per-subset F1 (:data:`MEAN_OF_SUBSETS`)."""
    if len(test_scores) != len(test_records) or len(groups) != len(test_records):
        raise ValueError(f"{len(test_scores)} scores, {len(test_records)} records, {len(groups)} groups: must match")
    if not test_records:
        raise ValueError("no test solutions left after the validation split; lower the validation fraction")
    if len(val_scores) != len(val_records):
        raise ValueError(f"{len(val_scores)} validation scores for {len(val_records)} validation records")
    plan = plan_thresholds(val_records, val_groups or [OVERALL] * len(val_records), groups)
    pooled = choose_threshold(val_scores, [gold_first_error(r) for r in val_records], threshold_grid(val_scores))
    thresholds = {}
    for group in dict.fromkeys(groups):
        if val_groups is None or group not in plan.own:
            thresholds[group] = pooled
            continue
        members = [i for i, g in enumerate(val_groups) if g == group]
        scores = [val_scores[i] for i in members]
        gold = [gold_first_error(val_records[i]) for i in members]
        thresholds[group] = choose_threshold(scores, gold, threshold_grid(scores))
    subsets = []
    for group, threshold in thresholds.items():
        members = [i for i, g in enumerate(groups) if g == group]
        figures = figures_for(
            scorer, group, [test_scores[i] for i in members], [test_records[i] for i in members], threshold
        )
        fallback = val_groups is not None and group not in plan.own
        subsets.append(replace(figures, note="pooled-validation threshold") if fallback else figures)
    overall = figures_for(scorer, OVERALL, test_scores, test_records, [thresholds[g] for g in groups])
    return [*subsets, overall, mean_of_subsets(scorer, subsets)]


def step_features(steps: Sequence[str]) -> np.ndarray:
    """Per step: 0-based index, relative position index/(n-1) (0 for one step), log(1 + characters)."""
    n = len(steps)
    return np.asarray(
        [[i, i / (n - 1) if n > 1 else 0.0, math.log1p(len(s))] for i, s in enumerate(steps)], dtype=float
    ).reshape(n, 3)


class PositionLengthBaseline(CandidateScoringMixin):
    """``position-length-logistic``: a logistic regression of "step is correct" on the step's index, relative
    position and log length, fitted on labelled validation steps. It reads no text, so whatever it scores is
    what position and length alone give away (on PRMBench: errors are inserted mid-solution, in longer steps)."""

    name = POSITION_LENGTH

    def __init__(self) -> None:
        self._model = None

    def fit(self, records: Sequence[LabelledSolution]) -> PositionLengthBaseline:
        """Fit on every labelled step of ``records`` (needs both correct and incorrect steps)."""
        from sklearn.linear_model import LogisticRegression

        rows, ys = [], []
        for record in records:
            features = step_features(record.steps)
            for row, label in zip(features, record.labels, strict=True):
                if label is not None:
                    rows.append(row)
                    ys.append(int(label == 1.0))
        if len(set(ys)) < 2:
            raise ValueError("the position-length baseline needs correct and incorrect labelled steps to fit")
        self._model = LogisticRegression(max_iter=1000).fit(np.asarray(rows), np.asarray(ys))
        return self

    def score(self, problems: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[list[float]]:
        """P(step correct) per step; ``problems`` are ignored (the baseline reads no text)."""
        if self._model is None:
            raise ValueError("fit the position-length baseline before scoring")
        if len(problems) != len(candidates):
            raise ValueError(f"got {len(problems)} problems for {len(candidates)} solutions")
        return [self._model.predict_proba(step_features(steps))[:, 1].tolist() if steps else [] for steps in candidates]


OVERALL_FOOTNOTE = (
    "overall (pooled): every test solution together, each judged at its own subset's threshold (so no single "
    "threshold is shown). overall (mean of per-subset F1): the unweighted mean of the subsets' F1 — ProcessBench's "
    "published 'average F1' is this figure, so compare published numbers with this row only."
)


def figures_markdown(figures: Sequence[ScorerFigures]) -> str:
    """A Markdown table, one row per (group, scorer), groups in first-seen order, then a footnote defining the two
    overall rows."""

    def fmt(x: float) -> str:
        return "–" if math.isnan(x) else f"{x:.3f}"

    lines = [
        "| subset | scorer | step AUROC | PB F1 | acc. wrong | acc. correct | threshold | solutions (wrong/correct) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = list(dict.fromkeys(f.group for f in figures))
    for group in order:
        for f in (f for f in figures if f.group == group):
            threshold = (
                f"{f.threshold:.3f}" if not math.isnan(f.threshold) else "per subset" if group == OVERALL else "–"
            )
            label = GROUP_LABELS.get(group, group) + (f" ({f.note})" if f.note else "")
            lines.append(
                f"| {label} | {f.scorer} | {fmt(f.step_auroc)} | {fmt(f.f1)} | {fmt(f.error_accuracy)} | "
                f"{fmt(f.correct_accuracy)} | {threshold} | {f.n_solutions} ({f.n_error}/{f.n_correct}) |"
            )
    return "\n".join(lines) + "\n\n" + OVERALL_FOOTNOTE + "\n"
