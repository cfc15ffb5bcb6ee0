"""5. Compute savings at equal accuracy on ``arith``: ``early_stop`` and ``adaptive_n`` vs fixed N = 16 (PRM ``max``),
and ``rerank`` vs scoring all N with the PRM. Cost = policy tokens generated + tokens the PRM read, the latter by
bon's one definition (``bon_core.select.scorer_input_tokens``: prompt + candidate per candidate the PRM read, as
each Selection records it). The cheap rerank scorer's own compute is not counted.

For each strategy a small grid of its parameters is swept on VALIDATION pools (problems of arith's validation
split); the cheapest setting whose validation accuracy reaches the validation best@16 accuracy is chosen (else the
most accurate one). That one setting is then reported on disjoint TEST pools: the saving is 1 - its test tokens /
fixed-N test tokens, counted only when its test accuracy reaches the fixed-N test accuracy (else 0, with both
accuracies shown). ``early_stop``'s thresholds are quantiles of the validation pools' candidate scores
(``bon_core.select.calibrate_threshold``), not constants.

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

SIZES = {"quick": {"problems": 60}, "full": {"problems": 500}}  # per split: validation and test
N = 16
THRESHOLD_QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
GRIDS = {
    "adaptive_n": [{"n0": n0, "agree": a, "then": "max"} for n0 in (2, 4, 8) for a in (0.5, 0.75, 1.0)],
    "rerank": [{"k": k} for k in (1, 2, 4, 8, 12)],
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def simulated_pools(problems: int, seed: int = 0, split: str = "test"):
    """``(problem, candidates, prm_scores, prompt_tokens)`` per arith ``split`` problem: see the module docstring."""
    from bon_core.tasks import get_task
    from bon_core.types import Candidate

    task = get_task("arith")
    rng = random.Random(seed)
    pools = []
    for problem in task.load(split, limit=problems):
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
    """(accuracy, mean tokens per problem) of ``strategy`` with ``params`` over the pools; tokens are the policy
    tokens generated plus the scorer tokens, both as the Selection records them."""
    from bon_core.select import select
    from bon_core.tasks import get_task

    normalize = get_task("arith").normalize_answer
    correct, tokens = 0, 0
    for _problem, candidates, scores, prompt_tokens in pools:
        sel = select(candidates, scores, strategy, params, normalize, prompt_tokens=prompt_tokens)
        correct += bool(sel.correct)
        tokens += sel.tokens_used + sel.scorer_tokens
    return correct / len(pools), tokens / len(pools)


def grids(validation) -> dict[str, list[dict]]:
    """Each strategy's parameter grid; early_stop's thresholds are quantiles of the validation scores."""
    from bon_core.select import calibrate_threshold

    scores = [pool_scores for _, _, pool_scores, _ in validation]
    early = [{"threshold": round(calibrate_threshold(scores, q), 6)} for q in THRESHOLD_QUANTILES]
    return {"early_stop": early, **GRIDS}


def choose(points, target_accuracy: float):
    """The cheapest ``(params, accuracy, tokens)`` point reaching ``target_accuracy``, else the most accurate."""
    reaching = [p for p in points if p[1] >= target_accuracy]
    return min(reaching, key=lambda p: p[2]) if reaching else max(points, key=lambda p: p[1])


def run(quick: bool) -> list[BenchResult]:
    """Choose each strategy's setting on validation pools; report its saving at fixed-N accuracy on test pools."""
    problems = SIZES["quick" if quick else "full"]["problems"]
    validation = simulated_pools(problems, seed=1, split="validation")
    test = simulated_pools(problems, seed=0, split="test")
    check(
        not {p.source_id for p, *_ in validation} & {p.source_id for p, *_ in test},
        "validation and test pools share problems",
    )
    val_fixed_acc, _ = _cost(validation, "max", {})
    fixed_acc, fixed_tokens = _cost(test, "max", {})
    check(0.0 < fixed_acc < 1.0, f"fixed-N accuracy {fixed_acc} leaves nothing to compare")
    results = []
    for strategy, grid in grids(validation).items():
        points = [(params, *_cost(validation, strategy, params)) for params in grid]
        params, val_acc, val_tokens = choose(points, val_fixed_acc)
        acc, tokens = _cost(test, strategy, params)
        raw_saving = 1.0 - tokens / fixed_tokens
        reaches = acc >= fixed_acc
        results.append(
            BenchResult(
                name=f"compute_savings_{strategy}",
                title=f"Tokens to reach best@{N} ({strategy}), chosen on validation, test",
                baseline=f"fixed N={N}, PRM scores all" if strategy != "rerank" else f"PRM scores all {N}",
                ours=f"{strategy} {params}",
                ratio=max(0.0, raw_saving) if reaches else 0.0,
                target=0.30,
                unit="%",
                size={"problems_validation": len(validation), "problems_test": len(test), "n": N, "grid": grid},
                metrics={
                    "test acc ours": round(acc, 3),
                    f"test best@{N} acc": round(fixed_acc, 3),
                    "test tokens ours": round(tokens),
                    "test tokens fixed": round(fixed_tokens),
                    "test saving (any accuracy)": round(raw_saving, 3),
                    "val acc ours": round(val_acc, 3),
                    f"val best@{N} acc": round(val_fixed_acc, 3),
                },
                checks={
                    "reaches_fixed_accuracy_on_test": reaches,
                    "validation_points": [[p, round(a, 4), round(t, 1)] for p, a, t in points],
                },
                note="simulated pools on the real arith task (see compute_savings.py); setting chosen on "
                "validation problems, figures on disjoint test problems; target: one of three",
            )
        )
    return results


__all__ = ["choose", "grids", "run", "simulated_pools"]
