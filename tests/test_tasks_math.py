"""MATH-500: boxed-answer extraction and math-verify equivalence on real MATH-500 answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bon_core.tasks import get_task
from bon_core.tasks.math import last_boxed

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def task():
    return get_task("math", data_dir=DATA / "math500")


@pytest.fixture(scope="module")
def problems(task):
    return {problem.source_id: problem for problem in task.load()}


def test_loads_500_problems_with_answers(problems):
    assert len(problems) == 500
    first = problems["test/precalculus/807.json"]
    assert first.reference == "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert first.metadata["level"] == 2 and first.metadata["subject"] == "Precalculus"


@pytest.mark.parametrize(
    ("text", "boxed"),
    [
        ("so $\\boxed{\\frac{14}{3}}$.", "\\frac{14}{3}"),
        ("first \\boxed{1} then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("\\boxed{\\text{\\{a\\}}}", "\\text{\\{a\\}}"),
        ("the answer is \\boxed 5.", "5."),
        ("\\fbox{7}", "7"),
        ("unclosed \\boxed{1", None),
        ("no box", None),
    ],
)
def test_last_boxed(text, boxed):
    assert last_boxed(text) == boxed


@pytest.mark.parametrize(
    ("source_id", "candidate", "correct"),
    [
        ("test/algebra/2584.json", "\\dfrac{14}{3}", True),  # fraction
        ("test/algebra/2584.json", "4.6667", False),
        ("test/algebra/2036.json", "\\sqrt{117}", True),  # radical: 3\sqrt{13}
        ("test/algebra/2036.json", "3\\sqrt{12}", False),
        ("test/prealgebra/1302.json", "11\\sqrt{2}", True),  # reference 11\sqrt2
        ("test/algebra/2043.json", "(-\\infty,2)\\cup(3,\\infty)", True),  # interval union
        ("test/algebra/2043.json", "(-\\infty,2]\\cup(3,\\infty)", False),
        ("test/precalculus/695.json", "(-\\infty,0]", True),
        ("test/algebra/1349.json", "\\text{Evelyn}", True),  # text answers
        ("test/algebra/1349.json", "Evelyn", True),
        ("test/algebra/1349.json", "\\text{Angela}", False),
        ("test/prealgebra/105.json", "\\text{east}", True),
        ("test/precalculus/807.json", "(3, \\pi/2)", True),  # tuple
        ("test/algebra/1265.json", "1.5", True),  # 3/2
    ],
)
def test_grade_real_answers(task, problems, source_id, candidate, correct):
    grade = task.grade(f"Work...\n\nSo the answer is $\\boxed{{{candidate}}}$.", problems[source_id])
    assert grade.answer == candidate
    assert grade.correct is correct


def test_reference_solutions_grade_correct(task, problems):
    for source_id in ["test/precalculus/807.json", "test/algebra/2584.json", "test/algebra/1349.json"]:
        problem = problems[source_id]
        assert task.grade(problem.solution, problem).correct


def test_no_box_is_wrong_and_prm800k_heading_is_read(task, problems):
    problem = problems["test/algebra/2584.json"]
    assert task.grade("I think it is 14/3", problem).correct is False
    assert task.extract_answer("x = 2.\n\n# Answer\n\n14/3") == "14/3"


def test_normalize_answer_groups_equivalent_forms(task):
    assert task.normalize_answer("\\frac{1}{2}") == task.normalize_answer("\\dfrac{1}{2}")
    assert task.normalize_answer(None) is None


def test_steps_are_paragraphs(task):
    steps = task.split_steps("We have $x=1$.\n\nThen $y=2$.\n\n\nSo $\\boxed{3}$.")
    assert [s.text for s in steps] == ["We have $x=1$.", "Then $y=2$.", "So $\\boxed{3}$."]
