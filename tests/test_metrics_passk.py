"""pass@k against the exact closed form, and its edge cases."""

from fractions import Fraction
from math import comb

import numpy as np
import pytest

from bon_core.metrics import pass_at_k, pass_at_k_array


def test_agrees_with_exact_integers_for_all_n_up_to_30():
    for n in range(1, 31):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - Fraction(comb(n - c, k), comb(n, k))  # comb(a, k) = 0 when a < k
                assert abs(pass_at_k(n, c, k) - float(exact)) < 1e-12, (n, c, k)


def test_literal_values():
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(10, 10, 3) == 1.0


def test_no_correct_sample_is_zero_even_when_k_exceeds_n():
    assert pass_at_k(10, 0, 20) == 0.0
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(0, 0, 1) == 0.0


def test_k_above_n_with_a_correct_sample_is_one():
    assert pass_at_k(10, 1, 20) == 1.0
    assert pass_at_k(3, 1, 3) == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, -1, 1), (3, 1, 0)])
def test_bad_counts_fail(n, c, k):
    with pytest.raises(ValueError, match="pass_at_k needs"):
        pass_at_k(n, c, k)


def test_array_form():
    got = pass_at_k_array(4, [0, 1, 4], 2)
    assert isinstance(got, np.ndarray)
    assert got.tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert pass_at_k_array([5, 10], [2, 0], 20).tolist() == [1.0, 0.0]
