"""Evaluation metrics: pass@k, exact accuracy-vs-N curves with CIs and compute, paired differences,
step-level scorer quality, slices, pool diversity and scorer ensembles.

>>> from bon_core.metrics import pass_at_k
>>> pass_at_k(10, 0, 20)
0.0
"""

from __future__ import annotations

from bon_core.metrics.curves import (
    CURVE_METHODS,
    CURVE_METRICS,
    Pool,
    best_at_k_exact,
    curve,
    curve_uses_scorer,
    default_ks,
    majority_curve_exact,
)
from bon_core.metrics.diversity import (
    Diversity,
    distinct_answers_by_n,
    duplicate_rate,
    mean_pairwise_step_jaccard,
    pool_diversity,
    step_jaccard,
)
from bon_core.metrics.ensemble import ENSEMBLE_METHODS, combine_step_scores, ensemble_info
from bon_core.metrics.passk import pass_at_k, pass_at_k_array
from bon_core.metrics.slices import (
    ProcessSliceRate,
    rawp_selection_rates,
    right_answer_wrong_process,
    selection_point,
    split_by_metadata,
)
from bon_core.metrics.stats import CI_METHODS, DEFAULT_CI, MeanCI, ci_label, mean_ci, paired_difference_ci
from bon_core.metrics.steps import (
    Correlation,
    EarlyErrorDetection,
    ProcessBenchResult,
    choose_threshold,
    detected_first_error,
    early_error_detection,
    expected_calibration_error,
    first_error_index,
    processbench_eval,
    processbench_f1,
    score_correctness_correlation,
    step_auroc,
    step_calibration_error,
)

__all__ = [
    "CI_METHODS",
    "CURVE_METHODS",
    "CURVE_METRICS",
    "DEFAULT_CI",
    "ENSEMBLE_METHODS",
    "Correlation",
    "Diversity",
    "EarlyErrorDetection",
    "MeanCI",
    "Pool",
    "ProcessBenchResult",
    "ProcessSliceRate",
    "best_at_k_exact",
    "choose_threshold",
    "ci_label",
    "combine_step_scores",
    "curve",
    "curve_uses_scorer",
    "default_ks",
    "detected_first_error",
    "distinct_answers_by_n",
    "duplicate_rate",
    "early_error_detection",
    "ensemble_info",
    "expected_calibration_error",
    "first_error_index",
    "majority_curve_exact",
    "mean_ci",
    "mean_pairwise_step_jaccard",
    "paired_difference_ci",
    "pass_at_k",
    "pass_at_k_array",
    "pool_diversity",
    "processbench_eval",
    "processbench_f1",
    "rawp_selection_rates",
    "right_answer_wrong_process",
    "score_correctness_correlation",
    "selection_point",
    "split_by_metadata",
    "step_auroc",
    "step_calibration_error",
    "step_jaccard",
]
