"""``arith``: multi-step integer arithmetic whose every step can be checked exactly (the offline default task).

Problems are expressions such as ``3+4*(5-2)`` over non-negative integers with ``+``, ``-`` and ``*`` and at most one
parenthesised group. A solution has one step per line, each step ONE reduction written ``a op b=c``, optionally
followed by ``-> rest``, the expression the reduction leaves (gold solutions always write it), and ends with a final
line ``Answer: c``::

    5-2=3 -> 3+4*3
    4*3=12 -> 3+12
    3+12=15 -> 15
    Answer: 15

Rules the checker applies (documented here because PRM labels depend on them):

* The ``Answer:`` line is the last step, so a PRM judges the conclusion too: it is correct iff every step before it
  is, the steps reduced the expression to one number, and it states that number (a jump to the answer is wrong).
  Blank lines are ignored; text after the first ``Answer:`` line is ignored.
* A step is correct iff it is well formed, its arithmetic is right, its ``-> rest`` (if written) is exactly the
  expression left after the reduction, and ``a op b`` is a *legal redex* of the current
  expression: ``*`` whose left neighbour is not ``*``; ``+``/``-`` that is the first operator of its (parenthesised)
  group and is not followed by ``*``. Any legal redex is accepted, not only the one the reference solver picks
  (innermost parentheses, then ``*`` left to right, then ``+``/``-`` left to right), so ``3*4+5*6`` may start with
  either product.
* After the first wrong step the tracked expression is no longer meaningful, so every later step is labelled
  ``incorrect`` too.
* The process is correct iff no step is wrong and the steps reduce the expression to a single number.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import asdict, dataclass

from bon_core.tasks.base import Grade
from bon_core.types import Problem, Step

Token = int | str
_STEP_RE = re.compile(r"^\s*(-?\d+)\s*([+\-*])\s*(-?\d+)\s*=\s*(-?\d+)\s*(?:->\s*(\S+)\s*)?$")
_ANSWER_RE = re.compile(r"^\s*Answer:\s*(.*?)\s*$")
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
# A number longer than this in a step makes the step malformed (arith values stay far below; Python refuses to
# convert integers of more than 4300 digits to and from text).
_MAX_DIGITS = 1000
SPLIT_BUCKETS = {"train": range(0, 8), "validation": range(8, 9), "test": range(9, 10)}
DEFAULT_SPLIT_SIZE = {"train": 20000, "validation": 500, "test": 500}


@dataclass(frozen=True)
class ArithDifficulty:
    """The difficulty knob. Intermediate results must stay in ``[0, max_value]`` (problems are re-drawn otherwise)."""

    min_ops: int = 3
    max_ops: int = 4
    min_operand: int = 1
    max_operand: int = 9
    operators: tuple[str, ...] = ("+", "-", "*")
    paren_prob: float = 0.4
    max_value: int = 200

    def __post_init__(self) -> None:
        if not 1 <= self.min_ops <= self.max_ops:
            raise ValueError(f"need 1 <= min_ops <= max_ops, got {self.min_ops}, {self.max_ops}")
        if not 0 <= self.min_operand <= self.max_operand:
            raise ValueError(f"need 0 <= min_operand <= max_operand, got {self.min_operand}, {self.max_operand}")
        if not self.operators or set(self.operators) - set(_OPS):
            raise ValueError(f"operators must be a non-empty subset of + - *, got {self.operators}")
        if not 0 <= self.paren_prob <= 1:
            raise ValueError(f"paren_prob must be in [0, 1], got {self.paren_prob}")


@dataclass(frozen=True)
class ArithCheck:
    """The exact verdict on one candidate text. ``first_error`` follows ProcessBench: 0-based, -1 if none."""

    step_correct: tuple[bool, ...]
    first_error: int
    complete: bool  # every reduction step is correct and together they leave one number
    answer: str | None
    answer_correct: bool

    @property
    def process_correct(self) -> bool:
        return self.first_error == -1 and self.complete

    @property
    def right_answer_wrong_process(self) -> bool:
        return self.answer_correct and not self.process_correct

    @property
    def wrong_answer_right_process(self) -> bool:
        return self.complete and not self.answer_correct


def tokenize_expression(expression: str) -> list[Token]:
    """``"3+4*(5-2)"`` -> ``[3, "+", 4, "*", "(", 5, "-", 2, ")"]``; a ValueError names a bad character."""
    tokens: list[Token] = []
    for match in re.finditer(r"\s*(?:(\d+)|([+\-*()])|(\S))", expression):
        number, operator, other = match.groups()
        if number is not None and len(number) > _MAX_DIGITS:
            raise ValueError(f"arith expression {expression[:80]!r}: a number of more than {_MAX_DIGITS} digits")
        if number is not None:
            tokens.append(int(number))
        elif operator is not None:
            tokens.append(operator)
        else:
            raise ValueError(f"arith expression {expression!r}: unexpected character {other!r}")
    return tokens


def render(tokens: list[Token]) -> str:
    return "".join(str(t) for t in tokens)


def legal_redexes(tokens: list[Token]) -> list[int]:
    """Indices of the operators that may be reduced now (see the module docstring for the rule)."""
    legal = []
    for i, op in enumerate(tokens):
        if op not in _OPS or i == 0 or i + 1 >= len(tokens):
            continue
        if not isinstance(tokens[i - 1], int) or not isinstance(tokens[i + 1], int):
            continue
        left = tokens[i - 2] if i >= 2 else "("
        right = tokens[i + 2] if i + 2 < len(tokens) else ")"
        if op == "*" and left != "*":
            legal.append(i)
        elif op in "+-" and left == "(" and right != "*":
            legal.append(i)
    return legal


def reduce_at(tokens: list[Token], i: int) -> list[Token]:
    """Apply the operator at index ``i``; a group reduced to one number loses its parentheses."""
    value = _OPS[tokens[i]](tokens[i - 1], tokens[i + 1])
    out = tokens[: i - 1] + [value] + tokens[i + 2 :]
    j = i - 1
    if 0 < j < len(out) - 1 and out[j - 1] == "(" and out[j + 1] == ")":
        out = out[: j - 1] + [value] + out[j + 2 :]
    return out


def _reference_redex(tokens: list[Token]) -> int:
    """The solver's choice: innermost (leftmost) parenthesised group, then ``*`` left to right, then ``+``/``-``."""
    start, end = 0, len(tokens)
    for k, t in enumerate(tokens):
        if t == "(":
            start = k + 1
        elif t == ")":
            end = k
            break
    group = range(start, end)
    legal = [i for i in legal_redexes(tokens) if i in group]
    products = [i for i in legal if tokens[i] == "*"]
    return (products or legal)[0]


def solve(expression: str) -> tuple[list[str], int]:
    """The reference solution: its steps (``a op b=c``) and the final value."""
    lines, value = solve_with_states(expression)
    return [line.split(" -> ")[0] for line in lines], value


def solve_with_states(expression: str) -> tuple[list[str], int]:
    """The gold solution's step lines: each reduction followed by the expression it leaves (``5-2=3 -> 3+4*3``).

    Writing the remaining expression makes every step checkable on its own line and lets a small model read the
    current state instead of tracking it, which is what lets a CPU-trained policy learn the task.
    """
    tokens = tokenize_expression(expression)
    lines = []
    while len(tokens) > 1:
        i = _reference_redex(tokens)
        a, op, b = tokens[i - 1], tokens[i], tokens[i + 1]
        tokens = reduce_at(tokens, i)
        lines.append(f"{a}{op}{b}={_OPS[op](a, b)} -> {render(tokens)}")
    if len(tokens) != 1 or not isinstance(tokens[0], int):
        raise ValueError(f"arith expression {expression!r} is not well formed")
    return lines, tokens[0]


def format_solution(steps: list[str], answer: int) -> str:
    return "\n".join([*steps, f"Answer: {answer}"])


def _draw_expression(rng: random.Random, d: ArithDifficulty) -> str:
    k = rng.randint(d.min_ops, d.max_ops)
    operands = [rng.randint(d.min_operand, d.max_operand) for _ in range(k + 1)]
    ops = [rng.choice(d.operators) for _ in range(k)]
    parts: list[str] = [str(operands[0])]
    for op, x in zip(ops, operands[1:], strict=True):
        parts += [op, str(x)]
    if k >= 2 and rng.random() < d.paren_prob:
        i = rng.randint(0, k - 1)
        j = rng.randint(i + 1, k)
        if (i, j) != (0, k):
            parts[2 * i] = "(" + parts[2 * i]
            parts[2 * j] = parts[2 * j] + ")"
    return "".join(parts)


def _within_bounds(expression: str, d: ArithDifficulty) -> bool:
    steps, _ = solve(expression)
    return all(0 <= int(s.split("=")[1]) <= d.max_value for s in steps)


def split_of(expression: str) -> str:
    """The split an expression belongs to, fixed by its hash, so splits never share a problem whatever the seed."""
    bucket = int(hashlib.sha256(expression.encode()).hexdigest(), 16) % 10
    return next(name for name, buckets in SPLIT_BUCKETS.items() if bucket in buckets)


def generate_problems(
    split: str, count: int, seed: int = 0, difficulty: ArithDifficulty | None = None
) -> list[Problem]:
    """``count`` distinct problems of ``split``, deterministic in ``(split, count, seed, difficulty)``."""
    if split not in SPLIT_BUCKETS:
        raise ValueError(f"unknown arith split {split!r}; known: {', '.join(SPLIT_BUCKETS)}")
    d = difficulty or ArithDifficulty()
    rng = random.Random(f"arith:{seed}")
    seen: set[str] = set()
    problems: list[Problem] = []
    attempts = 0
    while len(problems) < count:
        attempts += 1
        if attempts > 200 * count + 10000:
            raise ValueError(f"arith difficulty {d} cannot produce {count} distinct {split!r} problems")
        expression = _draw_expression(rng, d)
        if expression in seen or split_of(expression) != split or not _within_bounds(expression, d):
            continue
        seen.add(expression)
        steps, value = solve_with_states(expression)
        problems.append(
            Problem(
                task="arith",
                source_id=hashlib.sha256(expression.encode()).hexdigest()[:12],
                question=expression,
                reference=str(value),
                solution=format_solution(steps, value),
                metadata={"split": split, "num_steps": len(steps), "difficulty": asdict(d)},
            )
        )
    return problems


def check_solution(text: str, problem: Problem) -> ArithCheck:
    """Check every step of ``text`` (any text, malformed included) against ``problem``; see the module docstring."""
    tokens = tokenize_expression(problem.question)
    step_correct: list[bool] = []
    broken = False
    reductions_ok = True  # every step before the answer step is correct
    for step in split_steps(text):
        ok = False
        match = _STEP_RE.match(step.text)
        final = _ANSWER_RE.match(step.text)
        if final and not broken:
            # The answer step is right iff the steps reduced the expression to one number and it states it.
            ok = len(tokens) == 1 and normalize_answer(final.group(1)) == str(tokens[0])
        elif not broken and match and max(len(match.group(k)) for k in (1, 3, 4)) <= _MAX_DIGITS:
            a, op, b, c = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
            if _OPS[op](a, b) == c:
                for i in legal_redexes(tokens):
                    if (tokens[i - 1], tokens[i], tokens[i + 1]) == (a, op, b):
                        reduced = reduce_at(tokens, i)
                        # A step that writes the expression it leaves must write it right.
                        if match.group(5) is None or match.group(5) == render(reduced):
                            tokens, ok = reduced, True
                            break
        broken = broken or not ok
        reductions_ok = reductions_ok and (ok or bool(final))
        step_correct.append(ok)
    first_error = step_correct.index(False) if False in step_correct else -1
    answer = extract_answer(text)
    return ArithCheck(
        step_correct=tuple(step_correct),
        first_error=first_error,
        complete=reductions_ok and len(tokens) == 1,
        answer=answer,
        answer_correct=answers_equal(answer, problem.reference),
    )


def split_steps(text: str) -> list[Step]:
    """One step per non-blank line up to and including the first ``Answer:`` line; spans index ``text``."""
    steps: list[Step] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        start, body = offset, line.rstrip("\r\n")
        offset += len(line)
        if body.strip():
            steps.append(Step(index=len(steps), text=body, start=start, end=start + len(body)))
        if _ANSWER_RE.match(body):
            break
    return steps


def extract_answer(text: str) -> str | None:
    """The value of the first ``Answer:`` line, or ``None`` when there is none."""
    for line in text.splitlines():
        match = _ANSWER_RE.match(line)
        if match:
            return match.group(1)
    return None


def normalize_answer(answer: str | None) -> str | None:
    """An integer answer in canonical form (``" 015 "`` -> ``"15"``); ``None`` for anything that is not an integer."""
    if answer is None or not re.fullmatch(r"\s*[+-]?\d+\s*", answer):
        return None
    # Digit by digit rather than str(int(...)): any length, and any Unicode decimal digit (as int() accepts).
    text = answer.strip()
    digits = "".join(str(unicodedata.decimal(c)) for c in text.lstrip("+-")).lstrip("0")
    return ("-" + digits if text.startswith("-") else digits) if digits else "0"


def answers_equal(a: str | None, b: str | None) -> bool:
    na, nb = normalize_answer(a), normalize_answer(b)
    return na is not None and na == nb


class ArithTask:
    """The ``arith`` task (see the module docstring for the format and the checking rules)."""

    name = "arith"

    def __init__(self, difficulty: ArithDifficulty | None = None) -> None:
        self.difficulty = difficulty or ArithDifficulty()

    def load(
        self, split: str = "test", limit: int | None = None, seed: int = 0, difficulty: ArithDifficulty | None = None
    ) -> list[Problem]:
        """Problems of ``split`` (train / validation / test); ``limit`` defaults to the split's standard size."""
        count = DEFAULT_SPLIT_SIZE.get(split, 0) if limit is None else limit
        return generate_problems(split, count, seed=seed, difficulty=difficulty or self.difficulty)

    def format_prompt(self, problem: Problem) -> str:
        return f"Q: {problem.question}\n"

    split_steps = staticmethod(split_steps)
    extract_answer = staticmethod(extract_answer)
    normalize_answer = staticmethod(normalize_answer)
    answers_equal = staticmethod(answers_equal)
    check_solution = staticmethod(check_solution)

    def grade(self, text: str, problem: Problem) -> Grade:
        answer = extract_answer(text)
        correct = answers_equal(answer, problem.reference)
        return Grade(answer=answer, correct=correct, detail="correct" if correct else "wrong answer")

    def corrupted_solutions(self, problem: Problem, count: int, rng: random.Random) -> list[list[str]]:
        """Up to ``count`` copies of the reference solution with one step corrupted (hard negatives for PRM
        training; see :mod:`bon_core.tasks.arith_negatives`)."""
        from bon_core.tasks.arith_negatives import corrupted_solutions

        return corrupted_solutions(problem, count, rng)

    def local_step_labels(self, question: str, steps: list[str]) -> tuple[bool | None, ...]:
        """Each step judged against the state the previous step wrote (see :mod:`bon_core.tasks.arith_local`)."""
        from bon_core.tasks.arith_local import local_step_labels

        return local_step_labels(question, steps)

    def label_steps(self, text: str, problem: Problem) -> list[Step]:
        """Steps labelled ``correct``/``incorrect`` by :func:`check_solution` (after the first error: incorrect)."""
        verdict = check_solution(text, problem)
        return [
            Step(s.index, s.text, s.start, s.end, "correct" if ok else "incorrect")
            for s, ok in zip(split_steps(text), verdict.step_correct, strict=True)
        ]
