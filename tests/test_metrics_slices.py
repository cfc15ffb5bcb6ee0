"""Diversity, slices, right-answer-wrong-process rates and scorer ensembles on hand-computed examples."""

import pytest

from bon_core.metrics import (
    Pool,
    combine_step_scores,
    distinct_answers_by_n,
    ensemble_info,
    pool_diversity,
    rawp_selection_rates,
    right_answer_wrong_process,
    selection_point,
    split_by_metadata,
)
from bon_core.select import select
from bon_core.types import Candidate, Problem, ScorerInfo, Selection, Step, StepScores


def steps(*items):
    return tuple(Step(i, t, 0, len(t), lab) for i, (t, lab) in enumerate(items))


def test_pool_diversity():
    cands = [
        Candidate("p", 0, "a b", answer="1", steps=steps(("x", None), ("y", None))),
        Candidate("p", 1, "a  b", answer=" 1", steps=steps(("x ", None), ("y", None))),
        Candidate("p", 2, "c", answer="2", steps=steps(("x", None), ("z", None))),
    ]
    d = pool_diversity(cands)
    # one duplicate text of three; Jaccard pairs 1, 1/3, 1/3
    assert (d.n, d.distinct_answers, d.duplicate_rate) == (3, 2, pytest.approx(1 / 3))
    assert d.mean_step_jaccard == pytest.approx(5 / 9)
    assert distinct_answers_by_n(cands) == {1: 1, 2: 1, 3: 2}
    assert distinct_answers_by_n(cands, [3], normalize=lambda a: a) == {3: 3}


def test_combine_step_scores():
    a = [StepScores("p", 0, (0.2, 0.8)), StepScores("p", 1, (0.6,))]
    b = [StepScores("p", 1, (0.4,)), StepScores("p", 0, (0.4, 1.0))]  # other order: matched by key
    mean = combine_step_scores([a, b], "mean")
    assert mean[0].scores == pytest.approx((0.3, 0.9)) and mean[1].scores == pytest.approx((0.5,))
    assert [s.scores for s in combine_step_scores([a, b], "min")] == [(0.2, 0.8), (0.4,)]
    # ranks: a (0.2, 0.8, 0.6) -> 0, 1, 0.5; b (0.4, 1.0, 0.4) -> 0.25, 1, 0.25
    rank = combine_step_scores([a, b], "rank")
    assert [s.sample_index for s in rank] == [0, 1]
    assert rank[0].scores == pytest.approx((0.125, 1.0)) and rank[1].scores == pytest.approx((0.375,))
    with pytest.raises(ValueError, match="p#0: score set 0 has 2 steps, score set 1 has 1"):
        combine_step_scores([a, [StepScores("p", 0, (0.1,)), StepScores("p", 1, (0.1,))]])
    with pytest.raises(ValueError, match="unknown ensemble method 'max'; known: mean, min, rank"):
        combine_step_scores([a], "max")
    info = ensemble_info([ScorerInfo("prm", "A", "1"), ScorerInfo("orm", "B", "2")], "rank")
    assert (info.kind, info.name, info.config["members"][1]["version"]) == ("ensemble", "rank(A,B)", "2")


def _pools():
    def cands(pid, correct):
        return tuple(Candidate(pid, i, "t", answer=str(i), correct=c) for i, c in enumerate(correct))

    return [Pool("e1", cands("e1", [True])), Pool("h1", cands("h1", [False])), Pool("z", cands("z", [True]))]


def test_split_by_metadata():
    problems = [
        Problem("arith", "e1", "q", "1", metadata={"difficulty": 1}),
        Problem("arith", "h1", "q", "1", metadata={"difficulty": 3}),
        Problem("arith", "z", "q", "1"),
    ]
    groups = split_by_metadata(_pools(), problems, "difficulty")
    assert {k: [p.problem_id for p in v] for k, v in groups.items()} == {"1": ["e1"], "3": ["h1"], "?": ["z"]}
    with pytest.raises(ValueError, match="pool 'z' has no matching problem"):
        split_by_metadata(_pools(), problems[:2], "difficulty")


def test_selection_point():
    sels = [
        Selection("a", "early_stop", {}, 4, 0, "1", True, 1, 10, 1),
        Selection("b", "early_stop", {}, 4, 3, "2", False, 4, 30, 4),
    ]
    p = selection_point(sels, scorer="prm", scorer_tokens_per_call=2.0)
    assert (p.metric, p.n, p.value, p.policy_tokens, p.scorer_tokens, p.strategy) == (
        "accuracy",
        4,
        0.5,
        20.0,
        5.0,
        "early_stop",
    )
    with pytest.raises(ValueError, match="one strategy"):
        selection_point([sels[0], Selection("c", "max", {}, 4, 0, "1", True)])


def test_right_answer_wrong_process_rates():
    rawp = Candidate("p", 0, "t", answer="4", correct=True, steps=steps(("2+2=5", "incorrect"), ("4", "correct")))
    clean = Candidate(
        "p",
        1,
        "t",
        answer="4",
        correct=True,
        steps=steps(
            ("2+2=4", "correct"),
        ),
    )
    wrong = Candidate(
        "p",
        2,
        "t",
        answer="5",
        correct=False,
        steps=steps(
            ("2+2=5", "incorrect"),
        ),
    )
    assert [right_answer_wrong_process(c) for c in (rawp, clean, wrong)] == [True, False, False]
    pool = [rawp, clean, wrong]
    sels = [
        select(pool, [0.9, 0.5, 0.1], "max"),  # picks rawp
        select(pool, [0.1, 0.5, 0.9], "max", None),  # picks wrong
        select(pool, None, "oracle"),  # picks rawp (first correct)
    ]
    rates = rawp_selection_rates(sels, {"p": pool})
    assert (rates["max"].rate, rates["max"].rate_among_correct, rates["max"].count) == (0.5, 1.0, 2)
    assert rates["oracle"].rate == 1.0
