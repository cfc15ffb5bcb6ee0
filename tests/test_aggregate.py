"""Aggregation of step scores and the composite score, on hand-computed examples."""

import math

import pytest

from bon_core.aggregate import AGGREGATORS, aggregate, composite_scores, consistency_scores, default_normalize
from bon_core.types import Candidate


@pytest.mark.parametrize(
    ("how", "expected"), [("min", 0.5), ("prod", 0.36), ("last", 0.8), ("mean", 2.2 / 3), ("sum", 2.2)]
)
def test_aggregate_each_rule(how, expected):
    assert aggregate([0.9, 0.5, 0.8], how) == pytest.approx(expected)


@pytest.mark.parametrize("how", sorted(AGGREGATORS))
def test_empty_steps_score_zero(how):
    assert aggregate([], how) == 0.0


def test_aggregate_rejects_unknown_name_and_nan():
    with pytest.raises(ValueError, match="unknown aggregation 'avg'; known: min, prod, last, mean, sum"):
        aggregate([0.5], "avg")
    with pytest.raises(ValueError, match="finite"):
        aggregate([0.5, float("nan")], "min")


def test_default_normalize():
    assert default_normalize("  Yes ") == "yes"
    assert default_normalize("   ") is None
    assert default_normalize(None) is None


def _pool():
    answers = ["4", "4 ", " 5", None]
    logprobs = [0.0, math.log(0.5), None, math.log(0.25)]
    return [
        Candidate("p", i, "", answer=a, mean_logprob=lp)
        for i, (a, lp) in enumerate(zip(answers, logprobs, strict=True))
    ]


def test_consistency_counts_other_samples_only():
    assert consistency_scores(_pool()) == pytest.approx((1 / 3, 1 / 3, 0.0, 0.0))
    assert consistency_scores(_pool()[:1]) == (0.0,)


def test_composite_equal_weights():
    got = composite_scores(_pool(), [0.5, 0.2, 0.9, 0.1])
    # prm + exp(mean_logprob) + agreement with the 3 others
    assert got == pytest.approx((0.5 + 1 + 1 / 3, 0.2 + 0.5 + 1 / 3, 0.9 + 0 + 0, 0.1 + 0.25 + 0))


def test_composite_weights_and_task_normalizer():
    got = composite_scores(_pool(), [0.5, 0.2, 0.9, 0.1], w_prm=2.0, w_conf=0.0, w_cons=1.0)
    assert got == pytest.approx((1 + 1 / 3, 0.4 + 1 / 3, 1.8, 0.2))
    # a normaliser that maps every answer to one key makes the three answered samples agree (2 of 3 others)
    same = composite_scores(_pool(), [0, 0, 0, 0], 0.0, 0.0, 1.0, normalize=lambda a: None if a is None else "k")
    assert same == pytest.approx((2 / 3, 2 / 3, 2 / 3, 0.0))


def test_composite_rejects_misaligned_scores():
    with pytest.raises(ValueError, match="prm_scores has 2 entries for 4 candidates"):
        composite_scores(_pool(), [0.1, 0.2])
