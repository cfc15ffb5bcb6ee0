"""Judging a step scorer on step-labelled solutions the way ProcessBench does, next to baselines.

For every group of solutions (one data file) and overall: step AUROC (correct vs incorrect labelled steps) and
ProcessBench F1 — the harmonic mean of first-error accuracy on wrong solutions and accuracy on all-correct
solutions, a solution's predicted first error being its first step scored below a threshold. The threshold of each
scorer is chosen on a validation split of the problems (grouped by problem text, so a problem's correct and
modified solutions fall on the same side) and reported; all figures are computed on the remaining test split.

Baseline: :class:`PositionLengthBaseline` sees no text, only where a step is and how long it is.

>>> val, test = split_validation(records, 0.2)
>>> figures = evaluate_scores("my-prm", val_scores, val, test_scores, test, groups)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bon_core.metrics.steps import DEFAULT_GRID, choose_threshold, detected_first_error, processbench_f1, step_auroc
from bon_core.stepdata.record import LabelledSolution

OVERALL = "overall"
POSITION_LENGTH = "position-length-logistic"


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


def threshold_grid(val_scores: Sequence[Sequence[float]]) -> list[float]:
    """The fixed 0.01..0.99 grid plus 100 quantiles of the validation step scores (so scorers whose scores sit in
    a narrow band, like an untrained head, still get a fair threshold)."""
    flat = np.asarray([s for scores in val_scores for s in scores], dtype=float)
    quantiles = np.quantile(flat, np.linspace(0.005, 0.995, 100)).tolist() if flat.size else []
    return sorted(set(DEFAULT_GRID) | {float(q) for q in quantiles})


def figures_for(
    scorer: str, group: str, scores: Sequence[Sequence[float]], records: Sequence[LabelledSolution], threshold: float
) -> ScorerFigures:
    """Step AUROC and ProcessBench accuracies/F1 of ``scores`` on ``records`` at ``threshold``."""
    labels = [step_label_names(r) for r in records]
    gold = [gold_first_error(r) for r in records]
    try:
        auroc = step_auroc(scores, labels)
    except ValueError:  # a group with only correct (or only incorrect) labelled steps
        auroc = math.nan
    n_error = sum(g is not None for g in gold)
    n_correct = len(gold) - n_error
    if n_error and n_correct:
        result = processbench_f1(scores, gold, threshold)
        error_acc, correct_acc, f1 = result.error_accuracy, result.correct_accuracy, result.f1
    else:  # F1 needs both kinds; report the accuracy that exists
        predicted = [detected_first_error(s, threshold) for s in scores]
        hits = [p == g for p, g in zip(predicted, gold, strict=True)]
        error_acc = float(np.mean(hits)) if n_error else math.nan
        correct_acc = float(np.mean(hits)) if n_correct else math.nan
        f1 = math.nan
    return ScorerFigures(scorer, group, auroc, f1, error_acc, correct_acc, threshold, len(records), n_error, n_correct)


def evaluate_scores(
    scorer: str,
    val_scores: Sequence[Sequence[float]],
    val_records: Sequence[LabelledSolution],
    test_scores: Sequence[Sequence[float]],
    test_records: Sequence[LabelledSolution],
    groups: Sequence[str],
) -> list[ScorerFigures]:
    """Choose ``scorer``'s threshold on the validation split (max ProcessBench F1), then figures per test group
    (``groups[i]`` names the group of ``test_records[i]``, in first-seen order) and overall."""
    if len(test_scores) != len(test_records) or len(groups) != len(test_records):
        raise ValueError(f"{len(test_scores)} scores, {len(test_records)} records, {len(groups)} groups: must match")
    if not test_records:
        raise ValueError("no test solutions left after the validation split; lower the validation fraction")
    gold = [gold_first_error(r) for r in val_records]
    if not any(g is None for g in gold) or all(g is None for g in gold):
        raise ValueError("the validation split needs both correct and wrong solutions to choose a threshold")
    threshold = choose_threshold(val_scores, gold, threshold_grid(val_scores))
    figures = []
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        figures.append(
            figures_for(scorer, group, [test_scores[i] for i in members], [test_records[i] for i in members], threshold)
        )
    figures.append(figures_for(scorer, OVERALL, test_scores, test_records, threshold))
    return figures


def step_features(steps: Sequence[str]) -> np.ndarray:
    """Per step: 0-based index, relative position index/(n-1) (0 for one step), log(1 + characters)."""
    n = len(steps)
    return np.asarray(
        [[i, i / (n - 1) if n > 1 else 0.0, math.log1p(len(s))] for i, s in enumerate(steps)], dtype=float
    ).reshape(n, 3)


class PositionLengthBaseline:
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

    def score(self, problems: Sequence[str], solutions: Sequence[Sequence[str]]) -> list[list[float]]:
        """P(step correct) per step; ``problems`` are ignored (the baseline reads no text)."""
        if self._model is None:
            raise ValueError("fit the position-length baseline before scoring")
        if len(problems) != len(solutions):
            raise ValueError(f"got {len(problems)} problems for {len(solutions)} solutions")
        return [self._model.predict_proba(step_features(steps))[:, 1].tolist() if steps else [] for steps in solutions]


def windows(step_lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` step ranges whose summed lengths stay within ``budget``, greedily; a step longer
    than the budget gets a window of its own."""
    if budget < 1:
        raise ValueError(f"window budget must be >= 1, got {budget}")
    spans, start, used = [], 0, 0
    for index, length in enumerate(step_lengths):
        if index > start and used + length > budget:
            spans.append((start, index))
            start, used = index, 0
        used += length
    if step_lengths:
        spans.append((start, len(step_lengths)))
    return spans


def score_in_windows(
    score: Callable[[Sequence[str], Sequence[Sequence[str]]], list[list[float]]],
    problems: Sequence[str],
    solutions: Sequence[Sequence[str]],
    count_tokens: Callable[[Sequence[str]], list[int]],
    budget: int,
) -> list[list[float]]:
    """Score solutions too long for the model window by window, in one ``score`` call.

    ``count_tokens(texts)`` gives each step's token count (tag included) and ``budget`` the tokens steps may take.
    A later window's problem text is the problem followed by the solution's earlier steps, which the model
    left-truncates, so each window sees the nearest preceding steps as context. A step longer than the budget is cut
    (by characters, proportionally) to fit. Identical (problem, solution) pairs are scored once.
    """
    unique: dict[tuple[str, tuple[str, ...]], int] = {}
    for problem, steps in zip(problems, solutions, strict=True):
        unique.setdefault((problem, tuple(steps)), len(unique))
    requests: list[tuple[int, int, str, list[str]]] = []  # (unique index, first step, problem text, steps)
    for (problem, steps), index in unique.items():
        lengths = count_tokens(list(steps)) if steps else []
        for start, end in windows(lengths, budget):
            chunk = [
                s if n <= budget else s[: max(1, len(s) * budget // n)]
                for s, n in zip(steps[start:end], lengths[start:end], strict=True)
            ]
            context = problem if start == 0 else problem + "\n" + "\n".join(steps[:start])
            requests.append((index, start, context, chunk))
    results: list[list[float]] = [[math.nan] * len(steps) for (_, steps) in unique]
    scored = score([r[2] for r in requests], [r[3] for r in requests]) if requests else []
    for (index, start, _, chunk), scores in zip(requests, scored, strict=True):
        results[index][start : start + len(chunk)] = scores
    return [list(results[unique[(p, tuple(s))]]) for p, s in zip(problems, solutions, strict=True)]


def figures_markdown(figures: Sequence[ScorerFigures]) -> str:
    """A Markdown table, one row per (group, scorer), groups in first-seen order."""

    def fmt(x: float) -> str:
        return "–" if math.isnan(x) else f"{x:.3f}"

    lines = [
        "| file | scorer | step AUROC | PB F1 | acc. wrong | acc. correct | threshold | solutions (wrong/correct) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = list(dict.fromkeys(f.group for f in figures))
    for group in order:
        for f in (f for f in figures if f.group == group):
            lines.append(
                f"| {group} | {f.scorer} | {fmt(f.step_auroc)} | {fmt(f.f1)} | {fmt(f.error_accuracy)} | "
                f"{fmt(f.correct_accuracy)} | {f.threshold:.3f} | {f.n_solutions} ({f.n_error}/{f.n_correct}) |"
            )
    return "\n".join(lines) + "\n"
