"""Hard negatives for ``arith``: a correct solution with ONE step corrupted, continued to an answer.

A PRM that only ever sees the policy's own samples can score well by learning which *problems* are hard. Twins that
share the problem and every step before the corrupted one leave it only one way to tell them apart: checking the
step. Each corruption is a mistake the policy makes too, and the text after it is what a solver would write from the
corrupted state, so the outcome follows from the process:

* ``result``: ``a op b`` written with a wrong value (off by 1, 2, 10 or a digit), the rest carried on from it.
* ``rest``: the right value, but the expression it leaves is miscopied (one number changed).
* ``order``: an operator reduced out of turn (``3+4*5`` -> ``3+4=7 -> 7*5``), a wrong but self-consistent chain.
* ``skip``: two reductions written as one step; the answer stays RIGHT, the process is wrong — the case an outcome
  label cannot see (Lightman et al.'s "right answer, wrong reasoning").
* ``answer``: every reduction right, the ``Answer:`` line states another number.

Texts are labelled by :func:`bon_core.tasks.arith.check_solution`, never by the corruption kind.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from bon_core.tasks.arith import (
    _OPS,
    Token,
    legal_redexes,
    reduce_at,
    render,
    solve_with_states,
    tokenize_expression,
)
from bon_core.types import Problem

CORRUPTIONS = ("result", "rest", "order", "skip", "answer")
# How often each kind is drawn: wrong results are the policy's most common mistake; an ``answer`` corruption applies
# to every problem and would otherwise crowd out the others.
CORRUPTION_WEIGHTS = (0.4, 0.2, 0.15, 0.1, 0.15)


def _remove_lone_parens(tokens: list[Token]) -> list[Token]:
    out = list(tokens)
    changed = True
    while changed:
        changed = False
        for j in range(1, len(out) - 1):
            if out[j - 1] == "(" and isinstance(out[j], int) and out[j + 1] == ")":
                out = out[: j - 1] + [out[j]] + out[j + 2 :]
                changed = True
                break
    return out


def _wrong_value(value: int, rng: random.Random) -> int:
    """A plausible wrong value: off by 1, 2 or 10, or one digit changed; never negative, never ``value``."""
    for _ in range(20):
        kind = rng.random()
        if kind < 0.6:
            wrong = value + rng.choice((-2, -1, 1, 2, -10, 10))
        else:
            digits = list(str(value))
            i = rng.randrange(len(digits))
            digits[i] = str(rng.choice([d for d in range(10) if str(d) != digits[i]]))
            wrong = int("".join(digits))
        if wrong >= 0 and wrong != value:
            return wrong
    return value + 1


def _continue(tokens: list[Token], max_value: int) -> list[str] | None:
    """The solver's steps from ``tokens`` on, or ``None`` when the corrupted state cannot be solved in bounds."""
    if len(tokens) == 1:
        return []
    try:
        lines, _ = solve_with_states(render(tokens))
    except (ValueError, IndexError, KeyError):
        return None
    values = [int(line.split("=")[1].split(" ")[0]) for line in lines]
    return lines if all(0 <= v <= max_value for v in values) else None


def _final(tokens: list[Token], continuation: Sequence[str]) -> int:
    if continuation:
        return int(continuation[-1].split("-> ")[-1])
    return int(tokens[0])


def corrupt_at(question: str, step: int, kind: str, rng: random.Random, max_value: int = 999) -> list[str] | None:
    """The reference solution of ``question`` with step ``step`` (0-based, a reduction step; ``answer`` ignores it)
    corrupted as ``kind``, continued to an ``Answer:`` line; ``None`` when that corruption does not apply there."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")
    reference, value = solve_with_states(question)
    if kind == "answer":
        return [*reference, f"Answer: {_wrong_value(value, rng)}"]
    if not 0 <= step < len(reference):
        return None
    tokens = tokenize_expression(question)
    for line in reference[:step]:
        tokens = tokenize_expression(line.split(" -> ")[1])
    prefix = reference[:step]
    legal = legal_redexes(tokens)
    chosen = tokenize_expression(reference[step].split(" -> ")[1])
    i = next(j for j in legal if reduce_at(tokens, j) == chosen)
    a, op, b = tokens[i - 1], tokens[i], tokens[i + 1]
    c = _OPS[op](a, b)
    if kind == "result":
        wrong = _wrong_value(c, rng)
        state = _remove_lone_parens(tokens[: i - 1] + [wrong] + tokens[i + 2 :])
        line = f"{a}{op}{b}={wrong} -> {render(state)}"
    elif kind == "rest":
        numbers = [j for j, t in enumerate(chosen) if isinstance(t, int)]
        if len(chosen) == 1:
            return None
        j = rng.choice(numbers)
        state = list(chosen)
        state[j] = _wrong_value(int(state[j]), rng)
        line = f"{a}{op}{b}={c} -> {render(state)}"
    elif kind == "order":
        illegal = [
            j for j, t in enumerate(tokens)
            if t in _OPS and 0 < j < len(tokens) - 1 and isinstance(tokens[j - 1], int)
            and isinstance(tokens[j + 1], int) and j not in legal
        ]  # fmt: skip
        if not illegal:
            return None
        j = rng.choice(illegal)
        a, op, b = tokens[j - 1], tokens[j], tokens[j + 1]
        c = _OPS[op](a, b)
        if c < 0:
            return None
        state = _remove_lone_parens(tokens[: j - 1] + [c] + tokens[j + 2 :])
        line = f"{a}{op}{b}={c} -> {render(state)}"
    else:  # skip: this reduction and the next in one line
        if step + 1 >= len(reference):
            return None
        state = tokenize_expression(reference[step + 1].split(" -> ")[1])
        line = f"{a}{op}{b}={c} -> {render(state)}"
        prefix_rest = reference[step + 2 :]
        return [*prefix, line, *prefix_rest, f"Answer: {value}"]
    if any(isinstance(t, int) and t > max_value for t in state):
        return None
    continuation = _continue(state, max_value)
    if continuation is None:
        return None
    return [*prefix, line, *continuation, f"Answer: {_final(state, continuation)}"]


def corrupted_solutions(problem: Problem, count: int, rng: random.Random) -> list[list[str]]:
    """Up to ``count`` distinct corrupted solutions of ``problem`` (as step lists), one corruption each, kinds and
    steps drawn from ``rng``; fewer when the problem has fewer distinct corruptions."""
    reference, _ = solve_with_states(problem.question)
    seen: set[tuple[str, ...]] = set()
    out: list[list[str]] = []
    for _ in range(count * 6):
        if len(out) >= count:
            break
        (kind,) = rng.choices(CORRUPTIONS, weights=CORRUPTION_WEIGHTS)
        steps = corrupt_at(problem.question, rng.randrange(len(reference)), kind, rng)
        if steps is not None and tuple(steps) not in seen:
            seen.add(tuple(steps))
            out.append(steps)
    return out


def twin_steps(problem: Problem, rng: random.Random) -> tuple[list[str], str, str] | None:
    """``(prefix, correct_step, corrupted_step)``: the reference solution's first k steps, then its step k and a
    corrupted step k (a reduction step, kind and k drawn from ``rng``); ``None`` when no corruption applies."""
    reference, _ = solve_with_states(problem.question)
    for _ in range(10):
        k = rng.randrange(len(reference))
        (kind,) = rng.choices(CORRUPTIONS[:4], weights=CORRUPTION_WEIGHTS[:4])
        corrupted = corrupt_at(problem.question, k, kind, rng)
        if corrupted is not None and corrupted[k] != reference[k]:
            return reference[:k], reference[k], corrupted[k]
    return None
