"""7. Scaling: time and peak memory of ``generate`` + ``score`` (the library calls the flows run per shard) at 1×,
2× and 4× the problems, each size in its own process so that its peak RSS is its own.

Reported: the exponent of time vs problems (slope of log time over log problems, ideally ~1: linear) and peak RSS
per size. Same policy and PRM (tiny, random) and sampling seeds at every size.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from benchmarks.harness import BenchResult, check

SIZES = {"quick": {"base": 2, "n": 4, "max_new_tokens": 24}, "full": {"base": 8, "n": 8, "max_new_tokens": 48}}
FACTORS = (1, 2, 4)
REPEATS = 5


def worker(problems: int, n: int, max_new_tokens: int, threads: int, repeats: int = REPEATS) -> dict:
    """In this process: build the models, then time ``repeats`` runs of generate + score on ``problems`` problems."""
    import resource
    import statistics
    import tempfile
    import time
    from pathlib import Path

    import torch
    import transformers

    from benchmarks.models import POLICY_SIZE, tiny_gpt2, tiny_prm
    from bon_core.generation import candidates_for
    from bon_core.generation.hf_backend import HFBackend
    from bon_core.tasks import get_task
    from bon_core.types import GenerationConfig

    torch.set_num_threads(threads)  # the parent's setting
    transformers.logging.set_verbosity_error()
    task = get_task("arith")
    items = task.load("test", limit=problems)
    with tempfile.TemporaryDirectory(prefix="bon-bench-scale-") as folder:
        backend = HFBackend(str(tiny_gpt2(Path(folder) / "policy", **POLICY_SIZE)))
        prm = tiny_prm(Path(folder) / "prm")
    config = GenerationConfig(temperature=1.0, max_new_tokens=max_new_tokens, seed=0, batch_size=64)
    times = []
    scored = 0
    for _ in range(repeats):
        start = time.perf_counter()
        pools = backend.generate([task.format_prompt(p) for p in items], n, config)
        # A random policy writes no arith steps; score each sample as one step so the PRM reads every token.
        candidates = [c for p, pool in zip(items, pools, strict=True) for c in candidates_for(p, pool)]
        scores = prm.score([p.question for p in items for _ in range(n)], [[c.text or " "] for c in candidates])
        times.append(time.perf_counter() - start)
        scored = len(scores)
    # VmHWM is this process's own peak; ru_maxrss keeps the forking parent's peak across exec on Linux.
    status = Path("/proc/self/status")
    hwm = (
        [line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM")]
        if status.exists()
        else []
    )
    rss_kib = int(hwm[0]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    return {
        "problems": problems,
        "median_s": statistics.median(times),
        "times_s": times,
        "peak_rss_mib": rss_kib / 1024,
        "scored": scored,
    }


def run(quick: bool) -> list[BenchResult]:
    """Run each size in a subprocess and fit the time exponent."""
    import torch

    size = SIZES["quick" if quick else "full"]
    rows = []
    for factor in FACTORS:
        args = json.dumps(
            {
                "problems": size["base"] * factor,
                "n": size["n"],
                "max_new_tokens": size["max_new_tokens"],
                "threads": torch.get_num_threads(),
            }
        )
        code = "import json,sys; from benchmarks.scaling import worker; print(json.dumps(worker(**json.loads(sys.argv[1]))))"  # noqa: E501
        done = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, check=False)
        check(done.returncode == 0, f"scaling worker failed: {done.stderr[-500:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for row in rows:
        check(row["scored"] == row["problems"] * size["n"], f"scored {row['scored']} of {row['problems'] * size['n']}")
    xs = [math.log(r["problems"]) for r in rows]
    ys = [math.log(r["median_s"]) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    exponent = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return [
        BenchResult(
            name="scaling",
            title=f"Scaling generate+score ({'/'.join(str(r['problems']) for r in rows)} problems, N={size['n']})",
            baseline="1x problems",
            ours="2x, 4x problems",
            ratio=exponent,
            target=1.2,
            unit="exp",
            higher_is_better=False,
            size={**size, "factors": list(FACTORS)},
            metrics={
                "time exponent": round(exponent, 2),
                "median s": "/".join(f"{r['median_s']:.2f}" for r in rows),
                "peak RSS MiB": "/".join(f"{r['peak_rss_mib']:.0f}" for r in rows),
            },
            checks={"all_scored": True},
            timing={"rows": rows},
            note="exponent of time vs problems (1 = linear); peak RSS of the process of each size",
        )
    ]
