"""Accuracy-vs-N curves from one pool: exact forms on hand examples, bootstrap agreement, compute, CIs."""

import itertools
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
    # mean 0.375 of P = 2 problems: Clopper-Pearson with x = 0.75 of 2, i.e. beta quantiles
    # Beta(0.75, 2.25) at 2.5% and Beta(1.75, 1.25) at 97.5%
    assert (pts[0].ci_low, pts[0].ci_high) == pytest.approx((0.003069, 0.968655), abs=1e-6)
    assert (pts[0].metric, pts[0].strategy, pts[0].n, pts[0].method) == ("pass@k", "oracle", 1, "exact")
    assert pts[0].ci_method == "95% Clopper-Pearson (beta) interval on the mean as a proportion of P, over 2 problems"
    normal = curve(pools, "pass", [1], ci="normal")[0]
    # per-problem values 0.25 and 0.5: sd 0.17678, half-width 1.96·0.17678/sqrt(2) = 0.245
    assert (normal.ci_low, normal.ci_high) == pytest.approx((0.375 - 0.245, 0.375 + 0.245), abs=1e-3)
    assert normal.ci_method.startswith("95% normal (Wald) interval")


def test_mean_ci_literal():
    m = mean_ci([0.4, 0.6], "normal")
    assert (m.value, m.low, m.high, m.count) == pytest.approx((0.5, 0.304, 0.696, 2), abs=1e-3)
    assert mean_ci([0.0, 1.0, 1.0, 0.0], "normal").low == 0.0  # clipped
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


# Exact values of the 40 seeded pools below (n = 8), enumerated by brute force outside bon
EXACT_RANDOM_POOLS = {
    "pass": [0.178125, 0.325, 0.540714, 0.75],
    "best": [0.178125, 0.201786, 0.205, 0.225],
    "maj": [0.178125, 0.191964, 0.2, 0.225],
    "weighted": [0.178125, 0.222321, 0.232857, 0.3],
}


def brute_force(pools, metric, k):
    total = 0.0
    for p in pools:
        cands = list(p.candidates)
        hits = 0
        subsets = list(itertools.combinations(range(p.n), k))
        for sub in subsets:
            sub_c = [cands[i] for i in sub]
            sub_s = [p.scores[i] for i in sub]
            if metric == "pass":
                hits += any(c.correct for c in sub_c)
            else:
                strategy = {"best": "max", "maj": "majority", "weighted": "weighted"}[metric]
                hits += bool(select(sub_c, None if metric == "maj" else sub_s, strategy).correct)
        total += hits / len(subsets)
    return total / len(pools)


@pytest.mark.parametrize("metric", ["pass", "best", "maj", "weighted"])
def test_exact_values_and_monte_carlo_agreement(metric):
    pools = random_pools(40, 8, seed=7)
    exact = curve(pools, metric, method="exact")
    assert values(exact) == pytest.approx(EXACT_RANDOM_POOLS[metric], abs=1e-6)
    assert [brute_force(pools, metric, k) for k in (2, 4)] == pytest.approx(EXACT_RANDOM_POOLS[metric][1:3], abs=1e-6)
    # The default path (auto) is exact here too and says so.
    auto = curve(pools, metric)
    assert values(auto) == pytest.approx(values(exact), abs=1e-12)
    assert {p.method for p in auto} == {"exact"}
    # Monte-Carlo with 1,000 subsets per problem: within 4 standard errors of the exact value (SE from the label)
    mc = curve(pools, metric, method="monte-carlo", resamples=1000, seed=3)
    for e, m in zip(exact, mc, strict=True):
        se = float(m.method.rsplit("SE ", 1)[1])
        assert m.method.startswith("Monte-Carlo, 1000 random k-subsets per problem")
        assert abs(e.value - m.value) <= 4 * se + 1e-12
        assert se < 0.0035


def test_weighted_is_exact_by_class_counting_where_enumeration_is_too_long():
    pools = random_pools(10, 16, seed=5)  # C(16,8) = 12,870 subsets at k = 8: counted by answer class instead
    points = curve(pools, "weighted", [1, 2, 8], max_subsets=2000, resamples=300)
    assert [p.method for p in points] == ["exact", "exact", "exact"]
    assert points[2].value == pytest.approx(brute_force(pools, "weighted", 8), abs=1e-12)


def test_weighted_beyond_class_counting_is_labelled_monte_carlo():
    # 21 equal answers: 2^21 sub-sums in one class, over the counting limit; only small k can be enumerated
    answers = ["7"] * 21 + ["1", "2", None]
    scores = [round(0.05 * i, 2) for i in range(24)]
    pools = [pool(answers, [a == "7" for a in answers], scores, pid=f"p{j}") for j in range(3)]
    points = curve(pools, "weighted", [1, 2, 8], max_subsets=2000, resamples=300)
    assert [p.method for p in points[:2]] == ["exact", "exact"]  # C(24,2) = 276 subsets: enumerated
    assert points[2].method.startswith("Monte-Carlo, 300 random k-subsets per problem, SE 0.0")  # C(24,8) = 735,471
    with pytest.raises(
        ValueError,
        match=r"weighted@12 of pool 'p0' \(n=24\) is exact only by enumerating 2,704,156 subsets .*: counting by "
        r"answer class is out of reach, its answer classes have 2,097,156 subsets in all \(largest class: 21",
    ):
        curve(pools, "weighted", [12], method="exact")


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
    with pytest.raises(ValueError, match="unknown curve method 'sampled'"):
        curve([p], "maj", method="sampled")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_pool_rejects_non_finite_scores(bad):
    with pytest.raises(ValueError, match=r"pool 'p': scores of samples \[1\] are not finite"):
        pool(["a", "b"], [True, False], [0.5, bad])


def test_pool_rejects_duplicate_sample_indices():
    cands = (Candidate("p", 0, "", answer="a", correct=True), Candidate("p", 0, "", answer="b", correct=False))
    with pytest.raises(ValueError, match="pool 'p' has duplicate sample_index values"):
        Pool("p", cands)


def test_pools_of_different_sizes_are_refused_not_cut():
    small = pool(["a", "b"], [True, False], pid="s")
    big = pool(["a", "b", "a", "c"], [True, False, True, False], pid="b")
    with pytest.raises(ValueError, match=r"pools of different sizes \(1 of n=2, 1 of n=4\)"):
        curve([small, big], "maj")
