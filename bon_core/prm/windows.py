"""Scoring solutions longer than a model's window: consecutive steps packed into windows, a later window seeing the
problem and the earlier steps as (left-truncated) context.

>>> score_prm_in_windows(prm, ["2+3*4"], [["3*4=12", "2+12=14"]])   # our PRM: budget and token counts from it
[[0.88, 0.93]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bon_core.prm.scorer import PRM

PROBLEM_SHARE = 4  # a window keeps at least max_length / PROBLEM_SHARE tokens for the problem and earlier steps


def windows(step_lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` step ranges whose summed lengths stay within ``budget``, greedily; a step longer
    than the budget gets a window of its own."""
    if budget < 1:
        raise ValueError(f"window budget must be >= 1, got {budget}")
    spans, start, used = [], 0, 0
    for index, length in enumerate(step_lengths):
        if index > start and used + length > budget:
            spans.append((start, index))
            start, used = index, 0
        used += length
    if step_lengths:
        spans.append((start, len(step_lengths)))
    return spans


def score_in_windows(
    score: Callable[[Sequence[str], Sequence[Sequence[str]]], list[list[float]]],
    problems: Sequence[str],
    solutions: Sequence[Sequence[str]],
    count_tokens: Callable[[Sequence[str]], list[int]],
    budget: int,
) -> list[list[float]]:
    """Score solutions too long for the model window by window, in one ``score`` call.

    ``count_tokens(texts)`` gives each step's token count (tag included) and ``budget`` the tokens steps may take.
    A later window's problem text is the problem followed by the solution's earlier steps, which the model
    left-truncates, so each window sees the nearest preceding steps as context. A step longer than the budget is cut
    (by characters, proportionally) to fit. Identical (problem, solution) pairs are scored once.
    """
    unique: dict[tuple[str, tuple[str, ...]], int] = {}
    for problem, steps in zip(problems, solutions, strict=True):
        unique.setdefault((problem, tuple(steps)), len(unique))
    requests: list[tuple[int, int, str, list[str]]] = []  # (unique index, first step, problem text, steps)
    for (problem, steps), index in unique.items():
        lengths = count_tokens(list(steps)) if steps else []
        for start, end in windows(lengths, budget):
            chunk = [
                s if n <= budget else s[: max(1, len(s) * budget // n)]
                for s, n in zip(steps[start:end], lengths[start:end], strict=True)
            ]
            context = problem if start == 0 else problem + "\n" + "\n".join(steps[:start])
            requests.append((index, start, context, chunk))
    results: list[list[float]] = [[math.nan] * len(steps) for (_, steps) in unique]
    scored = score([r[2] for r in requests], [r[3] for r in requests]) if requests else []
    for (index, start, _, chunk), scores in zip(requests, scored, strict=True):
        results[index][start : start + len(chunk)] = scores
    return [list(results[unique[(p, tuple(s))]]) for p, s in zip(problems, solutions, strict=True)]


def step_token_counter(prm: PRM) -> Callable[[Sequence[str]], list[int]]:
    """Counts the tokens each step takes in ``prm``'s input: its step prefix and text, plus the step tag."""
    prefix = prm.spec.step_format.step_prefix

    def count(texts: Sequence[str]) -> list[int]:
        ids = prm.tokenizer([prefix + t for t in texts], add_special_tokens=False)["input_ids"]
        return [len(x) + 1 for x in ids]  # + the step tag

    return count


def window_budget(prm: PRM) -> int:
    """The tokens the steps of one window may take: ``prm``'s ``max_length`` less the special tokens its tokenizer
    adds and the ``max_length // PROBLEM_SHARE`` kept for the problem and earlier steps."""
    tokenizer, max_length = prm.tokenizer, prm.spec.max_length
    affixes = len(tokenizer("a")["input_ids"]) - len(tokenizer("a", add_special_tokens=False)["input_ids"])
    return max_length - affixes - max_length // PROBLEM_SHARE


def score_prm_in_windows(prm: PRM, problems: Sequence[str], solutions: Sequence[Sequence[str]]) -> list[list[float]]:
    """Per-step scores of our ``prm`` on solutions of any length (:func:`score_in_windows` with its
    :func:`window_budget` and :func:`step_token_counter`)."""
    return score_in_windows(prm.score, problems, solutions, step_token_counter(prm), window_budget(prm))
