"""1. PRM scoring: the design document's loop (one forward per step per candidate, each over the problem and the
steps so far) vs bon's ``PRM.score`` (one padded forward per batch of candidates, read at every step tag).

Both run the same tiny random GPT-2 PRM on ``n`` candidates of 4–8 arithmetic steps for one arith problem. With a
causal base the score at a step tag only sees the tokens before it, so the two give the same scores (checked to
1e-4). Also reported: candidates/s, tokens/s and the fraction of the machine's measured matmul FLOP/s that the
one-pass forward reaches (forward FLOPs estimated as 2 × parameters × tokens).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

SIZES = {"quick": {"n": 16}, "full": {"n": 64}}
PROBLEM = "7*(8-3)+6*4-9"


def arith_candidates(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` seeded candidates of 4–8 steps written like arith solutions (``a op b=c``, right or slightly off)."""
    rng = random.Random(seed)
    candidates = []
    for _ in range(n):
        steps = []
        for _ in range(rng.randint(4, 8)):
            a, b, op = rng.randint(1, 60), rng.randint(1, 20), rng.choice("+-*")
            value = {"+": a + b, "-": a - b, "*": a * b}[op] + (rng.choice([-1, 1]) if rng.random() < 0.2 else 0)
            steps.append(f"{a}{op}{b}={value}")
        candidates.append(steps)
    return candidates


def per_step_loop(prm, problem: str, candidates: list[list[str]]) -> list[list[float]]:
    """The naive way: for each candidate, for each step, one forward over the problem and the steps so far."""
    scores = []
    for steps in candidates:
        scores.append([prm.score([problem], [steps[: k + 1]])[0][-1] for k in range(len(steps))])
    return scores


def run(quick: bool) -> list[BenchResult]:
    """Per-step loop vs one-pass batched scoring, plus throughput against the matmul roofline."""
    from benchmarks.models import matmul_flops_per_s, tiny_prm

    n = SIZES["quick" if quick else "full"]["n"]
    candidates = arith_candidates(n)
    problems = [PROBLEM] * n
    with tempfile.TemporaryDirectory(prefix="bon-bench-prm-") as folder:
        prm = tiny_prm(Path(folder))
    out: dict[str, list[list[float]]] = {}

    def naive(rep: int) -> None:
        out["naive"] = per_step_loop(prm, PROBLEM, candidates)

    def ours(rep: int) -> None:
        out["ours"] = prm.score(problems, candidates)

    timing = time_interleaved(naive, ours, 5)
    worst = max(
        abs(a - b) for ra, rb in zip(out["naive"], out["ours"], strict=True) for a, b in zip(ra, rb, strict=True)
    )
    check(worst <= 1e-4, f"one-pass scores differ from the per-step loop by {worst:.2e} (> 1e-4)")

    tokens = sum(len(e.input_ids) for e in prm.encode(problems, candidates))
    steps = sum(len(c) for c in candidates)
    naive_tokens = sum(
        len(e.input_ids)
        for c in candidates
        for e in prm.encode([PROBLEM] * len(c), [c[: k + 1] for k in range(len(c))])
    )
    params = sum(p.numel() for p in prm.model.parameters())
    embed = prm.model.base.get_input_embeddings().weight.numel()
    flops = 2 * (params - embed) * tokens  # embedding lookups are not matmuls
    machine = matmul_flops_per_s()
    achieved = flops / timing.ours_median
    return [
        BenchResult(
            name="prm_scoring",
            title=f"PRM scoring (N={n}, 4-8 steps)",
            baseline="1 forward per step per candidate",
            ours="1 padded forward per batch, read at step tags",
            ratio=timing.baseline_median / timing.ours_median,
            target=10.0,
            size={"candidates": n, "steps": steps, "tokens": tokens, "naive_tokens": naive_tokens, "params": params},
            metrics={
                "cand/s": round(n / timing.ours_median, 1),
                "tokens/s": round(tokens / timing.ours_median),
                "GFLOP/s": round(achieved / 1e9, 2),
                "of matmul peak": f"{100 * achieved / machine:.1f}%",
                "max |diff|": f"{worst:.1e}",
            },
            checks={"max_abs_diff": worst, "tolerance": 1e-4},
            timing={**timing_dict(timing), "matmul_flop_per_s": machine, "prm_forward_flops": flops},
            note="FLOPs = 2 x non-embedding parameters x real (unpadded) tokens",
        )
    ]
