"""Step splitting for real text and code: literal examples with exact texts and spans."""

from __future__ import annotations

import pytest

from bon_core.steps import make_splitter, split_code_steps, split_text_steps


def _texts(steps):
    return [step.text for step in steps]


def test_blank_line_paragraphs_with_spans():
    text = "First step.\n\n  Second\nstill second.\n\n\nThird."
    steps = split_text_steps(text, "blank_line")
    assert _texts(steps) == ["First step.", "Second\nstill second.", "Third."]
    assert [(s.index, s.start, s.end) for s in steps] == [(0, 0, 11), (1, 15, 35), (2, 38, 44)]
    assert all(text[s.start : s.end] == s.text for s in steps)


def test_newline_skips_empty_lines():
    assert _texts(split_text_steps("a = 1\n\n b = 2 \n#### 3\n", "newline")) == ["a = 1", "b = 2", "#### 3"]


def test_step_markers():
    text = "Let us solve.\nStep 1: add 2 and 3 to get 5.\nStep 2: double it\nto get 10.\n## Step 3. Answer 10"
    assert _texts(split_text_steps(text, "step_marker")) == [
        "Let us solve.",
        "Step 1: add 2 and 3 to get 5.",
        "Step 2: double it\nto get 10.",
        "## Step 3. Answer 10",
    ]


def test_prm_step_tag():
    text = "Step 1: 2+3=5 ки\nStep 2: 5*2=10 ки"
    steps = split_text_steps(text, "tag", tag="ки")
    assert _texts(steps) == ["Step 1: 2+3=5", "Step 2: 5*2=10"]
    assert (steps[1].start, steps[1].end) == (17, 31)


def test_bad_separator_and_missing_tag():
    with pytest.raises(ValueError, match=r"unknown step separator 'comma'; known: blank_line, newline"):
        split_text_steps("x", "comma")
    with pytest.raises(ValueError, match=r"separator 'tag' needs a non-empty tag"):
        make_splitter("tag")


def test_code_top_level_statements_with_decorators_and_comments():
    code = "import math\n\n# helper\n@cache\ndef f(x):\n    return x\n\nprint(f(\n    2))\n"
    assert _texts(split_code_steps(code)) == [
        "import math",
        "# helper\n@cache\ndef f(x):\n    return x",
        "print(f(\n    2))",
    ]


def test_code_that_does_not_parse_falls_back_to_indentation_blocks():
    code = "    x = 1\n    if x:\n        y = (2 +\n    return y"
    assert _texts(split_code_steps(code)) == ["x = 1", "if x:\n        y = (2 +", "return y"]


def test_code_lines_mode_and_splitter():
    assert _texts(make_splitter("code:lines")("a = 1\n\nb = 2\n")) == ["a = 1", "b = 2"]
    assert _texts(make_splitter("newline")("p\nq")) == ["p", "q"]
    assert split_code_steps("   \n") == []
