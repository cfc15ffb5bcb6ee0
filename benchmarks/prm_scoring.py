"""1. PRM scoring: the design document's loop (one forward per step per candidate, each over the problem and the
steps so far) vs bon's ``PRM.score`` (candidates sorted by length into padded batches of the device's
``default_batch_tokens``, one forward per batch, the problem's prompt run once for its candidates, the reward head
applied only at the step tags).

Two shapes, each with the same random GPT-2 PRM on both sides: the tiny PRM (4 layers, width 128) on ``n``
candidates of 4–8 arithmetic steps, and (full run only) a realistic PRM body (12 layers, width 768) on 8 candidates
of 8 steps. The loop calls the same ``PRM.score`` on one prefix at a time, so it gets every kernel-level gain too
(fused GELU, head at the tags); one candidate per call shares its prompt with nobody. The ratio is what one pass,
batching and the shared prompt buy. With a causal base the score at a step tag only sees the tokens before it, so
the two give the same scores (checked to 1e-4).

Also reported: candidates/s, tokens/s and the fraction of the machine's measured matmul FLOP/s that the one-pass
scoring reaches, with FLOPs counted from what it computes (``scoring_flops``).
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

SIZES = {"quick": {"n": 16}, "full": {"n": 64}}
REALISTIC = {"n": 8, "steps": 8}  # full run only: a few minutes on one CPU thread
PROBLEM = "7*(8-3)+6*4-9"


def arith_candidates(n: int, seed: int = 0, steps: tuple[int, int] = (4, 8)) -> list[list[str]]:
    """``n`` seeded candidates of ``steps[0]``–``steps[1]`` steps written like arith solutions (``a op b=c``,
    right or slightly off)."""
    rng = random.Random(seed)
    candidates = []
    for _ in range(n):
        candidate = []
        for _ in range(rng.randint(*steps)):
            a, b, op = rng.randint(1, 60), rng.randint(1, 20), rng.choice("+-*")
            value = {"+": a + b, "-": a - b, "*": a * b}[op] + (rng.choice([-1, 1]) if rng.random() < 0.2 else 0)
            candidate.append(f"{a}{op}{b}={value}")
        candidates.append(candidate)
    return candidates


def per_step_loop(prm, problem: str, candidates: list[list[str]]) -> list[list[float]]:
    """The naive way: for each candidate, for each step, one forward over the problem and the steps so far."""
    scores = []
    for steps in candidates:
        scores.append([prm.score([problem], [steps[: k + 1]])[0][-1] for k in range(len(steps))])
    return scores


def matmul_parameters(base) -> int:
    """The base's parameters that multiply activations: all but its embedding tables, which are lookups."""
    from torch import nn

    lookups = {id(p) for m in base.modules() if isinstance(m, nn.Embedding) for p in m.parameters(recurse=False)}
    return sum(p.numel() for p in base.parameters() if id(p) not in lookups)


def scoring_flops(prm, encoded: Sequence) -> dict[str, int]:
    """Matmul FLOPs of one ``PRM.score`` pass over ``encoded``, by part, counting only what it computes: real tokens
    (not padding), and a prompt shared by a group of candidates (``prompt_groups``) once.

    ``body``: 2 x the base's non-embedding parameters x computed tokens (embeddings are lookups, not matmuls), except
    that with a hidden-state head the last block's MLP runs only at the step tags (``mlp_only_at``; a shared prompt's
    own forward still runs it everywhere); ``attention``: 2·2·L·d per query-key pair, all pairs of a sequence (T²)
    or, after a shared prompt of P tokens, the (T - P)·T pairs of its own queries plus P² once per group; ``head``:
    2 x head parameters at each step tag; ``lm_head``: 2·V·d at each position a likelihood head reads the LM at (0
    for a hidden-state head).
    """
    from bon_core.prm.model import base_hidden_size, last_block_mlp, output_embeddings, reads_likelihood
    from bon_core.prm.scorer import prompt_groups

    base, head = prm.model.base, prm.model.reward_head
    pair = 2 * 2 * base.config.num_hidden_layers * base_hidden_size(base)
    shared = prompt_groups(encoded, prm.batch_tokens)[0] if prm.shares_prompts else []
    prompt = {i: encoded[group[0]].body_start for group in shared for i in group}
    shared_prompts = [encoded[group[0]].body_start for group in shared]
    lengths = [(len(e.input_ids), prompt.get(i, 0)) for i, e in enumerate(encoded)]
    tags = sum(len(e.tag_positions) for e in encoded)
    mlp = last_block_mlp(base)
    tags_only = 0 if mlp is None or reads_likelihood(head) else sum(p.numel() for p in mlp.parameters())
    lm_positions = 0
    if reads_likelihood(head):
        lm_positions = sum(1 for e in encoded for t, step in enumerate(e.step_index()) if t >= 1 and step >= 0)
    everywhere = matmul_parameters(base)
    return {
        "body": 2 * (everywhere - tags_only) * sum(t - p for t, p in lengths)
        + 2 * everywhere * sum(shared_prompts)
        + 2 * tags_only * tags,
        "attention": pair * (sum((t - p) * t for t, p in lengths) + sum(p**2 for p in shared_prompts)),
        "head": 2 * sum(p.numel() for p in head.parameters()) * tags,
        "lm_head": 2 * output_embeddings(base).shape[0] * base_hidden_size(base) * lm_positions if lm_positions else 0,
    }


def ours_phases(prm, problems: list[str], candidates: list[list[str]], repeats: int = 5) -> dict[str, float]:
    """Median seconds of one ``prm.score`` by phase: ``encode`` (tokenizing), ``prompt`` (the shared prompts'
    forwards), ``forward`` (each batch's base and head, ``tag_logits``) and ``other`` (planning, padding, scores
    back to lists), from the calls timed inside ``repeats`` whole runs."""
    import statistics
    import time

    def timed(owner, name: str, sink: list[float]) -> None:
        method = getattr(owner, name)

        def run(*args, **kwargs):
            start = time.perf_counter()
            out = method(*args, **kwargs)
            sink[-1] += time.perf_counter() - start
            return out

        setattr(owner, name, run)  # an instance attribute: deleting it restores the method

    parts: dict[str, list[float]] = {"encode": [], "prompt": [], "forward": [], "total": []}
    owners = {"encode": prm, "prompt": prm.model, "forward": prm.model}
    names = {"encode": "encode", "prompt": "prefix_state", "forward": "tag_logits"}
    for part, owner in owners.items():
        timed(owner, names[part], parts[part])
    try:
        for _ in range(repeats):
            for sink in parts.values():
                sink.append(0.0)
            start = time.perf_counter()
            prm.score(problems, candidates)
            parts["total"][-1] = time.perf_counter() - start
    finally:
        for part, owner in owners.items():
            delattr(owner, names[part])
    medians = {part: statistics.median(values) for part, values in parts.items()}
    medians["other"] = max(0.0, medians["total"] - medians["encode"] - medians["prompt"] - medians["forward"])
    return medians


def compare(
    prm, candidates: list[list[str]], name: str, title: str, target: float | None, repeats: int = 5
) -> BenchResult:
    """Time the per-step loop against ``prm.score`` on ``candidates`` of ``PROBLEM``; fail if scores differ."""
    from benchmarks.models import matmul_flops_per_s
    from bon_core.prm.model import base_hidden_size
    from bon_core.prm.scorer import prompt_groups

    n = len(candidates)
    problems = [PROBLEM] * n
    out: dict[str, list[list[float]]] = {}

    def naive(rep: int) -> None:
        out["naive"] = per_step_loop(prm, PROBLEM, candidates)

    def ours(rep: int) -> None:
        out["ours"] = prm.score(problems, candidates)

    timing = time_interleaved(naive, ours, repeats)
    worst = max(
        abs(a - b) for ra, rb in zip(out["naive"], out["ours"], strict=True) for a, b in zip(ra, rb, strict=True)
    )
    check(worst <= 1e-4, f"one-pass scores differ from the per-step loop by {worst:.2e} (> 1e-4)")

    encoded = prm.encode(problems, candidates)
    tokens = sum(len(e.input_ids) for e in encoded)
    naive_tokens = sum(
        len(e.input_ids)
        for c in candidates
        for e in prm.encode([PROBLEM] * len(c), [c[: k + 1] for k in range(len(c))])
    )
    shared = prompt_groups(encoded, prm.batch_tokens)[0] if prm.shares_prompts else []  # prompts run once
    parts = scoring_flops(prm, encoded)
    flops = sum(parts.values())
    machine = matmul_flops_per_s()
    phases = ours_phases(prm, problems, candidates)
    achieved = flops / timing.ours_median
    base = prm.model.base
    return BenchResult(
        name=name,
        title=title,
        baseline="1 forward per step per candidate",
        ours="length-sorted padded batches, prompt once, head at step tags",
        ratio=timing.baseline_median / timing.ours_median,
        target=target,
        size={
            "candidates": n,
            "steps": sum(len(c) for c in candidates),
            "tokens": tokens,
            "computed_tokens": tokens - sum((len(g) - 1) * encoded[g[0]].body_start for g in shared),
            "naive_tokens": naive_tokens,
            "layers": base.config.num_hidden_layers,
            "width": base_hidden_size(base),
            "batch_tokens": prm.batch_tokens,
        },
        metrics={
            "cand/s": round(n / timing.ours_median, 1),
            "tokens/s": round(tokens / timing.ours_median),
            "GFLOP/s": round(achieved / 1e9, 2),
            "of matmul peak": f"{100 * achieved / machine:.1f}%",
            "max |diff|": f"{worst:.1e}",
            "ours ms (encode/prompt/forward/other)": "/".join(
                f"{1e3 * phases[part]:.1f}" for part in ("encode", "prompt", "forward", "other")
            ),
        },
        checks={"max_abs_diff": worst, "tolerance": 1e-4},
        timing={
            **timing_dict(timing),
            "matmul_flop_per_s": machine,
            "scoring_flops": flops,
            "scoring_flops_by_part": parts,
            "ours_phases_s": phases,
        },
        note="FLOPs: 2 x non-embedding parameters x computed tokens (a shared prompt once; the last block's MLP only "
        "at the tags) + attention 4·L·d per query-key pair + the head at the tags (no LM head: a hidden-state head); "
        "the loop calls the same PRM.score per prefix",
    )


def run(quick: bool) -> list[BenchResult]:
    """Per-step loop vs one-pass batched scoring at the tiny shape, and at a realistic shape in the full run."""
    from benchmarks.models import REALISTIC_PRM_SIZE, prm_in_memory, tiny_prm

    n = SIZES["quick" if quick else "full"]["n"]
    with tempfile.TemporaryDirectory(prefix="bon-bench-prm-") as folder:
        prm = tiny_prm(Path(folder))
    results = [compare(prm, arith_candidates(n), "prm_scoring", f"PRM scoring (N={n}, 4-8 steps)", 10.0)]
    if not quick:
        steps = REALISTIC["steps"]
        shape = f"{REALISTIC_PRM_SIZE['n_layer']} layers x {REALISTIC_PRM_SIZE['n_embd']}"
        results.append(
            compare(
                prm_in_memory(**REALISTIC_PRM_SIZE),
                arith_candidates(REALISTIC["n"], steps=(steps, steps)),
                "prm_scoring_realistic",
                f"PRM scoring, {shape} (N={REALISTIC['n']}, {steps} steps)",
                None,
            )
        )
    return results
