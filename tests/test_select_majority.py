"""Majority is self-consistency: no scorer, ties by the lowest sample index, and the stored selection agrees with
the maj@k curve at k = n on the same pools (the path ``select_evaluate`` uses: ``evaluate_pools``)."""

from bon_core.evaluation import ScoreSet, evaluate_pools
from bon_core.metrics import Pool, curve
from bon_core.select import STRATEGIES, select
from bon_core.types import Candidate


def pool(pid, answers, reference, tokens=10):
    return tuple(
        Candidate(pid, i, f"{pid}-{i}", num_tokens=tokens, answer=a, correct=a == reference)
        for i, a in enumerate(answers)
    )


# Four problems of n = 4. Three tie; in each the scorer prefers the class NOT seen first, so a score-broken tie
# and a lowest-index tie give different answers.
POOLS = {
    "tie-right-first": pool("tie-right-first", ["7", "8", "7", "8"], "7"),  # lowest index: 7 (right)
    "tie-wrong-first": pool("tie-wrong-first", ["5", "6", "6", "5"], "6"),  # lowest index: 5 (wrong)
    "tie-with-none": pool("tie-with-none", [None, "3", "4", None], "4"),  # 3 seen first (wrong)
    "clear": pool("clear", ["1", "2", "2", "2"], "2"),  # 2 wins outright (right)
}
SCORES = {
    "tie-right-first": [0.1, 0.9, 0.1, 0.2],
    "tie-wrong-first": [0.1, 0.9, 0.2, 0.3],
    "tie-with-none": [0.5, 0.1, 0.8, 0.5],
    "clear": [0.9, 0.1, 0.1, 0.1],
}
SCORE_SET = ScoreSet("prm", "min", {(pid, i): s for pid, scores in SCORES.items() for i, s in enumerate(scores)})


def test_majority_uses_no_scorer_by_the_registry():
    assert not STRATEGIES["majority"].uses_scorer()
    assert STRATEGIES["majority_tiebreak"].uses_scorer()
    assert not STRATEGIES["random"].uses_scorer() and not STRATEGIES["oracle"].uses_scorer()
    assert not STRATEGIES["adaptive_n"].uses_scorer() and STRATEGIES["adaptive_n"].uses_scorer({"then": "weighted"})


def test_majority_ties_do_not_depend_on_scores():
    for pid, candidates in POOLS.items():
        picks = {select(candidates, s, "majority").sample_index for s in (None, SCORES[pid], SCORES[pid][::-1])}
        assert len(picks) == 1, pid
    assert [select(c, SCORES[pid], "majority").sample_index for pid, c in POOLS.items()] == [0, 0, 1, 1]
    # the scorer-tie-broken variant follows the scores instead
    assert [select(c, SCORES[pid], "majority_tiebreak").sample_index for pid, c in POOLS.items()] == [1, 1, 2, 1]


def test_stored_majority_selection_equals_the_curve_at_k_equals_n():
    evaluation = evaluate_pools(POOLS, [SCORE_SET], prompt_tokens=dict.fromkeys(POOLS, 5))
    chosen = evaluation.selections["majority"]
    stored = sum(bool(s.correct) for s in chosen) / len(chosen)
    (at_n,) = [p for p in evaluation.curves if p.strategy == "majority" and p.n == 4]
    assert stored == at_n.value == 0.5  # right on tie-right-first and clear; wrong on the other two
    (point,) = [p for p in evaluation.selection_points if p.strategy == "majority"]
    assert point.value == at_n.value
    # the same curve straight from the metrics API
    (direct,) = curve([Pool(pid, c) for pid, c in POOLS.items()], "maj", [4])
    assert direct.value == 0.5
    # the scorer-tie-broken variant is its own strategy: here it is wrong only on tie-right-first
    tiebreak = [select(c, SCORES[pid], "majority_tiebreak").correct for pid, c in POOLS.items()]
    assert tiebreak == [False, True, True, True]


def test_majority_and_other_scorer_free_strategies_record_no_scorer():
    strategies = (("majority", {}), ("random", {"seed": 0}), ("oracle", {}), ("majority_tiebreak", {}), ("max", {}))
    evaluation = evaluate_pools(POOLS, [SCORE_SET], strategies=strategies, prompt_tokens=dict.fromkeys(POOLS, 5))
    assert evaluation.scorer_of == {"majority_tiebreak": "prm", "max": "prm"}
    for strategy in ("majority", "random", "oracle"):
        assert all((s.scorer_calls, s.scorer_tokens) == (0, 0) for s in evaluation.selections[strategy])
        (point,) = [p for p in evaluation.selection_points if p.strategy == strategy]
        assert (point.scorer, point.aggregation, point.scorer_tokens) == ("", "", 0.0)
    (tiebreak,) = [p for p in evaluation.selection_points if p.strategy == "majority_tiebreak"]
    assert (tiebreak.scorer, tiebreak.aggregation, tiebreak.scorer_tokens) == ("prm", "min", 4 * (5 + 10))
    assert any("tied vote goes to the answer seen at the lowest sample index" in n for n in evaluation.notes)


def test_majority_runs_without_any_scorer():
    evaluation = evaluate_pools(POOLS, [], strategies=(("majority", {}), ("max", {})))
    assert set(evaluation.selections) == {"majority"}
    assert "max skipped: it needs a scorer and none was given" in evaluation.notes
