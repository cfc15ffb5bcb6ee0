"""The arith task: generator, reference solver and exact step checker on literal, hand-checked examples."""

from __future__ import annotations

import pytest

from bon_core.tasks.arith import (
    ArithDifficulty,
    ArithTask,
    check_solution,
    legal_redexes,
    solve,
    split_of,
    tokenize_expression,
)
from bon_core.types import Problem


def problem(question: str, reference: str) -> Problem:
    return Problem(task="arith", source_id="x", question=question, reference=reference)


P = problem("3+4*(5-2)", "15")


def test_same_seed_same_problems_and_different_seed_differs():
    task = ArithTask()
    a = task.load("test", limit=30, seed=1)
    assert a == task.load("test", limit=30, seed=1)
    assert [p.question for p in a] != [p.question for p in task.load("test", limit=30, seed=2)]


def test_splits_are_disjoint_and_problems_distinct():
    task = ArithTask()
    splits = {s: {p.question for p in task.load(s, limit=300, seed=s2)} for s, s2 in [("train", 0), ("test", 5)]}
    splits["validation"] = {p.question for p in task.load("validation", limit=300, seed=7)}
    assert all(len(v) == 300 for v in splits.values())
    assert not splits["train"] & splits["test"]
    assert not splits["train"] & splits["validation"]
    assert not splits["validation"] & splits["test"]
    assert all(split_of(q) == "test" for q in splits["test"])


def test_problems_respect_difficulty_and_gold_solutions_check():
    d = ArithDifficulty(min_ops=2, max_ops=2, max_operand=5, operators=("+", "*"), paren_prob=0.0, max_value=30)
    problems = ArithTask(difficulty=d).load("train", limit=50)
    for p in problems:
        numbers = [t for t in tokenize_expression(p.question) if isinstance(t, int)]
        assert len(numbers) == 3 and all(1 <= x <= 5 for x in numbers)
        assert "-" not in p.question and "(" not in p.question
        assert 0 <= int(p.reference) <= 30
        verdict = check_solution(p.solution, p)
        assert verdict.process_correct and verdict.answer_correct and verdict.first_error == -1


def test_unknown_split_and_bad_difficulty_fail_clearly():
    with pytest.raises(ValueError, match="unknown arith split 'dev'"):
        ArithTask().load("dev", limit=1)
    with pytest.raises(ValueError, match="operators"):
        ArithDifficulty(operators=("/",))


def test_solver_on_literal_problems():
    assert solve("3+4*(5-2)") == (["5-2=3", "4*3=12", "3+12=15"], 15)
    assert solve("8-2-3") == (["8-2=6", "6-3=3"], 3)  # left to right
    assert solve("2*3+4*5") == (["2*3=6", "4*5=20", "6+20=26"], 26)
    assert solve("(1+2)*(3+4)") == (["1+2=3", "3+4=7", "3*7=21"], 21)
    assert ArithTask().format_prompt(P) == "Q: 3+4*(5-2)\n"


def test_legal_redexes_follow_precedence():
    # 2+3*4-5: only the product may go first.
    assert legal_redexes(tokenize_expression("2+3*4-5")) == [3]
    # 3*4+5*6: either product.
    assert legal_redexes(tokenize_expression("3*4+5*6")) == [1, 5]
    # 8-2+1: only the leftmost subtraction (8-(2+1) would be wrong).
    assert legal_redexes(tokenize_expression("8-2+1")) == [1]


def test_checker_on_good_text_and_other_legal_order():
    good = "5-2=3\n4*3=12\n3+12=15\nAnswer: 15"
    v = check_solution(good, P)
    assert v.step_correct == (True, True, True, True) and v.first_error == -1 and v.process_correct
    other_order = check_solution("4*5=20\n2*3=6\n6+20=26\nAnswer: 26", problem("2*3+4*5", "26"))
    assert other_order.first_error == -1 and other_order.answer_correct


def test_checker_arithmetic_error_then_cascade():
    v = check_solution("5-2=3\n4*3=13\n3+13=16\nAnswer: 16", P)
    assert v.step_correct == (True, False, False, False) and v.first_error == 1
    assert not v.answer_correct and not v.right_answer_wrong_process


def test_checker_illegal_reduction_with_right_arithmetic():
    # 3+4=7 is true arithmetic but ignores precedence: step 0 is wrong.
    v = check_solution("3+4=7\n5-2=3\n7*3=21\nAnswer: 21", P)
    assert v.first_error == 0 and v.step_correct == (False, False, False, False)


def test_right_answer_wrong_process():
    # Two compensating errors: 4*3=11 then 3+11=15 (wrong arithmetic) still lands on 15.
    v = check_solution("5-2=3\n4*3=11\n3+11=15\nAnswer: 15", P)
    assert v.answer_correct and v.first_error == 1 and v.right_answer_wrong_process
    # Jumping straight to the answer: the answer step is wrong, since the reduction is incomplete.
    jump = check_solution("5-2=3\nAnswer: 15", P)
    assert jump.step_correct == (True, False) and jump.first_error == 1 and not jump.complete
    assert jump.right_answer_wrong_process


def test_wrong_answer_right_process():
    v = check_solution("5-2=3\n4*3=12\n3+12=15\nAnswer: 51", P)
    assert v.complete and v.step_correct == (True, True, True, False) and not v.process_correct
    assert not v.answer_correct and v.wrong_answer_right_process
    missing = check_solution("5-2=3\n4*3=12\n3+12=15", P)
    assert missing.answer is None and missing.wrong_answer_right_process


def test_checker_on_malformed_text():
    v = check_solution("hello\n5 - 2 = 3\n\n4*3=12=12\nAnswer: 15\n3+12=15", P)
    # "hello" is step 0 (wrong); "5 - 2 = 3" is well formed but after the error; the blank line is no step;
    # the Answer line is the last step; text after it is ignored.
    assert v.step_correct == (False, False, False, False) and v.first_error == 0 and v.right_answer_wrong_process
    empty = check_solution("", P)
    assert empty.step_correct == () and empty.first_error == -1 and not empty.complete and not empty.answer_correct
    assert check_solution("5-2=3\n4*3=12\n3+12=15\nAnswer: fifteen", P).answer is not None


def test_split_steps_spans_and_labels():
    text = "5-2=3\n\n4*3=11\nAnswer: 15\n"
    steps = ArithTask().split_steps(text)
    assert [(s.text, s.start, s.end) for s in steps] == [("5-2=3", 0, 5), ("4*3=11", 7, 13), ("Answer: 15", 14, 24)]
    labels = ArithTask().label_steps(text, P)
    assert [s.label for s in labels] == ["correct", "incorrect", "incorrect"]


def test_extract_grade_and_normalize():
    task = ArithTask()
    assert task.extract_answer("1+1=2\nAnswer:  2 \n") == "2"
    assert task.extract_answer("no answer") is None
    assert task.grade("Answer: 015", problem("7+8", "15")).correct
    assert not task.grade("Answer: 15.5", problem("7+8", "15")).correct
    assert task.normalize_answer("-03") == "-3" and task.normalize_answer("x") is None
    assert not task.answers_equal(None, None)


def test_steps_that_write_the_remaining_expression_are_checked_on_it():
    from bon_core.tasks.arith import solve_with_states

    assert solve_with_states("3+4*(5-2)") == (["5-2=3 -> 3+4*3", "4*3=12 -> 3+12", "3+12=15 -> 15"], 15)
    p = problem("3+4*(5-2)", "15")
    assert check_solution("5-2=3 -> 3+4*3\n4*3=12 -> 3+12\n3+12=15 -> 15\nAnswer: 15", p).process_correct
    # right arithmetic, legal redex, but the rest of the expression is copied wrong: the step is wrong
    v = check_solution("5-2=3 -> 3+4*3\n4*3=12 -> 3+21\n3+12=15 -> 15\nAnswer: 15", p)
    assert v.step_correct == (True, False, False, False) and v.first_error == 1 and v.right_answer_wrong_process
    gold = ArithTask().load("test", limit=20)
    assert all(check_solution(q.solution, q).process_correct for q in gold)
