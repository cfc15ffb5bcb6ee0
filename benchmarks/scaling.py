"""7. Scaling: time and peak memory of ``generate`` + ``score`` (the library calls the flows run per shard) at 1×,
2× and 4× the problems, each size in its own long-lived process so that its peak RSS is its own.

The sizes are interleaved: every repetition asks each size's process for one timed run, in an order rotated per
repetition, so load from other processes hits every size alike. Reported: the exponent of wall time vs problems
(slope of log time over log problems, ideally ~1: linear), the same for CPU time, and peak RSS per size. Same
policy and PRM (tiny, random) and sampling seeds at every size.
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


def worker(problems: int, n: int, max_new_tokens: int, threads: int) -> None:
    """In this process: build the models, then for every ``run`` line on stdin time one generate + score on
    ``problems`` problems and print ``{"wall_s", "cpu_s", "scored"}``; on ``done`` print the peak RSS and exit."""
    import resource
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
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        wall, cpu = time.perf_counter(), time.process_time()
        pools = backend.generate([task.format_prompt(p) for p in items], n, config)
        # A random policy writes no arith steps; score each sample as one step so the PRM reads every token.
        candidates = [c for p, pool in zip(items, pools, strict=True) for c in candidates_for(p, pool)]
        scores = prm.score([p.question for p in items for _ in range(n)], [[c.text or " "] for c in candidates])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"wall_s": wall, "cpu_s": cpu, "scored": len(scores)}), flush=True)
    # VmHWM is this process's own peak; ru_maxrss keeps the forking parent's peak across exec on Linux.
    status = Path("/proc/self/status")
    hwm = (
        [line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM")]
        if status.exists()
        else []
    )
    rss_kib = int(hwm[0]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    print(json.dumps({"peak_rss_mib": rss_kib / 1024}), flush=True)


def _fit(problems: list[int], seconds: list[float]) -> float:
    xs = [math.log(p) for p in problems]
    ys = [math.log(s) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _reply(process: subprocess.Popen, log) -> dict:
    line = process.stdout.readline()
    if not line:
        log.seek(0)
        check(False, f"scaling worker failed: {log.read()[-500:]}")
    return json.loads(line)


def run(quick: bool) -> list[BenchResult]:
    """Start one process per size, time the sizes interleaved, and fit the time exponents."""
    import os
    import statistics

    import torch

    size = SIZES["quick" if quick else "full"]
    sizes = [size["base"] * factor for factor in FACTORS]
    code = "import json,sys; from benchmarks.scaling import worker; worker(**json.loads(sys.argv[1]))"
    import tempfile

    processes, logs = [], [tempfile.TemporaryFile("w+") for _ in sizes]  # workers' stderr: a pipe could fill up
    for problems, log in zip(sizes, logs, strict=True):
        args = {"problems": problems, "n": size["n"], "max_new_tokens": size["max_new_tokens"],
                "threads": torch.get_num_threads()}  # fmt: skip
        processes.append(subprocess.Popen([sys.executable, "-c", code, json.dumps(args)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=log, text=True))  # fmt: skip
    load_before = os.getloadavg()
    try:
        for process, log in zip(processes, logs, strict=True):
            _reply(process, log)  # ready: models built
        runs: list[list[dict]] = [[] for _ in sizes]
        order = list(range(len(sizes)))
        for _ in range(REPEATS):
            for i in order:
                processes[i].stdin.write("run\n")
                processes[i].stdin.flush()
                runs[i].append(_reply(processes[i], logs[i]))
            order = order[1:] + order[:1]
        peaks = []
        for process, log in zip(processes, logs, strict=True):
            process.stdin.write("done\n")
            process.stdin.flush()
            peaks.append(_reply(process, log)["peak_rss_mib"])
    finally:
        for process in processes:  # a closed stdin ends a worker's loop; one that hangs is killed
            process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
    for problems, per_size in zip(sizes, runs, strict=True):
        check(all(r["scored"] == problems * size["n"] for r in per_size), f"not every candidate scored at {problems}")
    wall = [statistics.median(r["wall_s"] for r in per_size) for per_size in runs]
    cpu = [statistics.median(r["cpu_s"] for r in per_size) for per_size in runs]
    exponent, cpu_exponent = _fit(sizes, wall), _fit(sizes, cpu)
    return [
        BenchResult(
            name="scaling",
            title=f"Scaling generate+score ({'/'.join(str(p) for p in sizes)} problems, N={size['n']})",
            baseline="1x problems",
            ours="2x, 4x problems",
            ratio=exponent,
            target=1.2,
            unit="exp",
            higher_is_better=False,
            size={**size, "factors": list(FACTORS)},
            metrics={
                "time exponent": round(exponent, 2),
                "CPU exponent": round(cpu_exponent, 2),
                "median wall s": "/".join(f"{w:.2f}" for w in wall),
                "median CPU s": "/".join(f"{c:.2f}" for c in cpu),
                "peak RSS MiB": "/".join(f"{p:.0f}" for p in peaks),
            },
            checks={"all_scored": True},
            timing={
                "runs": runs,
                "peak_rss_mib": peaks,
                "load_average_before": list(load_before),
                "load_average_after": list(os.getloadavg()),
                "torch_threads": torch.get_num_threads(),
            },  # fmt: skip
            note="exponent of wall time vs problems (1 = linear), sizes interleaved per repetition; CPU time is the "
            "size's process; peak RSS of the process of each size",
        )
    ]
