"""Hard negatives for arith: one corrupted step in a reference solution, continued, labelled by the exact checker."""

from __future__ import annotations

import random

import pytest

from bon_core.prm import StepLabelledExample
from bon_core.prm.records import contrastive_examples
from bon_core.prm.train import selection_accuracy, split_by_problem
from bon_core.tasks import get_task
from bon_core.tasks.arith import check_solution, generate_problems
from bon_core.tasks.arith_negatives import CORRUPTIONS, corrupt_at, corrupted_solutions
from bon_core.types import Problem


def _problem(question: str, reference: str) -> Problem:
    return Problem(task="arith", source_id=question, question=question, reference=reference)


def test_each_corruption_on_a_literal_problem():
    rng = random.Random(0)
    # reference: 4*5=20 -> 3+20 | 3+20=23 -> 23 | Answer: 23
    assert corrupt_at("3+4*5", 0, "order", rng) == ["3+4=7 -> 7*5", "7*5=35 -> 35", "Answer: 35"]
    assert corrupt_at("3+4*5", 0, "skip", rng) == ["4*5=20 -> 23", "Answer: 23"]
    assert corrupt_at("3+4*5", 1, "skip", rng) is None  # nothing after the last reduction to fold into it
    assert corrupt_at("3+4*5", 1, "order", rng) is None  # one operator left: nothing to take out of turn
    result = corrupt_at("3+4*5", 0, "result", rng)
    wrong = int(result[0].split("=")[1].split(" ")[0])
    assert wrong != 20 and result[0] == f"4*5={wrong} -> 3+{wrong}" and result[-1] == f"Answer: {3 + wrong}"
    rest = corrupt_at("3+4*5", 0, "rest", rng)
    assert rest[0].startswith("4*5=20 -> ") and rest[0] != "4*5=20 -> 3+20"
    answer = corrupt_at("3+4*5", 0, "answer", rng)
    assert answer[:2] == ["4*5=20 -> 3+20", "3+20=23 -> 23"] and answer[2] != "Answer: 23"
    with pytest.raises(ValueError, match="unknown corruption 'typo'"):
        corrupt_at("3+4*5", 0, "typo", rng)


def test_the_checker_labels_the_corrupted_step_and_the_outcome_follows_the_process():
    problem = _problem("3+4*5", "23")
    rng = random.Random(0)
    skip = check_solution("\n".join(corrupt_at("3+4*5", 0, "skip", rng)), problem)
    assert skip.step_correct == (False, False) and skip.answer_correct  # right answer, wrong process
    order = check_solution("\n".join(corrupt_at("3+4*5", 0, "order", rng)), problem)
    assert order.first_error == 0 and not order.answer_correct
    answer = check_solution("\n".join(corrupt_at("3+4*5", 0, "answer", rng)), problem)
    assert answer.step_correct == (True, True, False) and not answer.answer_correct


def test_corrupted_twins_share_the_context_and_every_one_is_wrong():
    kinds_seen = set()
    for problem in generate_problems("train", 60, seed=3):
        reference = problem.solution.splitlines()
        for steps in corrupted_solutions(problem, 4, random.Random(problem.question)):
            verdict = check_solution("\n".join(steps), problem)
            assert not verdict.process_correct
            first = verdict.first_error
            assert steps[:first] == reference[:first]  # same problem, same steps before the corrupted one
            assert steps[-1].startswith("Answer: ")
            kinds_seen.add("right answer" if verdict.answer_correct else "wrong answer")
    assert kinds_seen == {"right answer", "wrong answer"}
    assert len(CORRUPTIONS) == 5


def test_contrastive_examples_pair_each_reference_with_its_twins():
    examples = contrastive_examples(get_task("arith"), "train", 20, seed=1, negatives_per_problem=2)
    by_problem: dict[str, list[StepLabelledExample]] = {}
    for e in examples:
        by_problem.setdefault(e.problem, []).append(e)
    assert len(by_problem) == 20
    for group in by_problem.values():
        positive, *negatives = group
        assert all(x == 1.0 for x in positive.labels) and positive.final_correct is True
        assert 1 <= len(negatives) <= 2 and all(0.0 in n.labels for n in negatives)
    with pytest.raises(ValueError, match="cannot make hard negatives"):
        contrastive_examples(get_task("gsm8k"), "test", 2)


def test_validation_split_is_by_problem():
    examples = [StepLabelledExample(f"p{i % 10}", ("s",), (float(i % 2),)) for i in range(100)]
    train, val = split_by_problem(examples, 0.2, seed=0)
    assert len({e.problem for e in val}) == 2 and len(val) == 20 and len(train) == 80
    assert not {e.problem for e in train} & {e.problem for e in val}
    with pytest.raises(ValueError, match="cannot hold out"):
        split_by_problem(examples[:1], 0.5, seed=0)


def test_selection_accuracy_picks_the_first_highest_score_per_problem():
    scores = [0.9, 0.2, 0.5, 0.5, 0.1]
    problems = ["a", "a", "b", "b", "c"]
    correct = [False, True, True, False, True]
    # a: 0.9 is wrong; b: tie at 0.5, the first (correct) wins; c: the only one is correct
    assert selection_accuracy(scores, problems, correct) == pytest.approx(2 / 3)


def test_local_labels_judge_each_step_against_the_state_written_before_it():
    from bon_core.tasks.arith_local import local_step_labels

    assert local_step_labels("3+4*5", ["4*5=20 -> 3+20", "3+20=23 -> 23", "Answer: 23"]) == (True, True, True)
    # the wrong value, then right moves from the wrong state: only the first step is wrong locally
    assert local_step_labels("3+4*5", ["4*5=21 -> 3+21", "3+21=24 -> 24", "Answer: 24"]) == (False, True, True)
    assert local_step_labels("3+4*5", ["3+4=7 -> 7*5", "7*5=35 -> 35", "Answer: 35"]) == (False, True, True)
    assert local_step_labels("3+4*5", ["4*5=20 -> 3+20", "3+20=23 -> 23", "Answer: 24"]) == (True, True, False)
    assert local_step_labels("3+4*5", ["4*5=20", "3+20=23", "Answer: 23"]) == (True, True, True)  # no rest written
    assert local_step_labels("3+4*5", ["hello", "3+20=23", "Answer: 23"]) == (False, None, None)  # no state left
    # a process is correct iff every local label is True: the prefix labels are their running AND
    problem = _problem("3+4*5", "23")
    for steps in corrupted_solutions(problem, 5, random.Random(1)):
        prefix = check_solution("\n".join(steps), problem).step_correct
        local = local_step_labels("3+4*5", steps)
        running = [all(x is True for x in local[: i + 1]) for i in range(len(local))]
        assert tuple(running) == prefix
