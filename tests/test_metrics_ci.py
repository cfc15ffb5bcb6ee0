"""Confidence intervals over problems: coverage by simulation at small P and near 0/1, literal values of the
standard intervals, and the paired interval for the difference of two strategies on the same problems."""

import numpy as np
import pytest

from bon_core.metrics import ci_label, mean_ci, paired_difference_ci, pass_at_k

P = 30
TARGETS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 0.98)
REPLICATES = 400


def coverage(samples, truth, method="clopper-pearson"):
    hits = 0
    for values in samples:
        m = mean_ci(values, method)
        hits += m.low <= truth <= m.high
    return hits / len(samples)


def beta_b_for(truth_of_b, target):
    """The Beta(2, b) second parameter that gives the target truth (bisection on a log scale; truth falls in b)."""
    low, high = 1e-3, 1e4
    for _ in range(200):
        mid = (low * high) ** 0.5
        low, high = (mid, high) if truth_of_b(mid) > target else (low, mid)
    return mid


@pytest.mark.parametrize("target", TARGETS)
def test_coverage_bernoulli_values(target):
    rng = np.random.default_rng(17)
    samples = (rng.random((REPLICATES, P)) < target).astype(float)
    assert coverage(samples, target) >= 0.93


@pytest.mark.parametrize("target", TARGETS)
def test_coverage_fractional_pass_at_k_values(target):
    # Problem difficulty q ~ Beta(2, b); each problem's value is the unbiased pass@4 estimate from 16 samples,
    # whose expectation over problems is 1 - E[(1-q)^4] = 1 - prod_i (b+i)/(2+b+i).
    def truth(b):
        return 1.0 - np.prod([(b + i) / (2.0 + b + i) for i in range(4)])

    b = beta_b_for(truth, target)
    assert truth(b) == pytest.approx(target, abs=1e-6)
    rng = np.random.default_rng(23)
    correct = rng.binomial(16, rng.beta(2.0, b, (REPLICATES, P)))
    table = np.array([pass_at_k(16, c, 4) for c in range(17)])
    assert coverage(table[correct], target) >= 0.93


@pytest.mark.parametrize("target", (0.05, 0.5, 0.98))
def test_coverage_fractional_pass_at_1_values(target):
    # values c/16 with q ~ Beta(2, b): expectation 2 / (2 + b)
    b = 2.0 / target - 2.0
    rng = np.random.default_rng(29)
    values = rng.binomial(16, rng.beta(2.0, b, (REPLICATES, P))) / 16
    assert coverage(values, target) >= 0.93


def test_normal_interval_undercovers_near_one():
    # Why the default changed: mean ± 1.96 s/sqrt(P) has zero width whenever all 30 values are 1.
    rng = np.random.default_rng(17)
    samples = (rng.random((REPLICATES, P)) < 0.98).astype(float)
    assert coverage(samples, 0.98, "normal") < 0.6
    assert mean_ci([1.0] * 30, "normal").low == 1.0


def test_clopper_pearson_literal_values():
    # all 30 right / all 30 wrong: (alpha/2)^(1/n) = 0.025^(1/30)
    m = mean_ci([1.0] * 30)
    assert (m.value, m.low, m.high, m.count, m.method) == pytest.approx((1.0, 0.884297, 1.0, 30, "clopper-pearson"))
    m = mean_ci([0.0] * 30)
    assert (m.low, m.high) == pytest.approx((0.0, 0.115703), abs=1e-6)
    # 5 of 10: the textbook exact interval (0.1871, 0.8129)
    m = mean_ci([1.0] * 5 + [0.0] * 5)
    assert (m.low, m.high) == pytest.approx((0.187086, 0.812914), abs=1e-6)
    # one problem, right: never a zero-width interval
    assert (mean_ci([1.0]).low, mean_ci([1.0]).high) == pytest.approx((0.025, 1.0))


def test_wilson_literal_values():
    m = mean_ci([1.0] * 5 + [0.0] * 5, "wilson")
    assert (m.low, m.high) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    m = mean_ci([1.0] * 30, "wilson")  # all right: lower bound n / (n + z^2) = 30 / 33.8415
    assert (m.low, m.high) == pytest.approx((0.886487, 1.0), abs=1e-6)


def test_ci_label_says_method_and_problems():
    assert ci_label("clopper-pearson", 300) == (
        "95% Clopper-Pearson (beta) interval on the mean as a proportion of P, over 300 problems"
    )
    assert ci_label("bootstrap", 1) == "95% percentile bootstrap over problems, over 1 problem"


def test_bad_values_fail_clearly():
    with pytest.raises(ValueError, match=r"non-finite value\(s\)"):
        mean_ci([0.5, float("nan")])
    with pytest.raises(ValueError, match=r"needs values in \[0, 1\]; got \[0.5, 1.5\]"):
        mean_ci([0.5, 1.5])
    with pytest.raises(ValueError, match="unknown CI method 'wald'"):
        mean_ci([0.5], "wald")
    with pytest.raises(ValueError, match="at least one value"):
        mean_ci([])
    assert mean_ci([0.5, 1.5], "normal", bounds=None).value == 1.0  # other methods take any finite values


def test_paired_difference_known_answers():
    a = [0.0, 1.0, 0.5, 1.0] * 10
    assert paired_difference_ci(a, a) == (0.0, 0.0, 0.0)
    shifted = [x - 0.25 for x in a]
    assert paired_difference_ci(a, shifted) == pytest.approx((0.25, 0.25, 0.25))
    # differences 1 and 0, 50 each: mean 0.5, percentile bootstrap ~ 0.5 ± 1.96·0.05
    ones = [1.0] * 50 + [0.0] * 50
    mean, low, high = paired_difference_ci(ones, [0.0] * 100)
    assert mean == 0.5
    assert (low, high) == pytest.approx((0.40, 0.60), abs=0.012)


def test_paired_interval_uses_the_pairing():
    # Two strategies agree on 90 of 100 problems (half of them right); A alone is right on the other 10.
    b = [1.0, 0.0] * 45 + [0.0] * 10
    a = [1.0, 0.0] * 45 + [1.0] * 10
    mean, low, high = paired_difference_ci(a, b, resamples=10000, seed=1)
    # difference = 10 ones in 100: sd of the mean sqrt(0.1·0.9/100) = 0.03, so about 0.10 ± 0.059
    assert mean == pytest.approx(0.10)
    assert (low, high) == pytest.approx((0.05, 0.16), abs=0.012)
    assert low > 0.0  # an unpaired interval (±0.14 here) would include 0
    back = paired_difference_ci(b, a, resamples=10000, seed=1)
    assert back[0] == pytest.approx(-0.10)
    assert paired_difference_ci(a, b, resamples=10000, seed=1) == (mean, low, high)  # seeded


def test_paired_difference_bad_input():
    with pytest.raises(ValueError, match="two equally long sequences; got 2 and 3 values"):
        paired_difference_ci([1.0, 0.0], [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="at least one problem"):
        paired_difference_ci([], [])
    with pytest.raises(ValueError, match="non-finite"):
        paired_difference_ci([1.0, float("inf")], [0.0, 0.0])
    with pytest.raises(ValueError, match="resamples must be >= 100"):
        paired_difference_ci([1.0], [0.0], resamples=10)
