"""Automatic step labels by Monte-Carlo completion (Math-Shepherd): a step is good if completions from it reach the
reference answer.

For every step prefix, ``k`` completions are sampled from the policy; the step's label is whether any of them is
correct (``hard``) or the fraction that is (``soft``). All prefixes of all candidates go to the policy in ONE call.

>>> labels = mc_step_labels("2+3*4\\n", ["3*4=12", "2+12=14"], complete, lambda text: "Answer: 14" in text, k=4)
>>> labels.labels, labels.generations_used
((1.0, 1.0), 8)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Completer = Callable[[list[str], int], list[list[str]]]  # (prompts, k) -> k completions per prompt


@dataclass(frozen=True)
class MCLabels:
    """Per-step labels in [0, 1] and how many completions they cost."""

    labels: tuple[float, ...]
    generations_used: int


@dataclass(frozen=True)
class MCItem:
    """One candidate to label: the policy prompt, its steps, and a judge of a full solution text."""

    prompt: str
    steps: tuple[str, ...]
    is_correct: Callable[[str], bool]


def solution_prefix(steps: Sequence[str], upto: int, step_joiner: str = "\n") -> str:
    """The solution text through step ``upto`` (inclusive), ending with the joiner so the policy continues."""
    return "".join(step + step_joiner for step in steps[: upto + 1])


def mc_step_labels_batch(
    items: Sequence[MCItem],
    complete: Completer,
    k: int,
    mode: Literal["hard", "soft"] = "hard",
    step_joiner: str = "\n",
) -> list[MCLabels]:
    """Label every step of every item with one ``complete`` call over all step prefixes.

    A completion is judged on the whole solution text: the prefix steps followed by the completion.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if mode not in ("hard", "soft"):
        raise ValueError(f"mode must be 'hard' or 'soft', got {mode!r}")
    prompts, owners = [], []
    for item_index, item in enumerate(items):
        for step_index in range(len(item.steps)):
            prompts.append(item.prompt + solution_prefix(item.steps, step_index, step_joiner))
            owners.append((item_index, step_index))
    completions = complete(prompts, k) if prompts else []
    if len(completions) != len(prompts):
        raise ValueError(f"complete() returned {len(completions)} lists for {len(prompts)} prompts")
    labels: list[list[float]] = [[0.0] * len(item.steps) for item in items]
    used = [0] * len(items)
    for (item_index, step_index), outs in zip(owners, completions, strict=True):
        if len(outs) != k:
            raise ValueError(f"complete() returned {len(outs)} completions for a prompt, expected k={k}")
        item = items[item_index]
        prefix = solution_prefix(item.steps, step_index, step_joiner)
        hits = sum(bool(item.is_correct(prefix + out)) for out in outs)
        labels[item_index][step_index] = float(hits > 0) if mode == "hard" else hits / k
        used[item_index] += k
    return [MCLabels(labels=tuple(lab), generations_used=n) for lab, n in zip(labels, used, strict=True)]


def mc_step_labels(
    prompt: str,
    steps: Sequence[str],
    complete: Completer,
    is_correct: Callable[[str], bool],
    k: int,
    mode: Literal["hard", "soft"] = "hard",
    step_joiner: str = "\n",
) -> MCLabels:
    """Label the steps of one candidate (see ``mc_step_labels_batch``)."""
    (result,) = mc_step_labels_batch([MCItem(prompt, tuple(steps), is_correct)], complete, k, mode, step_joiner)
    return result


def label_agreement(predicted: Sequence[float], reference: Sequence[float]) -> dict[str, float]:
    """Agreement of two label sequences binarised at 0.5: accuracy and Cohen's kappa (0 = chance level)."""
    from sklearn.metrics import cohen_kappa_score

    if len(predicted) != len(reference) or not predicted:
        raise ValueError(f"need two equally long, non-empty label lists, got {len(predicted)} and {len(reference)}")
    a = [int(x >= 0.5) for x in predicted]
    b = [int(x >= 0.5) for x in reference]
    accuracy = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    kappa = float(cohen_kappa_score(a, b)) if len(set(a) | set(b)) > 1 else 1.0
    return {"accuracy": accuracy, "kappa": kappa}
