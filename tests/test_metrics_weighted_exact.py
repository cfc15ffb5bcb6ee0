"""Exact weighted@k by counting over answer classes equals brute-force enumeration through pick_vote, for every k."""

import itertools
import math
import random

import pytest

from bon_core.metrics import Pool, curve
from bon_core.metrics.weighted_votes import (
    SUBSET_SUM_LIMIT,
    exact_obstacle,
    weighted_at_k_exact,
    weighted_correct_counts,
)
from bon_core.select import pick_vote, select, softmax
from bon_core.types import Candidate

# Score sets whose sums tie often: duplicated values, sums equal only after rounding (1.0 + 1e-17 == 1.0),
# negative and zero scores.
TIED_SCORES = ([0.1, 0.5, 0.9], [1.0, 1e-17, 2.0, 1e-16, 3.0], [-0.3, 0.0, 0.1, 0.2, 0.3], [0.5])


def brute_force_counts(cands, keys, scores, temperature=None):
    """Number of k-subsets (k = 0..n) whose weighted vote (pick_vote, as curve's weighted picker calls it)
    picks a correct candidate."""
    voters = [with_answer(c, key) for c, key in zip(cands, keys, strict=True)]
    counts = [0] * (len(cands) + 1)
    for k in range(1, len(cands) + 1):
        for sub in itertools.combinations(range(len(cands)), k):
            raw = [scores[i] for i in sub]
            weights = raw if temperature is None else softmax(raw, temperature)
            picked = pick_vote(voters, scores, sub, lambda a: a, dict(zip(sub, weights, strict=True)))
            counts[k] += bool(cands[picked].correct)
    return counts


def with_answer(cand, answer):
    return Candidate(cand.problem_id, cand.sample_index, "", answer=answer, correct=cand.correct)


def random_pool(rng, pid):
    """Small pools with every awkward case: tied and rounding-tied sums, None answers, a single class, gaps and
    shuffled sample indices, correctness that differs within one answer."""
    n = rng.randint(1, 10)
    classes = rng.randint(1, 4)
    indices = rng.sample(range(3 * n), n)
    mode = rng.random()
    if mode < 0.6:
        values = rng.choice(TIED_SCORES)
        scores = [rng.choice(values) for _ in range(n)]
    else:
        scores = [rng.uniform(-1.0, 1.0) if mode < 0.7 else rng.random() for _ in range(n)]
    cands, keys = [], []
    for idx in indices:
        key = None if rng.random() < 0.2 else str(rng.randrange(classes))
        correct = key == "0" if rng.random() < 0.8 else rng.random() < 0.5
        cands.append(Candidate(pid, idx, "", answer=key, correct=correct))
        keys.append(key)
    return cands, keys, scores


def assert_counts_equal(got, expected, context):
    assert [round(g) for g in got] == expected, context
    assert max(abs(g - e) for g, e in zip(got, expected, strict=True)) < 1e-9, context


@pytest.mark.parametrize("temperature", [None, 1.0, 0.05])
def test_counts_equal_enumeration_on_many_random_small_pools(temperature):
    rng = random.Random(f"weighted-{temperature}")
    pools, ties = 0, 0
    for trial in range(150):
        cands, keys, scores = random_pool(rng, f"p{trial}")
        expected = brute_force_counts(cands, keys, scores, temperature)
        got = weighted_correct_counts(cands, keys, scores, temperature=temperature)
        assert_counts_equal(got, expected, (temperature, keys, scores, [(c.sample_index, c.correct) for c in cands]))
        pools += 1
        ties += len(set(scores)) < len(scores)
    assert pools == 150 and ties > 60


@pytest.mark.parametrize(
    ("answers", "scores", "correct", "expected"),
    [
        # one class: the subset's best member is picked
        (["a", "a", "a"], [0.2, 0.9, 0.5], [False, True, False], [0, 1, 2, 1]),
        # no answers at all: pick_max among the subset (score ties to the lowest sample index)
        ([None, None, None], [0.5, 0.5, 0.1], [False, True, True], [0, 2, 1, 0]),
        # {0,1}: a alone; {0,2}, {1,2}: b 0.5 > a 0.3; all three: a 0.6 > b 0.5
        (["a", "a", "b"], [0.3, 0.3, 0.5], [True, True, False], [0, 2, 1, 1]),
        # sums tie only after rounding (1.0 + 1e-17 == 1.0) and best scores tie: the answer seen first wins
        (["a", "a", "b"], [1.0, 1e-17, 1.0], [True, True, False], [0, 2, 2, 1]),
        # an unanswered candidate never votes, so a lone answer wins even with a negative total
        (["a", None], [-0.5, 0.9], [True, False], [0, 1, 1]),
    ],
)
def test_hand_counts(answers, scores, correct, expected):
    cands = [Candidate("p", i, "", answer=a, correct=c) for i, (a, c) in enumerate(zip(answers, correct, strict=True))]
    assert brute_force_counts(cands, answers, scores) == expected
    assert weighted_correct_counts(cands, answers, scores) == expected


def test_softmax_argmax_is_the_argmax_of_exp_sums_including_ties():
    # Two answers with the same multiset of scores tie under softmax too; the best score, then the first seen, wins.
    answers = ["b", "a", "a", "b", "c"]
    scores = [0.2, 0.7, 0.2, 0.7, 0.9]
    cands = [Candidate("p", i, "", answer=a, correct=a == "a") for i, a in enumerate(answers)]
    for temperature in (0.01, 0.3, 1.0, 50.0):
        expected = brute_force_counts(cands, answers, scores, temperature)
        got = weighted_correct_counts(cands, answers, scores, temperature=temperature)
        assert_counts_equal(got, expected, temperature)
        full = select(cands, scores, "weighted", {"temperature": temperature})
        assert expected[-1] == int(full.correct)


def test_curve_uses_the_count_for_every_k_and_says_exact():
    rng = random.Random(5)
    pools = []
    for j in range(12):
        cands, keys, scores = random_pool(rng, f"p{j}")
        while len(cands) != 9:
            cands, keys, scores = random_pool(rng, f"p{j}")
        answers = [None if k is None else f" {k} " for k in keys]  # normalisation strips the spaces
        cands = [with_answer(c, a) for c, a in zip(cands, answers, strict=True)]
        pools.append(Pool(f"p{j}", tuple(cands), tuple(scores)))
    for temperature in (None, 0.5):
        points = curve(pools, "weighted", list(range(1, 10)), temperature=temperature, max_subsets=1)
        assert {p.method for p in points} == {"exact"}
        expected = []
        for pool in pools:
            keys = [None if c.answer is None else c.answer.strip() for c in pool.candidates]
            counts = brute_force_counts(pool.candidates, keys, pool.scores, temperature)
            expected.append([counts[k] / math.comb(9, k) for k in range(1, 10)])
        means = [sum(column) / len(pools) for column in zip(*expected, strict=True)]
        assert [p.value for p in points] == pytest.approx(means, abs=1e-12)


def test_n32_four_classes_is_exact_and_agrees_with_a_large_monte_carlo():
    rng = random.Random(32)
    answers = [str(i % 4) for i in range(32)]
    rng.shuffle(answers)
    scores = [round(rng.uniform(0.2, 0.6) + (0.15 if a == "0" else 0.0), 2) for a in answers]  # some ties
    cands = tuple(Candidate("p", i, "", answer=a, correct=a == "0") for i, a in enumerate(answers))
    pool = Pool("p", cands, tuple(scores))
    assert exact_obstacle(cands, answers, scores) is None  # 4 · 2^8 sub-sums, far below the limit
    exact = curve([pool], "weighted", method="exact")
    assert [p.n for p in exact] == [1, 2, 4, 8, 16, 32]
    assert {p.method for p in exact} == {"exact"}
    assert exact[0].value == pytest.approx(0.25)  # k = 1: the single candidate is correct iff its answer is "0"
    assert exact[-1].value == float(select(list(cands), scores, "weighted").correct)
    mc = curve([pool], "weighted", method="monte-carlo", resamples=6000, seed=1)
    for e, m in zip(exact, mc, strict=True):
        se = float(m.method.rsplit("SE ", 1)[1])
        assert abs(e.value - m.value) <= 4 * se + 1e-12, (e.n, e.value, m.value, se)
    assert any(0.0 < p.value < 1.0 for p in exact[1:-1])


def test_limits_are_stated_and_the_fallback_is_labelled():
    big = ["x"] * 20 + ["y"]  # 2^20 + 2 sub-sums
    cands = [Candidate("p", i, "", answer=a, correct=a == "x") for i, a in enumerate(big)]
    scores = [0.5] * len(big)
    assert f"over the class-counting limit of {SUBSET_SUM_LIMIT:,}" in exact_obstacle(cands, big, scores)
    with pytest.raises(ValueError, match="not countable exactly: its answer classes have 1,048,578 subsets"):
        weighted_correct_counts(cands, big, scores)
    # A softmax weight that would underflow is refused rather than counted as 0.
    small = ["a", "b"]
    two = [Candidate("p", i, "", answer=a, correct=a == "a") for i, a in enumerate(small)]
    assert "underflow" in exact_obstacle(two, small, [0.0, 10.0], temperature=0.01)
    assert exact_obstacle(two, small, [0.0, 10.0], temperature=1.0) is None
    points = curve([Pool("p", tuple(two), (0.0, 10.0))], "weighted", [1, 2], temperature=0.01)
    assert [p.method for p in points] == ["exact", "exact"]  # enumerated: C(2, k) <= max_subsets
    assert [p.value for p in points] == [0.5, 0.0]


def test_probabilities():
    cands = [Candidate("p", i, "", answer=a, correct=a == "a") for i, a in enumerate(["a", "b", "a"])]
    assert weighted_at_k_exact(cands, ["a", "b", "a"], [0.3, 0.8, 0.3]) == pytest.approx([0.0, 2 / 3, 1 / 3, 0.0])
