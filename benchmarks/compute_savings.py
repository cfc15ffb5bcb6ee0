"""5. Compute savings at equal accuracy on ``arith``: ``early_stop`` and ``adaptive_n`` vs fixed N = 16 (PRM ``max``),
and ``rerank`` vs scoring all N with the PRM. Cost = policy tokens generated + tokens the PRM read.

For each strategy a small grid of its parameters is swept; the cheapest setting whose accuracy reaches the fixed-N
best@16 accuracy gives the saving (1 - its tokens / fixed-N tokens). Where no setting reaches it, the saving is 0
and the closest setting is reported.

The pools are SIMULATED on the real arith task (no trained demo policy/PRM is needed): each candidate is the task's
reference solution, in which one seeded step gets a wrong result with a per-problem error rate (and then a wrong
final answer drawn from a few values); the real arith checker grades it and labels its steps. The PRM is a noisy
oracle on those labels (step logit ~ N(+1.5, 1) if correct else N(-1, 1), candidate score = min over steps), the
cheap rerank score (``mean_logprob``) a weaker one. Tokens are characters (bon's char tokenizer). The savings
therefore measure the selection strategies' accounting on realistic pool statistics, not a trained PRM's quality.
"""

from __future__ import annotations

import math
import random

from benchmarks.harness import BenchResult, check

SIZES = {"quick": {"problems": 60}, "full": {"problems": 500}}
N = 16
GRIDS = {
    "early_stop": [{"threshold": t} for t in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)],
    "adaptive_n": [{"n0": n0, "agree": a, "then": "max"} for n0 in (2, 4, 8) for a in (0.5, 0.75, 1.0)],
    "rerank": [{"k": k} for k in (1, 2, 4, 8, 12)],
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def simulated_pools(problems: int, seed: int = 0):
    """``(problem, candidates, prm_scores, prompt_tokens)`` per arith test problem: see the module docstring."""
    from bon_core.tasks import get_task
    from bon_core.types import Candidate

    task = get_task("arith")
    rng = random.Random(seed)
    pools = []
    for problem in task.load("test", limit=problems):
        error_rate = rng.uniform(0.05, 0.85)
        lines = problem.solution.split("\n")[:-1]  # the steps; the last line is "Answer: ..."
        candidates, scores = [], []
        for i in range(N):
            steps, answer = list(lines), problem.reference
            if rng.random() < error_rate:
                bad = rng.randrange(len(steps))
                reduction, _, rest = steps[bad].partition(" -> ")
                lhs, value = reduction.split("=")
                steps[bad] = f"{lhs}={int(value) + rng.choice([-2, -1, 1, 2, 10])} -> {rest}"
                answer = str(int(problem.reference) + rng.choice([-3, -1, 1, 2]))
            text = "\n".join([*steps, f"Answer: {answer}"])
            grade = task.grade(text, problem)
            labelled = tuple(task.label_steps(text, problem))
            step_scores = [_sigmoid(rng.gauss(1.5 if s.label == "correct" else -1.0, 1.0)) for s in labelled]
            cheap = rng.gauss(-0.5 if grade.correct else -0.8, 0.3)
            candidates.append(
                Candidate(
                    problem.source_id,
                    i,
                    text,
                    num_tokens=len(text) + 1,
                    mean_logprob=cheap,
                    answer=grade.answer,
                    correct=grade.correct,
                    steps=labelled,
                )  # fmt: skip
            )
            scores.append(min(step_scores))
        pools.append((problem, candidates, scores, len(task.format_prompt(problem))))
    return pools


def _cost(pools, strategy: str, params: dict) -> tuple[float, float]:
    """(accuracy, mean tokens per problem) of ``strategy`` with ``params`` over the pools."""
    from bon_core.select import select
    from bon_core.tasks import get_task

    normalize = get_task("arith").normalize_answer
    correct, tokens = 0, 0
    for _problem, candidates, scores, prompt_tokens in pools:
        sel = select(candidates, scores, strategy, params, normalize)
        by_index = sorted(candidates, key=lambda c: c.sample_index)
        if strategy == "rerank":  # the PRM reads only the k kept candidates, chosen by the cheap score
            kept = sorted(candidates, key=lambda c: (-c.mean_logprob, c.sample_index))[: sel.scorer_calls]
        else:  # the PRM reads the first scorer_calls candidates in sampling order
            kept = by_index[: sel.scorer_calls]
        prm_tokens = sum(prompt_tokens + c.num_tokens for c in kept)
        correct += bool(sel.correct)
        tokens += sel.tokens_used + prm_tokens
    return correct / len(pools), tokens / len(pools)


def run(quick: bool) -> list[BenchResult]:
    """Sweep each strategy's grid and report the saving at fixed-N best@16 accuracy."""
    pools = simulated_pools(SIZES["quick" if quick else "full"]["problems"])
    fixed_acc, fixed_tokens = _cost(pools, "max", {})
    check(0.0 < fixed_acc < 1.0, f"fixed-N accuracy {fixed_acc} leaves nothing to compare")
    results = []
    for strategy, grid in GRIDS.items():
        points = [(params, *_cost(pools, strategy, params)) for params in grid]
        reaching = [p for p in points if p[1] >= fixed_acc]
        params, acc, tokens = min(reaching, key=lambda p: p[2]) if reaching else max(points, key=lambda p: p[1])
        saving = max(0.0, 1.0 - tokens / fixed_tokens) if reaching else 0.0
        results.append(
            BenchResult(
                name=f"compute_savings_{strategy}",
                title=f"Tokens to reach best@{N} ({strategy})",
                baseline=f"fixed N={N}, PRM scores all" if strategy != "rerank" else f"PRM scores all {N}",
                ours=f"{strategy} {params}",
                ratio=saving,
                target=0.30,
                unit="%",
                size={"problems": len(pools), "n": N, "grid": grid},
                metrics={
                    "acc ours": round(acc, 3),
                    f"best@{N} acc": round(fixed_acc, 3),
                    "tokens ours": round(tokens),
                    "tokens fixed": round(fixed_tokens),
                },
                checks={
                    "reaches_fixed_accuracy": bool(reaching),
                    "points": [[p, round(a, 4), round(t, 1)] for p, a, t in points],
                },
                note="simulated pools on the real arith task (see compute_savings.py); target: one of three",
            )
        )
    return results


__all__ = ["run", "simulated_pools"]
