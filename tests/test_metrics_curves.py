"""Accuracy-vs-N curves from one pool: exact forms on hand examples, bootstrap agreement, compute, CIs."""

import random

import pytest

from bon_core.metrics import Pool, best_at_k_exact, curve, default_ks, mean_ci, pass_at_k
from bon_core.select import select
from bon_core.types import Candidate


def pool(answers, correct, scores=None, tokens=None, pid="p", scorer_tokens=None):
    tokens = tokens or [10] * len(answers)
    cands = tuple(
        Candidate(pid, i, f"t{i}", num_tokens=t, answer=a, correct=c)
        for i, (a, c, t) in enumerate(zip(answers, correct, tokens, strict=True))
    )
    return Pool(pid, cands, None if scores is None else tuple(scores), scorer_tokens)


def values(points):
    return [p.value for p in points]


def test_default_ks():
    assert default_ks(8) == [1, 2, 4, 8]
    assert default_ks(6) == [1, 2, 4, 6]
    assert default_ks(1) == [1]


def test_best_at_k_order_statistics():
    p = pool(["a", "b", "c"], [False, True, True], [0.9, 0.5, 0.1])
    # k=2 subsets: {0,1}->0 F, {0,2}->0 F, {1,2}->1 T
    assert values(curve([p], "best", [1, 2, 3])) == pytest.approx([2 / 3, 1 / 3, 0.0])


def test_best_at_k_ties_follow_select_max():
    p = pool(["a", "b", "c"], [False, True, False], [0.5, 0.5, 0.1])
    # sample 0 wins the tie with sample 1, as select(..., "max") does: only {1,2} picks the correct one
    assert best_at_k_exact(p, 2) == pytest.approx(1 / 3)
    assert select(list(p.candidates), p.scores, "max").sample_index == 0


def test_maj_at_k_hand_example():
    p = pool(["a", "a", "b"], [True, True, False])
    # k=2: {0,1} a; {0,2} and {1,2} tie -> answer seen first (a)
    assert values(curve([p], "maj", [1, 2, 3])) == pytest.approx([2 / 3, 1.0, 1.0])


def test_weighted_at_k_hand_example():
    p = pool(["a", "a", "b"], [True, True, False], [0.3, 0.3, 0.8])
    # k=2: {0,1} a; {0,2} b (0.8 > 0.3); {1,2} b. k=3: a 0.6 < b 0.8
    assert values(curve([p], "weighted", [1, 2, 3])) == pytest.approx([2 / 3, 1 / 3, 0.0])
    # softmax at T=1 over the full pool: a 2·e^-0.5 ≈ 1.21 > b 1
    assert curve([p], "weighted", [3], temperature=1.0)[0].value == 1.0


def test_pass_curve_is_pass_at_k_and_ci_over_problems():
    pools = [pool(list("abcd"), [True, False, False, False], pid="x"), pool(list("abcd"), [True] * 2 + [False] * 2)]
    pts = curve(pools, "pass", [1, 2])
    assert values(pts) == pytest.approx([(0.25 + 0.5) / 2, (pass_at_k(4, 1, 2) + pass_at_k(4, 2, 2)) / 2])
    # per-problem values 0.25 and 0.5: sd 0.17678, half-width 1.96·0.17678/sqrt(2) = 0.245
    assert (pts[0].ci_low, pts[0].ci_high) == pytest.approx((0.375 - 0.245, 0.375 + 0.245), abs=1e-3)
    assert (pts[0].metric, pts[0].strategy, pts[0].n) == ("pass@k", "oracle", 1)


def test_mean_ci_literal():
    m = mean_ci([0.4, 0.6])
    assert (m.value, m.low, m.high, m.count) == pytest.approx((0.5, 0.304, 0.696, 2), abs=1e-3)
    assert mean_ci([0.0, 1.0, 1.0, 0.0]).low == 0.0  # clipped
    b = mean_ci([0.0, 1.0] * 50, "bootstrap", seed=1)
    assert 0.39 < b.low < 0.42 and 0.58 < b.high < 0.61
    with pytest.raises(ValueError, match="unknown CI method 'wald'"):
        mean_ci([0.5], "wald")


def test_compute_accounting():
    p = pool(["a", "a", "b"], [True, True, False], [0.3, 0.3, 0.8], tokens=[10, 20, 30])
    best = curve([p], "best", [2], scorer="prm1", aggregation="min")[0]
    assert (best.policy_tokens, best.scorer_tokens, best.scorer, best.aggregation) == (40.0, 40.0, "prm1", "min")
    p2 = pool(["a", "a", "b"], [True, True, False], [0.3, 0.3, 0.8], tokens=[10, 20, 30], scorer_tokens=(5, 5, 5))
    assert curve([p2], "best", [2])[0].scorer_tokens == 10.0
    maj = curve([p2], "maj", [2], scorer="prm1")[0]
    assert (maj.policy_tokens, maj.scorer_tokens, maj.scorer) == (40.0, 0.0, "")


def random_pools(count, n, seed):
    rng = random.Random(seed)
    out = []
    for j in range(count):
        answers = [str(rng.randint(0, 3)) if rng.random() > 0.1 else None for _ in range(n)]
        scores = [round(rng.random(), 1) for _ in range(n)]  # rounding makes score ties common
        out.append(pool(answers, [a == "0" for a in answers], scores, pid=f"p{j}"))
    return out


@pytest.mark.parametrize("metric", ["pass", "best", "maj", "weighted"])
def test_exact_and_bootstrap_agree_within_ci(metric):
    pools = random_pools(40, 8, seed=7)
    exact = curve(pools, metric, method="exact")
    boot = curve(pools, metric, method="bootstrap", resamples=200, seed=3)
    for e, b in zip(exact, boot, strict=True):
        assert e.n == b.n
        assert b.ci_low <= e.value <= b.ci_high
        assert abs(e.value - b.value) < 0.03


@pytest.mark.parametrize(
    ("metric", "strategy", "params"),
    [
        ("best", "max", None),
        ("maj", "majority", None),
        ("weighted", "weighted", {"temperature": 0.5}),
    ],
)
def test_full_pool_point_matches_select(metric, strategy, params):
    temperature = params["temperature"] if params else None
    for p in random_pools(30, 6, seed=11):
        got = curve([p], metric, [6], temperature=temperature)[0].value
        scores = None if metric == "maj" else list(p.scores)
        assert got == float(select(list(p.candidates), scores, strategy, params).correct)


def test_bad_curve_input():
    p = pool(["a", "b"], [True, False])
    with pytest.raises(ValueError, match="unknown curve metric 'top'; known: pass, best, maj, weighted"):
        curve([p], "top")
    with pytest.raises(ValueError, match="resamples must be >= 100"):
        curve([p], "maj", resamples=50)
    with pytest.raises(ValueError, match=r"ks \[3\] outside 1..2"):
        curve([p], "pass", [3])
    with pytest.raises(ValueError, match="needs scores"):
        curve([p], "best")
    with pytest.raises(ValueError, match="correct=None"):
        Pool("p", (Candidate("p", 0, "x"),))
