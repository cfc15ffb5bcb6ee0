"""A scorer judged by the candidates it would pick, computed in bon_core from stored candidates and step scores:
the validation best@N (``flows.train.validation_best_at_n``), a study cell, the paired scorer comparison, the
step-analysis inputs and ``bon select`` over a run's pools."""

from __future__ import annotations

import pytest

from bon_core.evaluation import scores_by_problem, select_pools
from bon_core.metrics.step_analysis import LabelledScores, labelled_scores
from bon_core.prm.records import StepLabelledExample
from bon_core.scored_pools import (
    BestAtN,
    aggregated_scores,
    best_at_n,
    best_at_n_by_problem,
    candidates_to_score,
    scored_pools,
)
from bon_core.scorer_comparison import (
    POLICY_BASELINE,
    compare_best_at_n,
    comparison_markdown,
    comparison_points,
    policy_scores,
)
from bon_core.study import study_cell, training_texts
from bon_core.types import Candidate, Step, StepScores


def _steps(labels):
    return tuple(Step(i, f"s{i}", 2 * i, 2 * i + 2, label) for i, label in enumerate(labels))


# p1: the right candidate has the weaker minimum but the better last step; p2: the unscored (step-less) candidate
# is the wrong one. Listed out of pool order, as a store may return them.
CANDIDATES = [
    Candidate("p2", 1, "p2-1", answer="9", correct=False, mean_logprob=-0.1),
    Candidate("p1", 1, "p1-1", answer="5", correct=False, steps=_steps(["correct", "incorrect"]), mean_logprob=-0.2),
    Candidate("p1", 0, "p1-0", answer="4", correct=True, steps=_steps(["correct", "correct"]), mean_logprob=-0.5),
    Candidate("p2", 0, "p2-0", answer="7", correct=True, steps=_steps(["correct"])),
]
STEP_SCORES = [
    StepScores("p1", 0, (0.3, 0.9)),
    StepScores("p1", 1, (0.5, 0.6)),
    StepScores("p2", 0, (0.7,)),
]


def test_candidates_to_score_are_those_with_steps_in_pool_order():
    assert [(c.problem_id, c.sample_index) for c in candidates_to_score(CANDIDATES)] == [
        ("p1", 0),
        ("p1", 1),
        ("p2", 0),
    ]
    with pytest.raises(ValueError, match="different numbers of samples"):
        candidates_to_score(CANDIDATES[1:])


def test_best_at_n_under_each_aggregation():
    # min: p1 picks sample 1 (0.5 > 0.3, wrong), p2 picks sample 0 (0.7 > no steps = 0.0, right)
    assert best_at_n(CANDIDATES, STEP_SCORES, "min") == BestAtN(0.5, 2)
    # last: p1 picks sample 0 (0.9 > 0.6, right)
    assert best_at_n(CANDIDATES, STEP_SCORES, "last") == BestAtN(1.0, 2)
    assert aggregated_scores(STEP_SCORES, "prod") == pytest.approx({("p1", 0): 0.27, ("p1", 1): 0.3, ("p2", 0): 0.7})


def test_scored_pools_give_the_missing_score_to_unscored_candidates():
    pools = scored_pools(CANDIDATES, {("p1", 0): 0.2, ("p2", 0): 0.4}, missing=-1.0)
    assert [(p.problem_id, p.scores) for p in pools] == [("p1", (0.2, -1.0)), ("p2", (0.4, -1.0))]
    assert best_at_n_by_problem(pools) == {"p1": 1.0, "p2": 1.0}


def test_study_cell_reads_each_kind_with_its_natural_aggregation():
    prm = study_cell("prm", 0, 0.5, 12, CANDIDATES, STEP_SCORES, 3.0)  # min
    orm = study_cell("orm", 0, 0.5, 12, CANDIDATES, STEP_SCORES)  # last
    assert (prm.per_problem, prm.curve, prm.labelled_texts, prm.train_seconds) == (
        {"p1": 0.0, "p2": 1.0},
        ((1, 0.5), (2, 0.5)),
        12,
        3.0,
    )
    assert (orm.per_problem, orm.curve) == ({"p1": 1.0, "p2": 1.0}, ((1, 0.5), (2, 1.0)))


def test_training_texts_take_a_budget_share_of_the_contrastive_problems():
    def example(problem):
        return StepLabelledExample(problem, ("a",), (1.0,))

    a, b = example("stored-a"), example("stored-b")
    contrastive = [example("q1"), example("q1"), example("q2"), example("q3")]
    labelled = [("a", a), ("b", b)]
    assert training_texts(labelled, contrastive, {"a"}, 0.5) == [a, *contrastive[:3]]  # round(1.5) = 2 problems
    assert training_texts(labelled, contrastive, {"a", "b"}, 0.1) == [a, b, *contrastive[:2]]  # at least one
    assert training_texts(labelled, [], {"b"}, 1.0) == [b]


def test_labelled_scores_keep_candidates_scored_step_by_step():
    scores = {("p1", 0): (0.3, 0.9), ("p1", 1): (0.5,), ("p2", 0): (0.7,)}  # p1#1: one score for two steps
    assert labelled_scores(CANDIDATES, scores, "min") == {
        ("p1", 0): LabelledScores((0.3, 0.9), ("correct", "correct"), 0.3, True),
        ("p2", 0): LabelledScores((0.7,), ("correct",), 0.7, True),
    }


def test_scorers_compared_with_the_policy_baseline_on_the_same_problems():
    scores = {
        "prm (last)": aggregated_scores(STEP_SCORES, "last"),
        "prm (min)": aggregated_scores(STEP_SCORES, "min"),
        POLICY_BASELINE: policy_scores(CANDIDATES),  # p1: -0.2 beats -0.5 (wrong); p2: sample 0 has none
    }
    comparison = compare_best_at_n(CANDIDATES, scores)
    assert (comparison.n, comparison.problems) == (2, 2)
    assert comparison.best_at_n == {"prm (last)": 1.0, "prm (min)": 0.5, POLICY_BASELINE: 0.0}
    assert list(comparison.paired) == [
        "prm (last) − prm (min)",
        f"prm (last) − {POLICY_BASELINE}",
        f"prm (min) − {POLICY_BASELINE}",
    ]
    assert comparison.paired["prm (last) − prm (min)"][0] == pytest.approx(0.5)
    markdown = comparison_markdown(comparison, [])
    assert "best@2 on the same 2 test problems (exact expectation over the stored pool)" in markdown
    assert "| prm (min) | 50.0 |" in markdown and "| prm (last) − prm (min) | +50.0 |" in markdown
    points = comparison_points(comparison, [])
    assert [(p.metric, p.scorer, p.n) for p in points] == [
        ("paired_accuracy_difference", k, 2) for k in comparison.paired
    ]


def test_select_pools_applies_one_strategy_and_says_whether_it_read_the_scorer():
    pools = {
        "p1": (CANDIDATES[2], CANDIDATES[1]),
        "p2": (CANDIDATES[3], CANDIDATES[0]),
    }
    scores = aggregated_scores(STEP_SCORES, "min")
    best = select_pools(pools, "max", {}, scores)
    assert [s.sample_index for s in best.selections] == [1, 0] and best.uses_scorer and best.accuracy == 0.5
    oracle = select_pools(pools, "oracle", None, scores)
    assert not oracle.uses_scorer and oracle.accuracy == 1.0
    assert all(s.scorer_calls == 0 for s in oracle.selections)
    with pytest.raises(ValueError, match="needs scores"):
        select_pools(pools, "max", {}, {})


def test_validation_scores_grouped_by_problem_in_sorted_order():
    scores = {("v2", 1): 0.4, ("v1", 0): 0.1, ("v2", 0): 0.3, ("v1", 1): 0.2}
    assert scores_by_problem(scores) == [[0.1, 0.2], [0.3, 0.4]]
