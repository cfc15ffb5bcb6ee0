"""bon's benchmarks: each compares bon's way of doing something with the naive way, timed in the same run.

``python -m benchmarks [--quick] [--only NAME ...]`` runs them, prints a Rich table and writes one JSON file per
result under ``benchmarks/results/``. From code: :func:`run_all`. Benchmarks fail (AssertionError) only when the two
methods disagree on their outputs, never on timing.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from typing import Any

# name -> module (each has ``run(quick: bool) -> list[BenchResult]``), in the order.
BENCHMARKS: dict[str, str] = {
    "prm_scoring": "benchmarks.prm_scoring",
    "generation": "benchmarks.generation",
    "store_writes": "benchmarks.store_writes",
    "curves": "benchmarks.curves",
    "compute_savings": "benchmarks.compute_savings",
    "orchestration": "benchmarks.orchestration",
    "scaling": "benchmarks.scaling",
    "store_scaling": "benchmarks.store_scaling",
}


def check_names(only: Sequence[str] | None) -> list[str]:
    """The benchmarks to run: all, or ``only`` (ValueError naming an unknown one and the known ones)."""
    if not only:
        return list(BENCHMARKS)
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}")
    return [name for name in BENCHMARKS if name in only]


def run_benchmarks(
    quick: bool = False, only: Sequence[str] | None = None, write: bool = True, threads: int | None = None
):
    """Run the selected benchmarks; return ``(results, skipped, seconds)`` where ``skipped`` maps name -> reason."""
    import torch

    from benchmarks.harness import write_json

    if threads is not None:
        torch.set_num_threads(threads)
    results, skipped = [], {}
    start = time.perf_counter()
    for name in check_names(only):
        module = importlib.import_module(BENCHMARKS[name])
        reason = getattr(module, "unavailable", lambda: None)()
        if reason:
            skipped[name] = reason
            continue
        results.extend(module.run(quick))
    if write:
        write_json(results, quick)
    return results, skipped, time.perf_counter() - start


def run_all(quick: bool = False, only: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks (all, or those named in ``only``) and return ``{"results": {name: json}, "skipped":
    {name: reason}, "seconds": total}``; results are also written under ``benchmarks/results/``."""
    results, skipped, seconds = run_benchmarks(quick, only)
    return {"results": {r.name: r.to_json() for r in results}, "skipped": skipped, "seconds": seconds}


__all__ = ["BENCHMARKS", "check_names", "run_all", "run_benchmarks"]
