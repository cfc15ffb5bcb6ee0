"""The PRM-vs-ORM study's figures on constructed inputs whose answers are known, and the step-level analysis."""

from __future__ import annotations

import pytest

from bon_core.metrics.step_analysis import LabelledScores, analyse_steps, pairwise_accuracy, step_analysis_markdown
from bon_core.study import StudyCell, budget_subsets, paired_prm_minus_orm, seed_spread, study_markdown


def _cell(kind: str, seed: int, budget: float, per_problem: dict[str, float], texts: int = 100) -> StudyCell:
    mean = sum(per_problem.values()) / len(per_problem)
    return StudyCell(kind, seed, budget, texts, per_problem, ((1, 0.5), (16, mean)))


def test_budget_subsets_are_nested_and_sized():
    ids = [f"p{i}" for i in range(80)]
    subsets = budget_subsets(ids, (0.125, 0.25, 0.5, 1.0), seed=0)
    assert [len(subsets[b]) for b in (0.125, 0.25, 0.5, 1.0)] == [10, 20, 40, 80]
    assert set(subsets[0.125]) <= set(subsets[0.25]) <= set(subsets[0.5]) <= set(subsets[1.0]) == set(ids)
    assert budget_subsets(ids, (0.5,), seed=1)[0.5] != subsets[0.5]  # another seed, another draw
    with pytest.raises(ValueError, match="share of the train problems"):
        budget_subsets(ids, (0.0,), seed=0)


def test_seed_spread_is_mean_and_sample_sd():
    cells = [_cell("prm", s, 1.0, {"a": v, "b": v}) for s, v in enumerate((0.7, 0.8, 0.9))]
    (k1, k16) = [s for s in seed_spread(cells) if s.kind == "prm"]
    assert (k1.k, k1.mean, k1.sd) == (1, 0.5, 0.0)
    assert k16.k == 16 and k16.mean == pytest.approx(0.8) and k16.sd == pytest.approx(0.1) and k16.seeds == 3


def test_paired_difference_with_known_answers():
    problems = [f"p{i}" for i in range(20)]
    prm = [_cell("prm", s, 1.0, {p: 1.0 for p in problems}) for s in range(3)]
    orm = [_cell("orm", s, 1.0, {p: 0.0 for p in problems}) for s in range(3)]
    exact = paired_prm_minus_orm(prm + orm, 1.0, resamples=1000)
    assert (exact.difference, exact.low, exact.high, exact.problems, exact.seeds) == (1.0, 1.0, 1.0, 20, 3)
    # PRM right on 10 problems the ORM gets wrong, both right on the other 10: +0.5, interval around it, above 0
    half = [_cell("prm", 0, 1.0, {p: 1.0 for p in problems})]
    other = [_cell("orm", 0, 1.0, {p: float(i >= 10) for i, p in enumerate(problems)})]
    mixed = paired_prm_minus_orm(half + other, 1.0, resamples=4000)
    assert mixed.difference == pytest.approx(0.5) and 0.2 < mixed.low < 0.5 < mixed.high < 0.8
    # seeds are averaged per problem first: a problem the PRM solves in 2 of 3 seeds counts 2/3
    seeds = [_cell("prm", s, 1.0, {"p0": float(s < 2), "p1": 1.0}) for s in range(3)]
    zero = [_cell("orm", 0, 1.0, {"p0": 0.0, "p1": 1.0})]
    assert paired_prm_minus_orm(seeds + zero, 1.0, resamples=1000).difference == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="no PRM trained at budget 0.5"):
        paired_prm_minus_orm(prm + orm, 0.5)


def test_study_markdown_reports_each_budget():
    cells = [_cell(k, s, b, {"a": 1.0 if k == "prm" else 0.5}, texts=int(800 * b)) for k in ("prm", "orm")
             for s in range(2) for b in (0.5, 1.0)]  # fmt: skip
    text = study_markdown(seed_spread(cells), [paired_prm_minus_orm(cells, b, resamples=200) for b in (0.5, 1.0)])
    assert "| PRM | 2 | 50.0 ± 0.0 | 100.0 ± 0.0 |" in text
    assert "| 0.5 | 400 | 100.0 ± 0.0 | 50.0 ± 0.0 | +50.0 [+50.0, +50.0] |" in text


def _scored(scores, labels, correct):
    return LabelledScores(tuple(scores), tuple(labels), min(scores), correct)


def test_step_analysis_on_literal_candidates():
    ok, bad = "correct", "incorrect"
    # any threshold in (0.4, 0.9] separates these perfectly; the lowest grid point of them, 0.41, is chosen
    validation = [_scored([0.95, 0.95], [ok, ok], True), _scored([0.9, 0.4], [ok, bad], False)]
    test = [
        _scored([0.9, 0.8, 0.9], [ok, ok, ok], True),
        _scored([0.9, 0.2, 0.1], [ok, bad, bad], False),  # flagged exactly at its first error (1)
        _scored([0.3, 0.9, 0.9], [ok, ok, bad], False),  # flagged at 0, before its first error (2)
        _scored([0.9, 0.9, 0.9], [ok, ok, bad], False),  # never flagged
    ]
    result = analyse_steps("prm", test, validation, [(0.9, 0.1), (0.5, 0.5), (0.2, 0.7)])
    assert result.threshold == pytest.approx(0.41)
    assert result.gold_first_error_mean == pytest.approx(5 / 3)
    assert result.flagged_first_mean == pytest.approx(0.5)
    assert result.flagged_at_or_before == pytest.approx(2 / 3)
    # ProcessBench: 1 of 3 wrong solutions flagged exactly at its first error, the correct one not flagged
    assert result.processbench_f1 == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert result.pairwise_accuracy == pytest.approx(0.5) and result.pairs == 3
    assert "| ProcessBench F1 (pooled test candidates) | 0.500 |" in step_analysis_markdown([result])
    assert pairwise_accuracy([(1.0, 0.0)]) == 1.0
    with pytest.raises(ValueError, match="at least one pair"):
        pairwise_accuracy([])
