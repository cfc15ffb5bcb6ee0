"""GSM8K: loading, answer extraction and numeric comparison, on literal examples and the 1,319 test rows."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bon_core.tasks import get_task
from bon_core.tasks.gsm8k import normalize_number

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def task():
    return get_task("gsm8k", data_dir=DATA / "gsm8k")


def test_every_official_test_reference_is_extracted(task):
    raw = [json.loads(line) for line in (DATA / "gsm8k" / "test.jsonl").read_text().splitlines()]
    problems = task.load("test")
    assert len(problems) == len(raw) == 1319
    for row, problem in zip(raw, problems, strict=True):
        # The number after '####', parsed independently of the code under test.
        expected = Decimal(row["answer"].split("####")[-1].strip().replace(",", ""))
        assert Decimal(task.extract_answer(row["answer"])) == expected, row["answer"]
        assert Decimal(problem.reference) == expected
    assert problems[0].reference == "18" and problems[0].source_id == "test-0"
    assert problems[2].reference == "70000"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("She makes 9 * 2 = $18.\n#### 18", "18"),
        ("#### 1,000", "1000"),
        ("so 5 apples.\nThe answer is $1,250.00.", "1250"),
        ("The final answer is: -3", "-3"),
        ("First 12, then 7.5 left", "7.5"),
        ("#### 4\n\nQuestion: another one with 99", "4"),
        ("no numbers here", None),
    ],
)
def test_extract_answer(task, text, answer):
    assert task.extract_answer(text) == answer


def test_numeric_comparison_tolerates_commas_dollars_and_trailing_zeros(task):
    assert task.answers_equal("$1,000", "1000.0")
    assert task.answers_equal("18.00", "18")
    assert not task.answers_equal("18", "18.5")
    assert not task.answers_equal(None, "18")
    assert normalize_number("0.50") == "0.5"
    assert normalize_number("abc") is None


def test_grade_and_steps(task):
    problem = task.load("test", limit=1)[0]
    good = "Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\n#### 18"
    assert task.grade(good, problem).correct
    wrong = task.grade("She makes $20.\n#### 20", problem)
    assert (wrong.answer, wrong.correct) == ("20", False)
    assert [step.text for step in task.split_steps(good)] == [
        "Janet sells 16 - 3 - 4 = 9 eggs.",
        "She makes 9 * 2 = $18.",
        "#### 18",
    ]
    assert task.label_steps(good, problem) is None
    assert "Janet’s ducks" in task.format_prompt(problem)
