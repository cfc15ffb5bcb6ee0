"""Step-level quality of a scorer against gold step labels.

Scores are per-step probabilities that the step is correct (one sequence per solution); gold labels are the
``Step.label`` values ``"correct"``, ``"incorrect"``, ``"neutral"`` or ``None``. Neutral and unlabelled steps are
left out of step AUROC and calibration; for first-error metrics only ``"incorrect"`` counts as an error.

ProcessBench (Zheng et al. 2024): a solution's predicted first error is its first step with score < threshold
(None if there is none). Accuracy on erroneous solutions is the fraction whose predicted index equals the gold
first-error index, accuracy on correct solutions the fraction with no predicted error, and F1 their harmonic mean.
The threshold is chosen on a validation split by grid search maximising F1 (lowest threshold on ties) and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

StepScoreSeqs = Sequence[Sequence[float]]
StepLabelSeqs = Sequence[Sequence[str | None]]
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.01 * i, 2) for i in range(1, 100))


def _flatten_labelled(step_scores: StepScoreSeqs, step_labels: StepLabelSeqs) -> tuple[np.ndarray, np.ndarray]:
    if len(step_scores) != len(step_labels):
        raise ValueError(f"{len(step_scores)} score sequences for {len(step_labels)} label sequences")
    ys, ss = [], []
    for i, (scores, labels) in enumerate(zip(step_scores, step_labels, strict=True)):
        if len(scores) != len(labels):
            raise ValueError(f"solution {i}: {len(scores)} step scores for {len(labels)} step labels")
        for s, lab in zip(scores, labels, strict=True):
            if lab in ("correct", "incorrect"):
                ys.append(1 if lab == "correct" else 0)
                ss.append(float(s))
    return np.asarray(ss), np.asarray(ys)


def binary_auroc(scores: Sequence[float] | np.ndarray, positives: Sequence[bool] | np.ndarray) -> float:
    """AUROC of ``scores`` for telling positives from negatives (sklearn ``roc_auc_score``); ValueError when only one
    class is present (the AUROC is then undefined, not 0.5)."""
    truth = np.asarray(positives, dtype=bool)
    if truth.all() or not truth.any():
        raise ValueError("step AUROC needs both correct and incorrect labelled steps")
    from sklearn.metrics import roc_auc_score  # imported here: sklearn takes seconds to import

    return float(roc_auc_score(truth, np.asarray(scores, dtype=float)))


def step_auroc(step_scores: StepScoreSeqs, step_labels: StepLabelSeqs) -> float:
    """AUROC of step scores for telling ``correct`` steps from ``incorrect`` ones (:func:`binary_auroc`)."""
    scores, labels = _flatten_labelled(step_scores, step_labels)
    return binary_auroc(scores, labels == 1)


def expected_calibration_error(probs: Sequence[float], outcomes: Sequence[int | bool], n_bins: int = 10) -> float:
    """ECE: sum over equal-width probability bins of (bin share) × |accuracy − mean probability|.

    Bins are [0, 1/n_bins), …, [1 − 1/n_bins, 1]; a probability of exactly 1.0 falls in the last bin.
    """
    p = np.asarray(probs, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    if p.shape != y.shape or p.size == 0:
        raise ValueError(f"probs and outcomes must be non-empty and aligned; got {p.size} and {y.size}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probs must lie in [0, 1]")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        mask = bins == b
        ece += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(ece)


def step_calibration_error(step_scores: StepScoreSeqs, step_labels: StepLabelSeqs, n_bins: int = 10) -> float:
    """ECE of step scores as probabilities of the step being correct (neutral/unlabelled steps left out)."""
    scores, labels = _flatten_labelled(step_scores, step_labels)
    return expected_calibration_error(scores, labels, n_bins)


@dataclass(frozen=True)
class Correlation:
    """How well one candidate score tracks final-answer correctness."""

    point_biserial: float
    auroc: float
    count: int


def score_correctness_correlation(scores: Sequence[float], correct: Sequence[bool]) -> Correlation:
    """Point-biserial correlation (scipy) and AUROC (sklearn) of candidate scores vs final correctness."""
    y = np.asarray(correct, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or len(set(y.tolist())) < 2:
        raise ValueError("scores and correct must be aligned and correct must hold both True and False")
    from scipy.stats import pointbiserialr
    from sklearn.metrics import roc_auc_score

    r = pointbiserialr(y, s).statistic
    return Correlation(float(r), float(roc_auc_score(y, s)), int(y.size))


def first_error_index(labels: Sequence[str | None]) -> int | None:
    """Index of the first ``incorrect`` step, or None if there is none."""
    return next((i for i, lab in enumerate(labels) if lab == "incorrect"), None)


def detected_first_error(scores: Sequence[float], threshold: float) -> int | None:
    """Index of the first step scored below ``threshold`` (the scorer's first detected error), or None."""
    return next((i for i, s in enumerate(scores) if s < threshold), None)


@dataclass(frozen=True)
class ProcessBenchResult:
    """ProcessBench accuracies and F1 at ``threshold`` (over ``n_error`` wrong and ``n_correct`` right solutions)."""

    threshold: float
    error_accuracy: float
    correct_accuracy: float
    f1: float
    n_error: int
    n_correct: int


def processbench_f1(
    step_scores: StepScoreSeqs, first_errors: Sequence[int | None], threshold: float
) -> ProcessBenchResult:
    """ProcessBench F1 at a fixed threshold; ``first_errors`` holds each solution's gold first-error index."""
    if len(step_scores) != len(first_errors):
        raise ValueError(f"{len(step_scores)} score sequences for {len(first_errors)} first-error labels")
    hit_err, n_err, hit_ok, n_ok = 0, 0, 0, 0
    for scores, gold in zip(step_scores, first_errors, strict=True):
        pred = detected_first_error(scores, threshold)
        if gold is None:
            n_ok += 1
            hit_ok += pred is None
        else:
            n_err += 1
            hit_err += pred == gold
    if n_err == 0 or n_ok == 0:
        raise ValueError("ProcessBench F1 needs both erroneous and correct solutions")
    a, b = hit_err / n_err, hit_ok / n_ok
    f1 = 0.0 if a + b == 0 else 2 * a * b / (a + b)
    return ProcessBenchResult(threshold, a, b, f1, n_err, n_ok)


def choose_threshold(
    step_scores: StepScoreSeqs, first_errors: Sequence[int | None], grid: Sequence[float] = DEFAULT_GRID
) -> float:
    """The grid threshold maximising ProcessBench F1 on a validation split (lowest on ties)."""
    best = max(grid, key=lambda t: (processbench_f1(step_scores, first_errors, t).f1, -t))
    return float(best)


def processbench_eval(
    val_scores: StepScoreSeqs,
    val_first_errors: Sequence[int | None],
    test_scores: StepScoreSeqs,
    test_first_errors: Sequence[int | None],
    grid: Sequence[float] = DEFAULT_GRID,
) -> ProcessBenchResult:
    """Choose the threshold on the validation split, report ProcessBench F1 on the test split at it."""
    return processbench_f1(test_scores, test_first_errors, choose_threshold(val_scores, val_first_errors, grid))


@dataclass(frozen=True)
class EarlyErrorDetection:
    """Where the scorer first flags an error vs where the first error really is, on erroneous solutions."""

    mean_detected_index: float  # over erroneous solutions where an error was detected (nan if none)
    mean_true_index: float  # over all erroneous solutions
    mean_offset: float  # mean (detected − true) where detected; < 0 means flagged too early (nan if none)
    detected_fraction: float
    count: int


def early_error_detection(
    step_scores: StepScoreSeqs, first_errors: Sequence[int | None], threshold: float
) -> EarlyErrorDetection:
    """Mean index of the first detected error vs the true first error, over solutions that have an error."""
    pairs = [
        (detected_first_error(s, threshold), g) for s, g in zip(step_scores, first_errors, strict=True) if g is not None
    ]
    if not pairs:
        raise ValueError("early error detection needs at least one solution with an error")
    found = [(d, g) for d, g in pairs if d is not None]
    nan = float("nan")
    return EarlyErrorDetection(
        mean_detected_index=float(np.mean([d for d, _ in found])) if found else nan,
        mean_true_index=float(np.mean([g for _, g in pairs])),
        mean_offset=float(np.mean([d - g for d, g in found])) if found else nan,
        detected_fraction=len(found) / len(pairs),
        count=len(pairs),
    )
