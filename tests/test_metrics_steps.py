"""Step-level scorer quality against gold labels, on hand-computed examples."""

import math

import pytest

from bon_core.metrics import (
    choose_threshold,
    early_error_detection,
    expected_calibration_error,
    first_error_index,
    processbench_eval,
    processbench_f1,
    score_correctness_correlation,
    step_auroc,
    step_calibration_error,
)


def test_step_auroc_ignores_neutral_steps():
    scores = [[0.9, 0.3], [0.2, 0.6, 0.1]]
    labels = [["correct", "incorrect"], ["correct", "neutral", "incorrect"]]
    # positives 0.9, 0.2; negatives 0.3, 0.1: 3 of 4 pairs ordered right
    assert step_auroc(scores, labels) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="solution 1: 2 step scores for 3 step labels"):
        step_auroc([[0.9, 0.3], [0.2, 0.6]], labels)
    with pytest.raises(ValueError, match="both correct and incorrect"):
        step_auroc([[0.9]], [["correct"]])


def test_expected_calibration_error():
    # bin 1: acc 0.5 vs conf 0.125 (weight 1/2); bin 9: acc 1 vs conf 0.925 (weight 1/2)
    assert expected_calibration_error([0.1, 0.15, 0.9, 0.95], [0, 1, 1, 1]) == pytest.approx(0.225)
    assert expected_calibration_error([1.0, 0.0], [1, 0]) == 0.0
    assert step_calibration_error([[0.1, 0.15], [0.9, 0.95]], [["incorrect", "correct"], ["correct", "correct"]]) == (
        pytest.approx(0.225)
    )
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [1])


def test_score_correctness_correlation():
    c = score_correctness_correlation([0.1, 0.5, 0.9], [False, True, True])
    # Pearson(y, s): cov 0.4 / sqrt(2/3 · 0.32)
    assert c.point_biserial == pytest.approx(0.4 / math.sqrt(2 / 3 * 0.32))
    assert (c.auroc, c.count) == (1.0, 3)


def test_first_error_index():
    assert first_error_index(["correct", "neutral", "incorrect", "incorrect"]) == 2
    assert first_error_index(["correct", "neutral", None]) is None


# A, B have a first error at step 1; C, D are correct solutions
VAL_SCORES = [[0.9, 0.3, 0.8], [0.9, 0.8, 0.2], [0.9, 0.9], [0.4, 0.9]]
VAL_ERRORS = [1, 1, None, None]


def test_processbench_f1_at_fixed_thresholds():
    r = processbench_f1(VAL_SCORES, VAL_ERRORS, 0.5)  # A hit, B flagged at 2; C ok, D flagged at 0
    assert (r.error_accuracy, r.correct_accuracy, r.f1, r.n_error, r.n_correct) == (0.5, 0.5, 0.5, 2, 2)
    r = processbench_f1(VAL_SCORES, VAL_ERRORS, 0.35)  # D's 0.4 no longer flagged
    assert (r.error_accuracy, r.correct_accuracy) == (0.5, 1.0)
    assert r.f1 == pytest.approx(2 / 3)


def test_threshold_chosen_on_validation_and_reported():
    grid = [0.35, 0.5, 0.85, 0.95]  # F1: 2/3, 1/2, 2/3, 0 -> lowest of the tied best
    assert choose_threshold(VAL_SCORES, VAL_ERRORS, grid) == 0.35
    test_scores = [[0.3, 0.9], [0.9, 0.9]]
    r = processbench_eval(VAL_SCORES, VAL_ERRORS, test_scores, [0, None], grid)
    assert (r.threshold, r.error_accuracy, r.correct_accuracy, r.f1) == (0.35, 1.0, 1.0, 1.0)


def test_early_error_detection():
    e = early_error_detection(VAL_SCORES, VAL_ERRORS, 0.5)  # A: detected 1 (true 1); B: detected 2 (true 1)
    assert (e.mean_detected_index, e.mean_true_index, e.mean_offset, e.detected_fraction, e.count) == (
        1.5,
        1.0,
        0.5,
        1.0,
        2,
    )
    none = early_error_detection([[0.9, 0.9]], [1], 0.5)
    assert math.isnan(none.mean_detected_index) and none.detected_fraction == 0.0
