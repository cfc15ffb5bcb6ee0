"""4. Curves: accuracy-vs-k by Monte-Carlo subsets (the naive way) vs bon's exact estimators.

``best@k`` has a closed form by order statistics and ``pass@k`` the unbiased estimator; ``maj@k`` has none in
``bon_core`` yet, so "ours" for it is ``method="auto"`` (full enumeration where there are at most 2,000 subsets,
else the same bootstrap). The pools are synthetic (seeded): per problem a hidden accuracy, answers drawn from a
few wrong values or the right one, scores that lean higher for correct candidates. The cost of a curve depends only
on the pool sizes, not on where the pools came from. Correctness: every exact value lies within the Monte-Carlo
point's 95% CI.
"""

from __future__ import annotations

import numpy as np

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

SIZES = {"quick": {"problems": 30, "n": 16}, "full": {"problems": 1_000, "n": 64}}
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


def compare(metric: str, pools, repeats: int = 5) -> BenchResult:
    """Time the Monte-Carlo curve against the exact (or auto) one for ``metric`` over ``pools``."""
    from bon_core.metrics import curve

    ours_method = "exact" if metric in ("best", "pass") else "auto"
    out: dict[str, list] = {}

    def naive(rep: int) -> None:
        out["mc"] = curve(pools, metric, method="bootstrap", resamples=RESAMPLES, seed=max(rep, 0))

    def ours(rep: int) -> None:
        out["ours"] = curve(pools, metric, method=ours_method, resamples=RESAMPLES)

    timing = time_interleaved(naive, ours, repeats, warmup=False)
    worst = 0.0
    for mc, exact in zip(out["mc"], out["ours"], strict=True):
        check(mc.n == exact.n, "curves computed at different k")
        half = (mc.ci_high - mc.ci_low) / 2
        check(
            abs(mc.value - exact.value) <= half,
            f"{metric}@{mc.n}: exact {exact.value:.4f} outside the Monte-Carlo CI [{mc.ci_low:.4f}, {mc.ci_high:.4f}]",
        )
        worst = max(worst, abs(mc.value - exact.value) / half if half else 0.0)
    n = pools[0].n
    return BenchResult(
        name=f"curves_{metric}",
        title=f"Curves {metric}@k (k<={n}, {len(pools)} problems)",
        baseline=f"Monte-Carlo subsets ({RESAMPLES}/k)",
        ours="exact estimator" if ours_method == "exact" else "auto (enumerate <=2000 subsets, else bootstrap)",
        ratio=timing.baseline_median / timing.ours_median,
        target=10.0,
        size={"problems": len(pools), "n": n, "ks": [p.n for p in out["ours"]], "resamples": RESAMPLES},
        metrics={"max |diff|/CI half-width": round(worst, 3), "problems": len(pools)},
        checks={"within_ci": True, "values": {p.n: round(p.value, 4) for p in out["ours"]}},
        timing=timing_dict(timing),
        note="" if ours_method == "exact" else "no closed form for maj@k in bon_core: enumeration only for small k",
    )


def run(quick: bool) -> list[BenchResult]:
    """best@k and maj@k curves, Monte-Carlo vs exact."""
    size = SIZES["quick" if quick else "full"]
    pools = synthetic_pools(size["problems"], size["n"])
    return [compare("best", pools), compare("maj", pools)]
