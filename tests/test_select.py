"""Every selection strategy on hand-computed pools."""

import math

import pytest

from bon_core.select import STRATEGIES, select
from bon_core.types import Candidate

ANSWERS = ["7", "8", "7", "8", "9"]
SCORES = [0.6, 0.9, 0.3, 0.5, 0.9]
TOKENS = [10, 20, 30, 40, 50]


def make_pool(answers=ANSWERS, correct_answer="7", tokens=None, logprobs=None, pid="p"):
    tokens = tokens or [10 * (i + 1) for i in range(len(answers))]
    logprobs = logprobs or [None] * len(answers)
    return [
        Candidate(pid, i, f"t{i}", num_tokens=t, mean_logprob=lp, answer=a, correct=a == correct_answer)
        for i, (a, t, lp) in enumerate(zip(answers, tokens, logprobs, strict=True))
    ]


def test_registry_names():
    assert set(STRATEGIES) == {
        "max",
        "majority",
        "majority_tiebreak",
        "weighted",
        "composite",
        "early_stop",
        "adaptive_n",
        "rerank",
        "random",
        "oracle",
    }


def test_max_ties_go_to_lowest_sample_index():
    s = select(make_pool(), SCORES, "max")
    assert (s.sample_index, s.answer, s.correct) == (1, "8", False)
    assert (s.n, s.candidates_used, s.tokens_used, s.scorer_calls) == (5, 5, 150, 5)
    # same pool given in reverse order: still sample 1, not sample 4
    assert select(make_pool()[::-1], SCORES[::-1], "max").sample_index == 1


def test_majority_tiebreak_breaks_ties_by_score_then_index():
    # 7 and 8 both have two votes; 8's best score (0.9) beats 7's (0.6); every candidate is scored
    s = select(make_pool(), SCORES, "majority_tiebreak", prompt_tokens=3)
    assert (s.sample_index, s.answer, s.scorer_calls, s.scorer_tokens) == (1, "8", 5, 150 + 5 * 3)
    s = select(make_pool(), [0.9, 0.1, 0.1, 0.1, 0.1], "majority_tiebreak")
    assert (s.sample_index, s.answer) == (0, "7")


def test_majority_tie_goes_to_lowest_sample_index_whatever_the_scores():
    # 7 and 8 both have two votes: 7 is seen first (sample 0), scores or not; no scorer is read
    for scores in (None, SCORES, [0.0, 1.0, 0.0, 1.0, 1.0]):
        s = select(make_pool(), scores, "majority", prompt_tokens=7)
        assert (s.sample_index, s.answer, s.correct, s.scorer_calls, s.scorer_tokens) == (0, "7", True, 0, 0)


def test_majority_uses_task_normalizer_and_skips_missing_answers():
    pool = make_pool(["1/2", None, "0.5", None, "2"], correct_answer="0.5")
    assert select(pool, None, "majority").answer == "1/2"  # all three distinct by default: first seen wins
    norm = {"1/2": "0.5", "0.5": "0.5", "2": "2"}
    s = select(pool, None, "majority", normalize=lambda a: None if a is None else norm[a])
    assert (s.sample_index, s.answer) == (0, "1/2")
    nobody = make_pool([None, None])
    assert select(nobody, None, "majority").sample_index == 0
    assert select(nobody, [0.1, 0.7], "majority").sample_index == 0  # scores are not read
    assert select(nobody, [0.1, 0.7], "majority_tiebreak").sample_index == 1


def test_weighted_raw_and_softmax():
    assert select(make_pool(), SCORES, "weighted").answer == "8"  # 7: 0.9, 8: 1.4, 9: 0.9
    pool = make_pool(["a", "a", "b"])
    scores = [0.4, 0.4, 0.7]
    assert select(pool, scores, "weighted").sample_index == 0  # a: 0.8 > b: 0.7
    # T=0.1: a gets 2·e^-3 ≈ 0.0996 against b's 1 (before normalising)
    assert select(pool, scores, "weighted", {"temperature": 0.1}).sample_index == 2
    assert select(pool, scores, "weighted", {"temperature": 10.0}).sample_index == 0


def test_composite_weights_change_the_pick():
    pool = make_pool(["a", "a", "b"])
    prm = [0.5, 0.4, 0.8]
    # consistency 0.5, 0.5, 0: 1.0, 0.9, 0.8 (confidence 0: no log-probs)
    assert select(pool, prm, "composite").sample_index == 0
    assert select(pool, prm, "composite", {"w_cons": 0.0}).sample_index == 2
    confident = make_pool(["a", "a", "b"], logprobs=[math.log(0.1), math.log(0.1), 0.0])
    # 0.5+0.1+0.5=1.1, 1.0, 0.8+1+0=1.8
    assert select(confident, prm, "composite").sample_index == 2


def test_early_stop_stops_at_first_over_threshold():
    s = select(make_pool(), SCORES, "early_stop", {"threshold": 0.85})
    assert (s.sample_index, s.candidates_used, s.tokens_used, s.scorer_calls) == (1, 2, 30, 2)
    s = select(make_pool(), SCORES, "early_stop", {"threshold": 0.95})
    assert (s.sample_index, s.candidates_used, s.tokens_used, s.scorer_calls) == (1, 5, 150, 5)
    # walks in sampling order even when the pool is given shuffled
    shuffled = [make_pool()[i] for i in (4, 2, 0, 3, 1)]
    s = select(shuffled, [SCORES[i] for i in (4, 2, 0, 3, 1)], "early_stop", {"threshold": 0.55})
    assert (s.sample_index, s.candidates_used, s.tokens_used) == (0, 1, 10)


def test_adaptive_n_stops_early_on_agreement():
    pool = make_pool(["x", "x", "x", "y", "y", "y", "y", "y"], correct_answer="y")
    s = select(pool, None, "adaptive_n", {"n0": 4, "agree": 0.75})
    assert (s.answer, s.candidates_used, s.tokens_used, s.scorer_calls) == ("x", 4, 100, 0)
    s = select(pool, None, "adaptive_n", {"n0": 4, "agree": 0.8})  # 3/4 < 0.8: use all 8
    assert (s.sample_index, s.answer, s.candidates_used, s.tokens_used) == (3, "y", 8, 360)
    s = select(pool, None, "adaptive_n", {"n0": 4, "agree": 0.8, "n_max": 6})  # x3 vs y3: first seen
    assert (s.sample_index, s.candidates_used) == (0, 6)
    scores = [0.1, 0.2, 0.3, 0.9, 0.0, 0.0, 0.0, 0.0]
    s = select(pool, scores, "adaptive_n", {"n0": 4, "agree": 0.75, "then": "max"})
    assert (s.sample_index, s.candidates_used, s.scorer_calls) == (3, 4, 4)
    s = select(pool, scores, "adaptive_n", {"n0": 4, "agree": 0.75}, prompt_tokens=2)  # then=majority: no scorer
    assert (s.answer, s.candidates_used, s.scorer_calls, s.scorer_tokens) == ("x", 4, 0, 0)


def test_rerank_cheap_scorer_then_prm():
    s = select(make_pool(), SCORES, "rerank", {"k": 2, "cheap_scores": [5, 4, 3, 2, 1]})
    assert (s.sample_index, s.scorer_calls, s.n) == (1, 2, 5)  # kept 0, 1; PRM prefers 1; 3 calls saved
    s = select(make_pool(), SCORES, "rerank", {"k": 2, "cheap_scores": [1, 2, 3, 4, 5]})
    assert (s.sample_index, s.answer) == (4, "9")  # kept 4 (0.9) and 3 (0.5)
    pool = make_pool(logprobs=[-0.1, -3.0, -0.2, -3.0, -3.0])  # default cheap scorer: mean log-prob
    s = select(pool, SCORES, "rerank", {"k": 2})
    assert (s.sample_index, s.scorer_calls) == (0, 2)
    assert select(pool, SCORES, "rerank", {"k": 10}).scorer_calls == 5


def test_random_is_seeded_and_uniform():
    pool = make_pool()
    a = select(pool, None, "random", {"seed": 3})
    assert a == select(pool, None, "random", {"seed": 3})
    assert (a.candidates_used, a.tokens_used) == (1, TOKENS[a.sample_index])
    picks = [select(make_pool(pid=f"q{i}"), None, "random").sample_index for i in range(2000)]
    assert set(picks) == {0, 1, 2, 3, 4}
    assert 0.35 < sum(ANSWERS[i] == "7" for i in picks) / 2000 < 0.45  # pass@1 = 2/5


def test_oracle_picks_a_correct_one_if_any():
    s = select(make_pool(correct_answer="8"), None, "oracle")
    assert (s.sample_index, s.correct) == (1, True)
    s = select(make_pool(correct_answer="42"), None, "oracle")
    assert (s.sample_index, s.correct) == (0, False)


def test_empty_pool():
    s = select([], None, "max")
    assert (s.sample_index, s.n, s.answer) == (None, 0, None)


@pytest.mark.parametrize(
    ("strategy", "scores", "params", "message"),
    [
        ("best", SCORES, None, "unknown selection strategy 'best'; known: max, majority"),
        ("max", SCORES, {"k": 2}, r"unknown parameter\(s\) k for strategy 'max'; known: none"),
        ("early_stop", SCORES, {"thresh": 1}, "known: threshold"),
        ("early_stop", SCORES, {"threshold": "high"}, "'threshold' must be a finite number"),
        ("early_stop", SCORES, None, "needs a 'threshold'; calibrate one on validation pools"),
        ("weighted", SCORES, {"temperature": 0}, "'temperature' must be > 0"),
        ("rerank", SCORES, {"k": 0}, "'k' must be an integer >= 1"),
        ("rerank", SCORES, {"cheap_scores": [1, 2]}, "'cheap_scores' has 2 entries for 5 candidates"),
        ("adaptive_n", SCORES, {"then": "vote"}, "'then' must be one of majority, max, weighted"),
        ("adaptive_n", None, {"then": "max"}, "needs scores"),
        ("adaptive_n", SCORES, {"n0": 4, "n_max": 2}, "'n_max' .2. must be >= 'n0' .4."),
        ("max", None, None, "strategy 'max' needs scores"),
        ("max", SCORES[:3], None, "scores has 3 entries for 5 candidates"),
        ("max", [float("nan")] * 5, None, "NaN"),
    ],
)
def test_bad_input_fails_clearly(strategy, scores, params, message):
    with pytest.raises(ValueError, match=message):
        select(make_pool(), scores, strategy, params)


def test_pool_must_be_one_problem():
    mixed = make_pool()[:2] + make_pool(pid="q")[:1]
    with pytest.raises(ValueError, match="one problem"):
        select(mixed, None, "majority")
