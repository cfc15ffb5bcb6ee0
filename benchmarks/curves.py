"""4. Curves: accuracy-vs-k by Monte-Carlo subsets (the naive way) vs bon's exact estimators.

``best@k`` has a closed form by order statistics, ``pass@k`` the unbiased estimator and ``maj@k`` an exact count
over answer classes (``bon_core.metrics.votes``), every k of a pool in one pass. Both sides compute the whole curve
(k = 1, 2, 4, …, n) for every problem; one untimed warm-up precedes the interleaved repetitions. The pools are
synthetic (seeded): per problem a hidden accuracy, answers drawn from a few wrong values or the right one, scores
that lean higher for correct candidates. The cost of a curve depends only on the pool sizes, not on where the
pools came from. Correctness: every exact value lies within the Monte-Carlo point's 95% CI over problems and
within 4 Monte-Carlo standard errors (its own sampling error) of the Monte-Carlo value.
"""

from __future__ import annotations

import os

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
    return BenchResult(
        name=f"curves_{metric}",
        title=f"Curves {metric}@k (k<={n}, {len(pools)} problems)",
        baseline=f"Monte-Carlo subsets ({RESAMPLES}/k)",
        ours="exact order statistics" if metric == "best" else "exact count over answer classes, all k in one pass",
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
    """best@k and maj@k curves, Monte-Carlo vs exact."""
    size = SIZES["quick" if quick else "full"]
    pools = synthetic_pools(size["problems"], size["n"])
    return [compare("best", pools), compare("maj", pools)]
