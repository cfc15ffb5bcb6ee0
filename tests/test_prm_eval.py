"""ProcessBench-style judging of a step scorer: the reader on literal rows, figures per group with the
all-correct / all-wrong edge cases, thresholds per subset with the pooled fallback, the two "overall" figures
(pooled vs mean of per-subset F1), the validation split, windowed scoring and the position-length baseline."""

from __future__ import annotations

import json
import math

import pytest
from prm_tiny import tiny_bert, tiny_gpt2_lm

from bon_core.prm import HeadConfig, PRMSpec, new_prm
from bon_core.prm.evaluation import (
    MEAN_OF_SUBSETS,
    OVERALL,
    PositionLengthBaseline,
    evaluate_scores,
    figures_for,
    figures_markdown,
    mean_of_subsets,
    plan_thresholds,
    prepare_split,
    split_validation,
    step_features,
)
from bon_core.prm.windows import score_in_windows, score_prm_in_windows, step_token_counter, window_budget, windows
from bon_core.stepdata import read_labelled
from bon_core.stepdata.record import LabelledSolution


def solution(labels, problem="p", steps=None) -> LabelledSolution:
    labels = tuple(labels)
    first = next((i for i, x in enumerate(labels) if x == 0.0), -1)
    steps = tuple(steps or (f"step {i}" for i in range(len(labels))))
    return LabelledSolution(problem, steps, labels, first, None, "test")


def test_processbench_reader_on_literal_rows(tmp_path):
    rows = [
        {"id": "ok", "problem": "1+1", "steps": ["1+1=2", "so 2"], "label": -1},  # every step correct
        {"id": "first", "problem": "2+2", "steps": ["2+2=5", "so 5", "done"], "label": 0},  # wrong from the start
        {"id": "mid", "problem": "3+3", "steps": ["3+3=6", "6*2=13", "so"], "label": 1, "final_answer_correct": False},
    ]  # fmt: skip
    path = tmp_path / "pb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ok, first, mid = read_labelled(path, format="processbench")
    assert (ok.labels, ok.first_error, ok.final_correct) == ((1.0, 1.0), -1, None)
    assert (first.labels, first.first_error) == ((0.0, None, None), 0)  # after the first error: not judged
    assert (mid.labels, mid.first_error, mid.final_correct) == ((1.0, 0.0, None), 1, False)
    assert [r.metadata["id"] for r in (ok, first, mid)] == ["ok", "first", "mid"]


# A: wrong at 2, flagged at 2 (hit). B: all correct, nothing below 0.5 (hit). C: wrong at 1, flagged at 0 (miss).
RECORDS = [solution([1, 1, 0]), solution([1, 1]), solution([1, 0])]
SCORES = [[0.9, 0.8, 0.2], [0.9, 0.6], [0.25, 0.3]]


def test_figures_on_literal_scores():
    f = figures_for("prm", "g", SCORES, RECORDS, 0.5)
    # 5 correct steps vs 2 wrong ones (0.2, 0.3): of the 10 pairs only (0.25 vs 0.3) is ordered wrongly.
    assert f.step_auroc == pytest.approx(0.9)
    assert (f.error_accuracy, f.correct_accuracy, f.n_error, f.n_correct) == (0.5, 1.0, 2, 1)
    assert f.f1 == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert f.threshold == 0.5


def test_all_correct_and_all_wrong_groups():
    all_correct = figures_for("prm", "ok", [[0.9, 0.6], [0.4, 0.9]], [solution([1, 1]), solution([1, 1])], 0.5)
    assert math.isnan(all_correct.step_auroc) and math.isnan(all_correct.f1)  # one class: both undefined
    assert math.isnan(all_correct.error_accuracy) and all_correct.correct_accuracy == 0.5  # second one flagged
    all_wrong = figures_for("prm", "bad", [[0.1, 0.9], [0.9, 0.2]], [solution([0, None]), solution([0, 0])], 0.5)
    assert math.isnan(all_wrong.f1) and math.isnan(all_wrong.correct_accuracy)
    assert all_wrong.error_accuracy == 0.5  # first found at 0; second flagged at 1, truth is 0
    assert math.isnan(all_wrong.step_auroc)


def test_threshold_is_chosen_on_validation_then_applied_per_group():
    val = [solution([1, 0]), solution([1, 1])]
    val_scores = [[0.9, 0.35], [0.8, 0.7]]  # F1 = 1 exactly for thresholds in (0.35, 0.7]
    figures = evaluate_scores("prm", val_scores, val, SCORES, RECORDS, ["a", "a", "b"])
    assert [f.group for f in figures] == ["a", "b", OVERALL, MEAN_OF_SUBSETS]
    threshold = figures[0].threshold
    assert 0.35 < threshold <= 0.7 and {f.threshold for f in figures[:3]} == {threshold}
    # At any such threshold: A hit, B hit (0.6 >= 0.7 fails only above 0.6) ...
    a = figures[0]
    expected_b_ok = 1.0 if threshold <= 0.6 else 0.0
    assert (a.error_accuracy, a.correct_accuracy) == (1.0, expected_b_ok)
    assert figures[1].error_accuracy == 0.0 and math.isnan(figures[1].f1)  # C flagged at step 0
    assert figures[2].n_solutions == 3 and "| overall (pooled) | prm |" in figures_markdown(figures)
    # b has no all-correct test solution, so no F1: the mean is over a alone, and says so
    assert figures[3].f1 == figures[0].f1 and figures[3].note == "1 of 2 subsets; no F1 for b"
    with pytest.raises(ValueError, match=r"the validation split \(1 all-correct, 0 wrong solutions\) needs both"):
        evaluate_scores("prm", [[0.9]], [solution([1])], SCORES, RECORDS, ["a", "a", "b"])


# Subset x is best cut in (0.35, 0.7], subset y in (0.8, 0.85]; no single threshold serves both.
VAL_X = [solution([1, 0], "x1"), solution([1, 1], "x2")]
VAL_X_SCORES = [[0.9, 0.35], [0.8, 0.7]]
VAL_Y = [solution([1, 1, 0], "y1"), solution([1], "y2")]
VAL_Y_SCORES = [[0.9, 0.95, 0.8], [0.85]]
TEST = [solution([1, 0], "x3"), solution([1, 1], "x4"), solution([1, 0], "y3"), solution([1], "y4")]
TEST_SCORES = [[0.9, 0.3], [0.9, 0.75], [0.9, 0.8], [0.9]]
TEST_GROUPS = ["x", "x", "y", "y"]


def test_thresholds_are_chosen_per_subset_on_its_validation_part():
    figures = evaluate_scores(
        "prm", VAL_X_SCORES + VAL_Y_SCORES, VAL_X + VAL_Y, TEST_SCORES, TEST, TEST_GROUPS, ["x", "x", "y", "y"]
    )
    x, y, pooled, mean = figures
    assert 0.35 < x.threshold <= 0.7 and 0.8 < y.threshold <= 0.85
    assert (x.f1, y.f1, pooled.f1, mean.f1) == (1.0, 1.0, 1.0, 1.0)
    assert math.isnan(pooled.threshold) and "| overall (pooled) | prm |" in figures_markdown(figures)
    assert "| per subset |" in figures_markdown(figures)
    # One pooled threshold (the old way) must pick one cut: on the pooled validation split (0.35, 0.7] and
    # (0.8, 0.85] tie at F1 2/3 and the lower wins, so y's wrong solution (0.8 at step 1) goes unflagged.
    one = evaluate_scores("prm", VAL_X_SCORES + VAL_Y_SCORES, VAL_X + VAL_Y, TEST_SCORES, TEST, TEST_GROUPS)
    assert 0.35 < one[0].threshold <= 0.7 and one[1].threshold == one[0].threshold
    assert (one[1].error_accuracy, one[1].correct_accuracy, one[1].f1) == (0.0, 1.0, 0.0)


def test_a_subset_without_both_kinds_in_validation_falls_back_to_the_pooled_threshold():
    val = VAL_X + [solution([1], "z1")]
    plan = plan_thresholds(val, ["x", "x", "z"], ["x", "z"])
    assert plan.own == {"x"}
    assert plan.notes == (
        "z: its validation part has 1 all-correct and 0 wrong solutions, so it uses the threshold chosen on the "
        "pooled validation split",
    )
    test = [solution([1, 0], "x3"), solution([1, 1], "x4"), solution([0], "z2"), solution([1, 1], "z3")]
    figures = evaluate_scores("prm", VAL_X_SCORES + [[0.2]], val, [[0.9, 0.3], [0.9, 0.75], [0.1], [0.9, 0.6]],
                              test, ["x", "x", "z", "z"], ["x", "x", "z"])  # fmt: skip
    x, z = figures[0], figures[1]
    assert z.note == "pooled-validation threshold" and x.note == ""
    assert "| z (pooled-validation threshold) | prm |" in figures_markdown(figures)
    with pytest.raises(ValueError, match=r"\(0 all-correct, 2 wrong solutions\) needs both correct and wrong"):
        plan_thresholds([solution([0]), solution([1, 0])], ["x", "y"], ["x", "y"])


def test_pooled_and_mean_of_subsets_differ_and_are_labelled():
    # a: its wrong solution found, its correct one flagged -> acc 1 and 0, F1 0.
    # b: three wrong found, one correct passed -> F1 1. Mean of F1 = 0.5; pooled: wrong 4/4, correct 1/2 -> 2/3.
    a = figures_for("prm", "a", [[0.9, 0.1], [0.1, 0.9]], [solution([1, 0]), solution([1, 1])], 0.5)
    b_records = [solution([0]), solution([1, 0]), solution([1, 1, 0]), solution([1])]
    b_scores = [[0.2], [0.9, 0.2], [0.9, 0.9, 0.2], [0.9]]
    b = figures_for("prm", "b", b_scores, b_records, 0.5)
    assert (a.f1, b.f1) == (0.0, 1.0)
    mean = mean_of_subsets("prm", [a, b])
    assert mean.f1 == 0.5 and mean.note == "2 of 2 subsets" and (mean.n_error, mean.n_correct) == (4, 2)
    pooled = figures_for("prm", OVERALL, [[0.9, 0.1], [0.1, 0.9], *b_scores],
                         [solution([1, 0]), solution([1, 1]), *b_records], [0.5] * 6)  # fmt: skip
    assert (pooled.error_accuracy, pooled.correct_accuracy) == (1.0, 0.5) and pooled.f1 == pytest.approx(2 / 3)
    table = figures_markdown([a, b, pooled, mean])
    assert "| overall (mean of per-subset F1) (2 of 2 subsets) | prm | – | 0.500 | – | – | – | 6 (4/2) |" in table
    assert "| overall (pooled) | prm | " in table and "ProcessBench's published 'average F1' is this figure" in table


def test_prepare_split_checks_before_any_scoring():
    subsets = [("a", [solution([1, 0], f"q{i}") for i in range(6)] + [solution([1, 1], f"r{i}") for i in range(6)])]
    split = prepare_split(subsets, 0.5, seed=0)
    assert len(split.validation) + len(split.test) == 12 and set(split.test_groups) == {"a"}
    assert split.plan.own == {"a"} and split.plan.notes == ()
    with pytest.raises(ValueError, match=r"\(0 all-correct, \d+ wrong solutions\) needs both correct and wrong"):
        prepare_split([("a", [solution([1, 0], f"q{i}") for i in range(6)])], 0.5)


def test_validation_split_keeps_a_problem_on_one_side():
    records = [solution([1, 0], problem=f"q{i % 10}") for i in range(40)]
    val, test = split_validation(records, 0.3, seed=1)
    assert len(val) + len(test) == 40 and val and test
    assert not {r.problem for r in val} & {r.problem for r in test}
    assert split_validation(records, 0.3, seed=1) == (val, test)  # reproducible
    with pytest.raises(ValueError, match="validation fraction"):
        split_validation(records, 1.0)


def test_windows_pack_consecutive_steps():
    assert windows([3, 4, 5, 2], 7) == [(0, 2), (2, 4)]
    assert windows([10, 1], 5) == [(0, 1), (1, 2)]  # an over-long step gets its own window
    assert windows([], 5) == []


def test_score_in_windows_gives_earlier_steps_as_context():
    calls = []

    def score(problems, solutions):  # a step's score: how many lines of context precede its window
        calls.append(len(problems))
        return [
            [problem.count("\n") + len(step) / 100 for step in steps]
            for problem, steps in zip(problems, solutions, strict=True)
        ]

    def count(texts):
        return [len(t) for t in texts]

    solutions = [["aaaa", "bb", "cccc"], ["x"], ["aaaa", "bb", "cccc"]]
    scores = score_in_windows(score, ["P", "Q", "P"], solutions, count, budget=6)
    # windows: [aaaa, bb] with problem "P"; [cccc] with "P\naaaa\nbb" (2 newlines); duplicate scored once
    assert scores == [[0.04, 0.02, 2.04], [0.01], [0.04, 0.02, 2.04]]
    assert calls == [3]  # one batched call: 2 windows + "Q"
    cut = score_in_windows(score, ["P"], [["abcdefgh"]], count, budget=4)
    assert cut == [[0.04]]  # an over-long step is cut to the budget


def test_windows_of_our_prm_fit_its_max_length(tmp_path):
    encoder = new_prm(
        tiny_bert(tmp_path / "bert"), spec=PRMSpec(head=HeadConfig(hidden_dim=8), max_length=64), device="cpu"
    )
    assert window_budget(encoder) == 64 - 2 - 64 // 4  # [CLS] and [SEP], and a quarter kept for the context
    assert step_token_counter(encoder)(["1+1=2", "2"]) == [7, 3]  # " 1+1=2" and " 2" (one token a character) + tag
    causal = new_prm(
        tiny_gpt2_lm(tmp_path / "gpt2"), spec=PRMSpec(head=HeadConfig(hidden_dim=8), max_length=32), device="cpu"
    )
    assert window_budget(causal) == 32 - 0 - 8  # 24 tokens of steps: three 7-token steps a window
    steps = ["1+1=2", "2+1=3", "3+1=4", "4+1=5", "5+1=6"]
    (scores,) = score_prm_in_windows(causal, ["1+1+1+1+1+1"], [steps])
    first = causal.score(["1+1+1+1+1+1"], [steps[:3]])[0]
    rest = causal.score(["1+1+1+1+1+1\n" + "\n".join(steps[:3])], [steps[3:]])[0]  # earlier steps as context
    assert scores == pytest.approx(first + rest, abs=1e-6)
    assert score_prm_in_windows(causal, ["2+2"], [["2+2=4"]]) == causal.score(["2+2"], [["2+2=4"]])


def test_step_features_and_position_length_baseline():
    expected = [[0.0, 0.0, math.log(3)], [1.0, 0.5, math.log(2)], [2.0, 1.0, 0.0]]
    assert step_features(["ab", "c", ""]).flatten().tolist() == pytest.approx(sum(expected, []))
    # Errors sit in late steps: the fitted baseline trusts early steps more than late ones.
    records = [solution([1, 1, 1, 0]) for _ in range(10)] + [solution([1, 1, 1, 1]) for _ in range(10)]
    baseline = PositionLengthBaseline().fit(records)
    (scores,) = baseline.score(["ignored"], [["s0", "s1", "s2", "s3"]])
    assert scores[0] > scores[3] and all(0.0 < s < 1.0 for s in scores)
    with pytest.raises(ValueError, match="correct and incorrect"):
        PositionLengthBaseline().fit([solution([1, 1])])
    with pytest.raises(ValueError, match="fit the position-length baseline"):
        PositionLengthBaseline().score(["p"], [["s"]])
