"""HumanEval: every canonical solution passes in the sandbox; wrong and hostile completions do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bon_core.sandbox import SandboxLimits
from bon_core.tasks import get_task

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def task():
    return get_task("humaneval", data_dir=DATA / "humaneval", limits=SandboxLimits(timeout_s=10, cpu_s=5))


@pytest.fixture(scope="module")
def problems(task):
    return task.load()


def test_loads_164_problems(problems):
    assert len(problems) == 164
    assert problems[0].source_id == "HumanEval/0"
    assert problems[0].metadata["entry_point"] == "has_close_elements"
    assert problems[163].source_id == "HumanEval/163"


def test_all_164_canonical_solutions_pass(task, problems):
    grades = task.grade_many([problem.reference for problem in problems], problems)
    failures = [(p.source_id, g.detail) for p, g in zip(problems, grades, strict=True) if not g.correct]
    assert failures == []


def test_wrong_completion_fails_with_the_reason(task, problems):
    grade = task.grade("    return False\n", problems[0])
    assert grade.correct is False
    assert grade.detail == "failed: AssertionError"


def test_early_exit_in_completion_is_not_a_pass(task, problems):
    grade = task.grade("    import sys\n    sys.exit(0)\n", problems[0])
    # the function is only called by check(); exiting inside it must not count as passing
    assert grade.correct is False and grade.detail.startswith("crashed: exited with status 0")
    top_level = task.grade("    return True\nimport os\nos._exit(0)\n", problems[0])
    assert top_level.correct is False


def test_completion_redefining_the_function_works(task, problems):
    problem = problems[2]  # truncate_number
    full = "def truncate_number(number: float) -> float:\n    return number % 1.0\n"
    assert task.grade(full, problem).correct


def test_trailing_usage_code_is_cut(task, problems):
    text = problems[2].reference + "\nif __name__ == '__main__':\n    raise SystemExit(1)\n"
    assert task.extract_answer(text) == problems[2].reference + "\n"
    assert task.grade(text, problems[2]).correct


def test_steps_are_statements_of_the_body(task):
    completion = "    total = 0\n    for x in xs:\n        total += x\n\n    # done\n    return total\n"
    assert [s.text for s in task.split_steps(completion)] == [
        "total = 0",
        "for x in xs:\n        total += x",
        "# done\n    return total",
    ]


def test_prompt_and_answer_helpers(task, problems):
    assert task.format_prompt(problems[0]) == problems[0].question
    assert task.answers_equal("    return 1\n\n", "    return 1")
    assert task.label_steps("x", problems[0]) is None
