"""Exact maj@k by counting over answer classes equals brute-force enumeration through pick_vote, for every k."""

import itertools
import math
import random

import pytest

from bon_core.metrics import Pool, curve, majority_curve_exact
from bon_core.metrics.votes import majority_correct_counts
from bon_core.select import pick_vote, select
from bon_core.types import Candidate


def brute_force_counts(cands, normalize=str.strip):
    """Number of k-subsets (k = 0..n) whose majority vote (pick_vote, no scores) picks a correct candidate."""

    def norm(answer):
        return None if answer is None else normalize(answer)

    n = len(cands)
    return [
        sum(bool(cands[pick_vote(cands, None, sub, norm)].correct) for sub in itertools.combinations(range(n), k))
        if k
        else 0
        for k in range(n + 1)
    ]


def random_pool(rng, pid):
    """Small pools with every awkward case: ties, None answers, answers that only normalisation merges, gaps
    and shuffled sample indices, correctness that differs within one answer."""
    n = rng.randint(1, 9)
    classes = rng.randint(1, 4)
    indices = rng.sample(range(3 * n), n)
    cands = []
    for idx in indices:
        answer = None if rng.random() < 0.2 else str(rng.randrange(classes)) + (" " if rng.random() < 0.2 else "")
        mode = rng.random()
        correct = answer is not None and answer.strip() == "0" if mode < 0.7 else mode < 0.85
        cands.append(Candidate(pid, idx, "", answer=answer, correct=correct))
    return cands


def test_counts_equal_enumeration_on_many_random_small_pools():
    rng = random.Random(2024)
    checked = 0
    for trial in range(300):
        cands = random_pool(rng, f"p{trial}")
        keys = [None if c.answer is None else c.answer.strip() for c in cands]
        expected = brute_force_counts(cands)
        assert majority_correct_counts(cands, keys) == expected, [(c.sample_index, c.answer, c.correct) for c in cands]
        assert majority_correct_counts(cands, keys, integers=True) == expected
        checked += len(cands)
    assert checked > 1000


@pytest.mark.parametrize(
    ("answers", "correct", "expected"),
    [
        # all right: every subset picks a correct candidate
        (["4", "4", "4"], [True] * 3, [0, 3, 3, 1]),
        # all wrong
        (["5", "6", "7"], [False] * 3, [0, 0, 0, 0]),
        # no answers at all: the lowest sample index is picked; only sample 0 is correct
        ([None, None, None], [True, False, False], [0, 1, 2, 1]),
        # a 1-1 tie goes to the answer seen first: {0,1} -> "a" (right); {1,2} -> "b"; {0,2} -> "a"
        (["a", "b", "a"], [True, False, True], [0, 2, 2, 1]),
        # None never votes: {0,1} -> "b" (the only vote); {1,2} ties -> "b" (seen first); {0} alone picks itself
        ([None, "b", "c"], [True, True, False], [0, 2, 2, 1]),
    ],
)
def test_hand_counts(answers, correct, expected):
    cands = [Candidate("p", i, "", answer=a, correct=c) for i, (a, c) in enumerate(zip(answers, correct, strict=True))]
    assert majority_correct_counts(cands, answers) == expected
    assert brute_force_counts(cands) == expected


def test_n16_every_k_equals_enumeration():
    # The README's demo size (N = 16, k = 8: 12,870 subsets), where the old curve switched to 200 random subsets.
    rng = random.Random(5)
    for _ in range(2):
        answers = [rng.choice(["1", "2", "2", "3", None]) for _ in range(16)]
        cands = [Candidate("p", i, "", answer=a, correct=a == "2") for i, a in enumerate(answers)]
        exact = majority_curve_exact(Pool("p", tuple(cands)))
        expected = [c / math.comb(16, k) if k else 0.0 for k, c in enumerate(brute_force_counts(cands))]
        assert exact == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_large_pool_literal_values():
    # 40 right answers and 24 wrong ones of one other answer, sample indices interleaved.
    answers = ["r" if i % 8 < 5 else "w" for i in range(64)]
    cands = tuple(Candidate("p", i, "", answer=a, correct=a == "r") for i, a in enumerate(answers))
    exact = majority_curve_exact(Pool("p", cands))
    assert exact[1] == pytest.approx(40 / 64)
    assert exact[64] == 1.0
    # k = 2: two right answers win; a 1-1 split goes to the answer seen first, so it is right when the "r"
    # precedes the "w": 8 blocks "rrrrrwww" give 8·15 such pairs inside blocks and 28·15 across blocks.
    first_r = sum(1 for i in range(64) for j in range(i + 1, 64) if answers[i] == "r" and answers[j] == "w")
    assert exact[2] == pytest.approx((math.comb(40, 2) + first_r) / math.comb(64, 2))
    assert first_r == 540


def test_integer_path_matches_float_path_at_n_64():
    rng = random.Random(9)
    answers = [str(rng.randrange(6)) for _ in range(64)]
    cands = [Candidate("p", i, "", answer=a, correct=a in ("0", "1")) for i, a in enumerate(answers)]
    floats = majority_correct_counts(cands, answers)
    ints = majority_correct_counts(cands, answers, integers=True)
    assert all(isinstance(c, int) for c in ints)
    assert floats == pytest.approx(ints, rel=1e-12)
    assert ints[64] == int(select(cands, None, "majority").correct)


def test_curve_uses_exact_majority_and_says_so():
    rng = random.Random(3)
    pools = []
    for j in range(8):
        answers = [rng.choice(["1", "2", "3"]) for _ in range(12)]
        pools.append(
            Pool(f"p{j}", tuple(Candidate(f"p{j}", i, "", answer=a, correct=a == "1") for i, a in enumerate(answers)))
        )
    points = curve(pools, "maj")
    assert [p.n for p in points] == [1, 2, 4, 8, 12]
    assert {p.method for p in points} == {"exact"}
    enumerated = [brute_force_counts(list(pool.candidates)) for pool in pools]
    for p in points:
        want = sum(counts[p.n] / math.comb(12, p.n) for counts in enumerated) / len(pools)
        assert p.value == pytest.approx(want, rel=1e-12)
    assert points[-1].value == sum(select(list(q.candidates), None, "majority").correct for q in pools) / 8
