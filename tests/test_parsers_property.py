"""Random text thrown at every task's parsers (hypothesis): step splitters, answer extractors, normalisers, the arith
checker and tokenizer, and the splitters of ``bon_core.steps``. Only the documented error escapes (a ValueError
from ``tokenize_expression``, for a character that is not part of an expression), and the outputs are consistent:
spans index the text, steps are non-empty and numbered in order, and ``check_solution`` gives one verdict per step.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bon_core.steps import CODE_MODES, TEXT_SEPARATORS, make_splitter, split_code_steps, split_text_steps
from bon_core.tasks import arith, get_task

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBLEM = arith.generate_problems("test", 1, seed=3)[0]
# Text that looks like the formats the parsers read, mixed with arbitrary characters (line and paragraph
# separators, Unicode digits, huge numbers).
PIECES = st.sampled_from(
    ["\n", "\n\n", "\r\n", "\x0b", "\x0c", "\x1c", "\u2028", "\x85", " ", "\t", "=", "->", "+", "-", "*", "(", ")",
     "Answer:", "Answer: ", "####", "The answer is", "\\boxed{", "}", "{", "Step 1:", "## Step 2.", "ки", "$", ",",
     ".", "٣", "9" * 30, "9" * 5000, "1e5000", "def f(x):\n", "    return x\n", "if __name__", "print(", "```", ":"]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join))
NASTY = ["", "\n", "Answer:", "Answer: " + "9" * 5000, "9" * 5000 + "*9=9 -> 9", "#### 1e5000", "1e999999999"]


def assert_steps_index(steps, text: str, stripped: bool = True) -> None:
    assert [s.index for s in steps] == list(range(len(steps)))
    for step in steps:
        assert step.text.strip(), step
        assert text[step.start : step.end] == step.text
        if stripped:
            assert step.text == step.text.strip()
    assert all(a.end <= b.start for a, b in zip(steps, steps[1:], strict=False))


@PROPERTY
@given(text=TEXT, separator=st.sampled_from(TEXT_SEPARATORS), tag=st.sampled_from(["ки", "<step>", "\n", "x"]))
def test_text_splitters_index_the_text(text, separator, tag):
    assert_steps_index(split_text_steps(text, separator, tag), text)
    assert_steps_index(make_splitter(separator, tag)(text), text)


@PROPERTY
@given(text=TEXT, mode=st.sampled_from(CODE_MODES))
@example(text="def f():\n\treturn 1\n  x = (", mode="statements")
@example(text="\x0c\n)\n", mode="statements")
def test_code_splitters_index_the_text(text, mode):
    assert_steps_index(split_code_steps(text, mode), text)


@PROPERTY
@given(text=TEXT)
def test_arith_parsers_never_raise_and_agree(text):
    for nasty in NASTY:
        _check_arith(nasty)
    _check_arith(text)


def _check_arith(text: str) -> None:
    steps = arith.split_steps(text)
    assert_steps_index(steps, text, stripped=False)
    verdict = arith.check_solution(text, PROBLEM)
    assert len(verdict.step_correct) == len(steps)
    assert verdict.first_error == (verdict.step_correct.index(False) if False in verdict.step_correct else -1)
    assert verdict.answer == arith.extract_answer(text)
    normal = arith.normalize_answer(text)
    assert normal is None or normal.lstrip("-").isdigit()
    assert arith.answers_equal(text, text) == (normal is not None)
    labelled = arith.ArithTask().label_steps(text, PROBLEM)
    assert [s.label for s in labelled] == ["correct" if ok else "incorrect" for ok in verdict.step_correct]


@PROPERTY
@given(text=TEXT)
@example(text="3+4*(5-2)")
@example(text="3 + x")
def test_arith_tokenizer_raises_only_value_error(text):
    try:
        tokens = arith.tokenize_expression(text)
    except ValueError as error:
        assert str(error).startswith("arith expression ")
        return
    assert all(isinstance(t, int) or t in "+-*()" for t in tokens)


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    data = tmp_path_factory.mktemp("no-data")  # the parsers need no data files
    return {
        "gsm8k": get_task("gsm8k", data_dir=data),
        "math": get_task("math", data_dir=data),
        "humaneval": get_task("humaneval", data_dir=data),
        "arith": get_task("arith"),
    }


@pytest.mark.parametrize("name", ["gsm8k", "humaneval", "arith"])
@PROPERTY
@given(text=TEXT)
def test_task_parsers_never_raise(tasks, name, text):
    _check_task(tasks[name], text)
    for nasty in NASTY:
        _check_task(tasks[name], nasty)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_math_parsers_never_raise(tasks, text):  # fewer examples: math-verify parses with sympy
    _check_task(tasks["math"], text)


def _check_task(task, text: str) -> None:
    assert_steps_index(task.split_steps(text), text, stripped=task.name != "arith")
    answer = task.extract_answer(text)
    assert answer is None or isinstance(answer, str)
    for value in (answer, text):
        normal = task.normalize_answer(value)
        assert normal is None or isinstance(normal, str)
        assert isinstance(task.answers_equal(value, value), bool)
