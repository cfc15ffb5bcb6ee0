"""Step splitting for real model output: prose split by a configurable separator, code split into logical blocks.

Every splitter returns :class:`bon_core.types.Step` objects whose ``text`` is the stripped step and whose
``[start, end)`` span points at exactly that text inside the input, so scores can be mapped back onto it.

Separators for prose (:data:`TEXT_SEPARATORS`):

- ``blank_line``: paragraphs (one or more empty lines between steps) — the PRM800K / MATH convention;
- ``newline``: one step per non-empty line — GSM8K-style solutions;
- ``step_marker``: a new step starts at each ``Step k:`` marker (also ``## Step k.``); text before the first
  marker is a step of its own;
- ``tag``: a PRM's own step tag (e.g. Math-Shepherd's ``ки``) ends each step.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable

from bon_core.types import Step

TEXT_SEPARATORS: tuple[str, ...] = ("blank_line", "newline", "step_marker", "tag")
CODE_MODES: tuple[str, ...] = ("statements", "lines")

STEP_MARKER = re.compile(r"^[ \t]*(?:#+[ \t]*)?\**Step[ \t]+\d+[ \t]*\**[:.]", re.IGNORECASE | re.MULTILINE)
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def _steps_from_spans(text: str, spans: list[tuple[int, int]]) -> list[Step]:
    """Strip whitespace from each span, drop empty ones, and number the rest."""
    steps: list[Step] = []
    for start, end in spans:
        chunk = text[start:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        real_start = start + (len(chunk) - len(chunk.lstrip()))
        steps.append(Step(index=len(steps), text=stripped, start=real_start, end=real_start + len(stripped)))
    return steps


def _cut(text: str, cut_points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans between separators, given as ``(separator_start, separator_end)`` pairs."""
    spans, position = [], 0
    for sep_start, sep_end in cut_points:
        spans.append((position, sep_start))
        position = sep_end
    spans.append((position, len(text)))
    return spans


def split_text_steps(text: str, separator: str = "blank_line", tag: str | None = None) -> list[Step]:
    """Split prose ``text`` into steps at ``separator`` (one of :data:`TEXT_SEPARATORS`).

    ``tag`` is required for ``separator="tag"`` and names the string that ends each step.
    """
    if separator == "blank_line":
        spans = _cut(text, [m.span() for m in _BLANK_LINES.finditer(text)])
    elif separator == "newline":
        spans = _cut(text, [m.span() for m in re.finditer("\n", text)])
    elif separator == "step_marker":
        starts = [m.start() for m in STEP_MARKER.finditer(text)]
        bounds = [0, *starts, len(text)]
        spans = list(zip(bounds[:-1], bounds[1:], strict=True))
    elif separator == "tag":
        if not tag:
            raise ValueError("separator 'tag' needs a non-empty tag (e.g. tag='ки')")
        spans = _cut(text, [(m.start(), m.end()) for m in re.finditer(re.escape(tag), text)])
    else:
        raise ValueError(f"unknown step separator {separator!r}; known: {', '.join(TEXT_SEPARATORS)}")
    return _steps_from_spans(text, spans)


def _line_offsets(text: str) -> list[int]:
    """Character offset of the start of each line (1-based line ``n`` starts at ``offsets[n - 1]``)."""
    offsets = [0]
    for match in re.finditer("\n", text):
        offsets.append(match.end())
    return offsets


def _statement_line_ranges(code: str) -> list[tuple[int, int]] | None:
    """``(first_line, last_line)`` (1-based, decorators included) of each top-level statement, or None if the
    code does not parse."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    ranges = []
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)])
        ranges.append((first, node.end_lineno or node.lineno))
    return ranges


def _indentation_start_lines(code: str) -> list[int]:
    """Fallback for code that does not parse (e.g. truncated output): a line at the smallest indentation
    starts a block, deeper lines continue it."""
    lines = code.split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    if not indents:
        return []
    base = min(indents)
    return [
        number
        for number, line in enumerate(lines, start=1)
        if line.strip() and len(line) - len(line.lstrip()) == base and line.lstrip()[0] not in ")]}"
    ]


def split_code_steps(code: str, mode: str = "statements") -> list[Step]:
    """Split code into steps a PRM can score.

    ``statements``: one step per top-level statement of the (dedented) code — for a HumanEval completion, one
    per statement of the function body; comments and blank lines before a statement belong to it. Code that
    does not parse falls back to indentation blocks. ``lines``: one step per non-blank line.
    """
    if mode == "lines":
        return split_text_steps(code, "newline")
    if mode != "statements":
        raise ValueError(f"unknown code step mode {mode!r}; known: {', '.join(CODE_MODES)}")
    offsets = _line_offsets(code)
    ranges = _statement_line_ranges(code)
    if ranges is not None:
        # A statement owns the comments and blank lines before it: cut right after each statement's last line.
        # (Several statements on one line, ``a = 1; b = 2``, share its end; the last line may have no newline.)
        cuts = [offsets[last] if last < len(offsets) else len(code) for _, last in ranges[:-1]]
    else:
        cuts = [offsets[line - 1] for line in _indentation_start_lines(code)[1:]]
    bounds = [0, *cuts, len(code)]
    return _steps_from_spans(code, list(zip(bounds[:-1], bounds[1:], strict=True)))


def make_splitter(separator: str = "blank_line", tag: str | None = None) -> Callable[[str], list[Step]]:
    """A one-argument splitter for ``separator`` (a text separator or ``code:statements`` / ``code:lines``)."""
    if separator.startswith("code:"):
        mode = separator.split(":", 1)[1]
        return lambda text: split_code_steps(text, mode)
    if separator not in TEXT_SEPARATORS:
        known = [*TEXT_SEPARATORS, *(f"code:{m}" for m in CODE_MODES)]
        raise ValueError(f"unknown step separator {separator!r}; known: {', '.join(known)}")
    split_text_steps("", separator, tag)  # validates the tag now rather than on first use
    return lambda text: split_text_steps(text, separator, tag)
