"""The design document's step-level analysis of a scorer, one column per scorer (PRM and ORM side by side).

For candidates with gold step labels (``arith``: exact), scored step by step:

* **candidate-score correlation**: point-biserial correlation of the aggregated candidate score (the scorer's own
  aggregation: min for a PRM, last for an ORM) with final-answer correctness (the design document reports ORM 0.72,
  PRM 0.89);
* **early error detection** at the validation-chosen threshold: over solutions with a wrong step, the mean gold
  first-error step vs the mean step the scorer flags first, and the share flagged at or before their first error;
* **ProcessBench F1** on the test candidates (threshold chosen on the validation candidates; solutions pooled);
* **within-problem pairwise step accuracy**: same problem and prefix, the correct next step vs a corrupted one —
  the share of pairs where the correct step scores higher (ties count half).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bon_core.aggregate import aggregate
from bon_core.metrics.steps import (
    choose_threshold,
    detected_first_error,
    early_error_detection,
    first_error_index,
    processbench_f1,
    score_correctness_correlation,
)
from bon_core.types import Candidate


@dataclass(frozen=True)
class LabelledScores:
    """One candidate's step scores, gold step labels, aggregated score and final-answer correctness."""

    step_scores: tuple[float, ...]
    step_labels: tuple[str | None, ...]
    candidate_score: float
    correct: bool


@dataclass(frozen=True)
class StepAnalysis:
    """The figures of one scorer; ``None`` where a figure is undefined on these candidates (``notes`` say why)."""

    scorer: str
    candidate_correlation: float | None
    threshold: float | None
    gold_first_error_mean: float | None
    flagged_first_mean: float | None
    flagged_at_or_before: float | None  # share of solutions with a wrong step flagged at or before their first error
    processbench_f1: float | None
    processbench_solutions: int
    pairwise_accuracy: float | None
    pairs: int
    notes: tuple[str, ...] = ()


def labelled_scores(
    candidates: Sequence[Candidate], step_scores: Mapping[tuple[str, int], Sequence[float]], aggregation: str
) -> dict[tuple[str, int], LabelledScores]:
    """The candidates a scorer scored step by step (one score per step), keyed by (problem id, sample index),
    with their gold step labels, their score aggregated with ``aggregation`` and their correctness. Candidates
    without steps, without scores or with a score count other than their step count are left out."""
    out = {}
    for c in candidates:
        scores = step_scores.get((c.problem_id, c.sample_index))
        if not c.steps or scores is None or len(scores) != len(c.steps):
            continue
        out[(c.problem_id, c.sample_index)] = LabelledScores(
            tuple(scores), tuple(s.label for s in c.steps), aggregate(scores, aggregation), bool(c.correct)
        )
    return out


def pairwise_accuracy(pairs: Sequence[tuple[float, float]]) -> float:
    """Share of ``(correct_step_score, corrupted_step_score)`` pairs ordered right; a tie counts half."""
    if not pairs:
        raise ValueError("pairwise accuracy needs at least one pair of steps")
    return sum(1.0 if good > bad else 0.5 if good == bad else 0.0 for good, bad in pairs) / len(pairs)


def analyse_steps(
    scorer: str,
    test: Sequence[LabelledScores],
    validation: Sequence[LabelledScores],
    twin_pairs: Sequence[tuple[float, float]] = (),
) -> StepAnalysis:
    """Every figure of the module docstring for one scorer; the threshold comes from ``validation`` only."""
    if not test or not validation:
        raise ValueError("the step analysis needs scored test and validation candidates")
    notes = []
    val_first = [first_error_index(c.step_labels) for c in validation]
    test_first = [first_error_index(c.step_labels) for c in test]
    wrong = [(c, g) for c, g in zip(test, test_first, strict=True) if g is not None]
    threshold = correlation = at_or_before = f1 = None
    gold_mean = flagged_mean = None
    if None in val_first and any(g is not None for g in val_first):
        threshold = choose_threshold([c.step_scores for c in validation], val_first)
    else:
        notes.append(f"{scorer}: no threshold — the validation candidates are not both right and wrong")
    if len({c.correct for c in test}) == 2:
        correlation = score_correctness_correlation(
            [c.candidate_score for c in test], [c.correct for c in test]
        ).point_biserial
    else:
        notes.append(f"{scorer}: no correlation — every test candidate is {'right' if test[0].correct else 'wrong'}")
    if threshold is not None and wrong:
        detection = early_error_detection([c.step_scores for c in test], test_first, threshold)
        gold_mean, flagged_mean = detection.mean_true_index, detection.mean_detected_index
        at_or_before = sum(
            1 for c, g in wrong if (d := detected_first_error(c.step_scores, threshold)) is not None and d <= g
        ) / len(wrong)
        if len(wrong) < len(test):
            f1 = processbench_f1([c.step_scores for c in test], test_first, threshold).f1
    if f1 is None:
        notes.append(f"{scorer}: no ProcessBench F1 — it needs a threshold and both right and wrong test solutions")
    return StepAnalysis(
        scorer=scorer,
        candidate_correlation=correlation,
        threshold=threshold,
        gold_first_error_mean=gold_mean,
        flagged_first_mean=flagged_mean,
        flagged_at_or_before=at_or_before,
        processbench_f1=f1,
        processbench_solutions=len(test),
        pairwise_accuracy=pairwise_accuracy(twin_pairs) if twin_pairs else None,
        pairs=len(twin_pairs),
        notes=tuple(notes),
    )


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def step_analysis_markdown(analyses: Sequence[StepAnalysis]) -> str:
    """The analysis as a Markdown table, one column per scorer, with what each row means."""
    if not analyses:
        return "(no step analysis)"
    rows = [
        ("candidate score vs correctness (point-biserial r)", lambda a: _fmt(a.candidate_correlation)),
        ("gold first-error step (mean, 0-based)", lambda a: _fmt(a.gold_first_error_mean, 2)),
        ("first flagged step (mean, where flagged)", lambda a: _fmt(a.flagged_first_mean, 2)),
        ("wrong solutions flagged at or before their first error", lambda a: _fmt(a.flagged_at_or_before)),
        ("ProcessBench F1 (pooled test candidates)", lambda a: _fmt(a.processbench_f1)),
        ("threshold (chosen on validation)", lambda a: _fmt(a.threshold, 2)),
        ("pairwise step accuracy (same prefix: correct vs corrupted next step)", lambda a: _fmt(a.pairwise_accuracy)),
    ]
    head = "| step-level analysis | " + " | ".join(a.scorer for a in analyses) + " |"
    lines = [head, "|---|" + "---|" * len(analyses)]
    lines += [f"| {label} | " + " | ".join(get(a) for a in analyses) + " |" for label, get in rows]
    counts = analyses[0]
    lines.append(
        f"\n{counts.processbench_solutions} test candidates with exact step labels; {counts.pairs} step pairs."
    )
    lines += [f"– {note}" for a in analyses for note in a.notes]
    return "\n".join(lines)
