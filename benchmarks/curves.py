"""4. Curves: accuracy-vs-k by Monte-Carlo subsets (the naive way) vs bon's exact estimators.

``best@k`` has a closed form by order statistics, ``pass@k`` the unbiased estimator, ``maj@k`` an exact count
over answer classes (``bon_core.metrics.votes``) and ``weighted@k`` an exact count over the subsets of each answer
class (``bon_core.metrics.weighted_votes``), every k of a pool in one pass. Both sides compute the whole curve
(k = 1, 2, 4, …, n) for every problem; one untimed warm-up precedes the interleaved repetitions. The pools are
synthetic (seeded): per problem a hidden accuracy, answers drawn from a few wrong values or the right one, scores
that lean higher for correct candidates. The cost of best@k and maj@k depends only on the pool sizes; the cost of
the weighted count grows as 2^(answer class size), so weighted@k at n = 64 runs on pools whose answers are spread
(no class above 16 members: :func:`spread_pools`), where the count applies; a pool with a class of 20+ equal
answers gets a labelled Monte-Carlo estimate instead. Correctness: every exact value lies within the Monte-Carlo
point's 95% CI over problems and within 4 Monte-Carlo standard errors (its own sampling error) of the
Monte-Carlo value.
"""

from __future__ import annotations

import os

import numpy as np

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

SIZES = {"quick": {"problems": 30, "n": 16}, "full": {"problems": 1_000, "n": 64}}
SPREAD_PROBLEMS = {"quick": 20, "full": 200}  # problems of the weighted@k comparison at n = 64
RESAMPLES = 200  # Monte-Carlo subsets per (problem, k): curve()'s default


def synthetic_pools(problems: int, n: int, seed: int = 0):
    """Seeded pools of ``n`` graded, scored candidates for ``problems`` problems."""
    from bon_core.metrics import Pool
    from bon_core.types import Candidate

    rng = np.random.default_rng(seed)
    pools = []
    for p in range(problems):
        accuracy = rng.uniform(0.05, 0.9)
        correct = rng.random(n) < accuracy
        wrong = rng.integers(0, 5, n)
        scores = np.clip(rng.normal(np.where(correct, 0.6, 0.4), 0.2), 0.0, 1.0)
        candidates = tuple(
            Candidate(f"p{p}", i, "", num_tokens=40, answer="42" if ok else str(w), correct=bool(ok))
            for i, (ok, w) in enumerate(zip(correct, wrong, strict=True))
        )
        pools.append(Pool(f"p{p}", candidates, tuple(float(s) for s in scores)))
    return pools


def spread_pools(problems: int, n: int, seed: int = 0, largest: int = 16):
    """Seeded pools like :func:`synthetic_pools` whose answers spread over 8 wrong values and the right one,
    no answer held by more than ``largest`` candidates (hard problems: the pools where votes are contested)."""
    from bon_core.metrics import Pool
    from bon_core.types import Candidate

    rng = np.random.default_rng(seed)
    pools = []
    for p in range(problems):
        accuracy = rng.uniform(0.05, 0.3)
        while True:
            answers = np.where(rng.random(n) < accuracy, -1, rng.integers(0, 8, n))
            if np.bincount(answers + 1).max() <= largest:
                break
        correct = answers == -1
        scores = np.clip(rng.normal(np.where(correct, 0.6, 0.4), 0.2), 0.0, 1.0)
        candidates = tuple(
            Candidate(f"p{p}", i, "", num_tokens=40, answer="42" if ok else str(a), correct=bool(ok))
            for i, (ok, a) in enumerate(zip(correct, answers, strict=True))
        )
        pools.append(Pool(f"p{p}", candidates, tuple(float(s) for s in scores)))
    return pools


def compare(metric: str, pools, repeats: int = 5) -> BenchResult:
    """Time the Monte-Carlo curve against the exact one for ``metric`` over ``pools``."""
    from bon_core.metrics import curve

    out: dict[str, list] = {}

    def naive(rep: int) -> None:
        out["mc"] = curve(pools, metric, method="monte-carlo", resamples=RESAMPLES, seed=max(rep, 0))

    def ours(rep: int) -> None:
        out["ours"] = curve(pools, metric, method="exact")

    load_before = os.getloadavg()
    timing = time_interleaved(naive, ours, repeats, warmup=True)
    load_after = os.getloadavg()
    worst_ci, worst_se = 0.0, 0.0
    for mc, exact in zip(out["mc"], out["ours"], strict=True):
        check(mc.n == exact.n, "curves computed at different k")
        check(exact.method == "exact", f"{metric}@{exact.n} was not computed exactly: {exact.method}")
        half = (mc.ci_high - mc.ci_low) / 2
        check(
            abs(mc.value - exact.value) <= half,
            f"{metric}@{mc.n}: exact {exact.value:.4f} outside the Monte-Carlo CI [{mc.ci_low:.4f}, {mc.ci_high:.4f}]",
        )
        se = float(mc.method.rsplit("SE ", 1)[1])
        check(
            abs(mc.value - exact.value) <= 4 * se + 1e-12,
            f"{metric}@{mc.n}: exact {exact.value:.5f} more than 4 SE ({se:.5f}) from Monte-Carlo {mc.value:.5f}",
        )
        worst_ci = max(worst_ci, abs(mc.value - exact.value) / half if half else 0.0)
        worst_se = max(worst_se, abs(mc.value - exact.value) / se if se else 0.0)
    n = pools[0].n
    ours = {
        "best": "exact order statistics",
        "weighted": "exact count over each answer class's subsets, all k in one pass",
    }.get(metric, "exact count over answer classes, all k in one pass")
    return BenchResult(
        name=f"curves_{metric}_n{n}" if metric == "weighted" else f"curves_{metric}",
        title=f"Curves {metric}@k (k<={n}, {len(pools)} problems)",
        baseline=f"Monte-Carlo subsets ({RESAMPLES}/k)",
        ours=ours,
        ratio=timing.baseline_median / timing.ours_median,
        target=10.0,
        size={"problems": len(pools), "n": n, "ks": [p.n for p in out["ours"]], "resamples": RESAMPLES},
        metrics={
            "max |diff|/CI half-width": round(worst_ci, 3),
            "max |diff|/MC SE": round(worst_se, 2),
            "problems": len(pools),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "threads": _threads(),
        },
        checks={"within_ci": True, "within_4_se": True, "values": {p.n: round(p.value, 4) for p in out["ours"]}},
        timing=timing_dict(timing),
        note="warm-up run first; both sides compute every k of every problem",
    )


def _threads() -> dict[str, str | int]:
    import torch

    env = {
        name: os.environ.get(name, "unset") for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    }
    return {"torch": torch.get_num_threads(), **env}


def run(quick: bool) -> list[BenchResult]:
    """best@k and maj@k curves, and weighted@k at n = 16 and n = 64: Monte-Carlo vs exact."""
    mode = "quick" if quick else "full"
    size = SIZES[mode]
    pools = synthetic_pools(size["problems"], size["n"])
    n16 = pools if size["n"] == 16 else synthetic_pools(size["problems"], 16)
    return [
        compare("best", pools),
        compare("maj", pools),
        compare("weighted", n16),
        compare("weighted", spread_pools(SPREAD_PROBLEMS[mode], 64)),
    ]
