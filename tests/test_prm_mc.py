"""Monte-Carlo automatic step labels on arith, compared with the task's exact step checker."""

from __future__ import annotations

import random

import pytest

from bon_core.prm import MCItem, label_agreement, mc_step_labels, mc_step_labels_batch
from bon_core.tasks import get_task
from bon_core.tasks.arith import legal_redexes, render, solve, tokenize_expression

TASK = get_task("arith")


class ReplayingPolicy:
    """A deterministic stand-in for the policy: it trusts the steps written so far (wrong results included), then
    solves the rest of the expression, slipping on its final answer with probability ``slip``."""

    def __init__(self, slip: float = 0.0, seed: int = 0) -> None:
        self.slip, self.rng, self.calls = slip, random.Random(seed), 0

    def __call__(self, prompts: list[str], k: int) -> list[list[str]]:
        self.calls += 1
        return [[self._complete(prompt) for _ in range(k)] for prompt in prompts]

    def _complete(self, prompt: str) -> str:
        question, *steps = [line for line in prompt.splitlines() if line]
        tokens = tokenize_expression(question.removeprefix("Q: "))
        try:
            for step in steps:
                left, c = step.partition(" -> ")[0].split("=")
                i = next(i for i in legal_redexes(tokens) if render(tokens[i - 1 : i + 2]) == left)
                tokens = tokens[: i - 1] + [int(c)] + tokens[i + 2 :]
                if 0 < i - 1 < len(tokens) - 1 and tokens[i - 2] == "(" and tokens[i] == ")":
                    tokens = tokens[: i - 2] + [int(c)] + tokens[i + 1 :]
            rest, answer = solve(render(tokens))
        except (StopIteration, ValueError):
            return "Answer: ?"
        if self.rng.random() < self.slip:
            answer += 1
        return "\n".join([*rest, f"Answer: {answer}"])


def corrupted_candidates(count: int, seed: int):
    rng = random.Random(seed)
    out = []
    for problem in TASK.load("test", limit=count, seed=seed):
        steps = [line for line in problem.solution.splitlines() if not line.startswith("Answer:")]
        if rng.random() < 0.5:
            i = rng.randrange(len(steps))
            reduction, _, rest = steps[i].partition(" -> ")
            left, result = reduction.split("=")
            steps[i] = f"{left}={int(result) + rng.choice([1, 2, 7])} -> {rest}"
        out.append((problem, steps))
    return out


def test_mc_labels_agree_with_exact_labels_well_above_chance():
    candidates = corrupted_candidates(40, seed=3)
    items = [
        MCItem(TASK.format_prompt(p), tuple(steps), lambda text, p=p: TASK.grade(text, p).correct)
        for p, steps in candidates
    ]
    policy = ReplayingPolicy(slip=0.3, seed=0)
    results = mc_step_labels_batch(items, policy, k=4, mode="hard")
    assert policy.calls == 1  # every prefix of every candidate in one call
    total_steps = sum(len(steps) for _, steps in candidates)
    assert sum(r.generations_used for r in results) == 4 * total_steps
    exact = [
        1.0 if s.label == "correct" else 0.0 for p, steps in candidates for s in TASK.label_steps("\n".join(steps), p)
    ]
    mc = [x for r in results for x in r.labels]
    agreement = label_agreement(mc, exact)
    assert agreement["accuracy"] > 0.9 and agreement["kappa"] > 0.8, agreement
    assert 0.0 in exact and 1.0 in exact  # both classes present, so kappa is meaningful


def test_hard_and_soft_labels_from_fixed_completions():
    def complete(prompts, k):
        return [["Answer: 7", "Answer: 8", "Answer: 7", "Answer: 1"][:k] for _ in prompts]

    def is_correct(text):
        return text.endswith("Answer: 7")

    hard = mc_step_labels("Q: 3+4\n", ["3+4=7"], complete, is_correct, k=4, mode="hard")
    soft = mc_step_labels("Q: 3+4\n", ["3+4=7"], complete, is_correct, k=4, mode="soft")
    assert hard.labels == (1.0,) and soft.labels == (0.5,) and soft.generations_used == 4
    none_right = mc_step_labels("Q: 3+4\n", ["3+4=7"], complete, lambda t: False, k=2)
    assert none_right.labels == (0.0,)


def test_completions_are_judged_on_prefix_plus_completion():
    seen = []
    mc_step_labels("Q: 1+1\n", ["1+1=2", "2*1=2"], lambda p, k: [["X"] for _ in p], seen.append, k=1)
    assert seen == ["1+1=2\nX", "1+1=2\n2*1=2\nX"]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="k must be >= 1"):
        mc_step_labels("q", ["s"], lambda p, k: [], bool, k=0)
    with pytest.raises(ValueError, match="returned 0 lists for 1 prompts"):
        mc_step_labels("q", ["s"], lambda p, k: [], bool, k=1)
    assert label_agreement([1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]) == pytest.approx(
        {"accuracy": 0.75, "kappa": 0.5}
    )
