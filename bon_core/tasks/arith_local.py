"""Local step labels for ``arith``: is each step a correct move from the state the previous step WROTE?

:func:`bon_core.tasks.arith.check_solution` labels every step after the first error ``incorrect`` (the prefix is
wrong). A step verifier learns better from what a step itself does: ``7+5=13 -> 13*2`` is the wrong move, and the
next line ``13*2=26 -> 26`` is a right move from ``13*2``. These labels judge each step against the expression the
previous step wrote (``-> rest``), or the problem for the first step; the ``Answer:`` line is right iff the previous
state is one number and it states it. A solution is process-correct iff every local label is ``True`` (each state
is then the true reduction of the one before), so a product of local verdicts scores the whole prefix.

After a step that leaves no readable state (malformed, or no ``-> rest`` on a wrong reduction) there is nothing to
judge the next step against: its label is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bon_core.tasks.arith import (
    _ANSWER_RE,
    _OPS,
    _STEP_RE,
    legal_redexes,
    normalize_answer,
    reduce_at,
    render,
    tokenize_expression,
)


def local_step_labels(question: str, steps: Sequence[str]) -> tuple[bool | None, ...]:
    """One label per step (see the module docstring): ``True``/``False``, or ``None`` where it cannot be judged."""
    state = tokenize_expression(question)
    labels: list[bool | None] = []
    for text in steps:
        if state is None:
            labels.append(None)
            continue
        final = _ANSWER_RE.match(text)
        match = _STEP_RE.match(text)
        if final:
            labels.append(len(state) == 1 and normalize_answer(final.group(1)) == str(state[0]))
            state = None
            continue
        if not match or max(len(match.group(k)) for k in (1, 3, 4)) > 12:
            labels.append(False)
            state = None
            continue
        a, op, b, c = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
        reduced = None
        if _OPS[op](a, b) == c:
            for i in legal_redexes(state):
                if (state[i - 1], state[i], state[i + 1]) == (a, op, b):
                    reduced = reduce_at(state, i)
                    break
        written = match.group(5)
        ok = reduced is not None and (written is None or written == render(reduced))
        labels.append(ok)
        if written is not None:
            try:
                state = tokenize_expression(written)
            except ValueError:
                state = None
        else:
            state = reduced
    return tuple(labels)
