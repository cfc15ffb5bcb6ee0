"""2. Candidate generation: N separate ``generate`` calls per prompt (the design document's loop) vs bon's HF
backend with one shared prompt prefill per prompt (KV cache repeated for its N samples) and prompts batched.

Both use the same tiny random GPT-2 policy and the same per-sample seeds, so they must produce the same texts.
The one-call-per-sample baseline is slow, so it samples the first ``baseline_prompts`` prompts only; the two are
compared in sequences/s.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.harness import BenchResult, check, time_interleaved, timing_dict

SIZES = {
    "quick": {"n": 8, "prompts": 4, "baseline_prompts": 1, "max_new_tokens": 24},
    "full": {"n": 16, "prompts": 32, "baseline_prompts": 2, "max_new_tokens": 48},
}


def arith_prompts(count: int) -> list[str]:
    """Prompts of the arith task's first ``count`` test problems."""
    from bon_core.tasks import get_task

    task = get_task("arith")
    problems = task.load("test", limit=count)
    return [task.format_prompt(p) for p in problems]


def run(quick: bool) -> list[BenchResult]:
    """Separate calls vs shared-prefix batched sampling; texts must match sample by sample."""
    from benchmarks.models import POLICY_SIZE, tiny_gpt2
    from bon_core.generation.hf_backend import HFBackend
    from bon_core.types import GenerationConfig

    size = SIZES["quick" if quick else "full"]
    n, prompts = size["n"], arith_prompts(size["prompts"])
    base_prompts = prompts[: size["baseline_prompts"]]
    config = GenerationConfig(
        temperature=1.0, max_new_tokens=size["max_new_tokens"], seed=0, batch_size=n * len(prompts)
    )
    single = GenerationConfig(temperature=1.0, max_new_tokens=size["max_new_tokens"], seed=0, batch_size=1)
    with tempfile.TemporaryDirectory(prefix="bon-bench-policy-") as folder:
        backend = HFBackend(str(tiny_gpt2(Path(folder), **POLICY_SIZE)))
    out: dict[str, list] = {}

    def naive(rep: int) -> None:
        out["naive"] = [
            [backend.generate([p], 1, single, sample_offset=i)[0][0] for i in range(n)] for p in base_prompts
        ]

    def ours(rep: int) -> None:
        out["ours"] = backend.generate(prompts, n, config)

    timing = time_interleaved(naive, ours, 5)
    for naive_pool, our_pool in zip(out["naive"], out["ours"][: len(base_prompts)], strict=True):
        for a, b in zip(naive_pool, our_pool, strict=True):
            check(a.text == b.text, f"sample {a.sample_index}: separate call and batched sampling gave different texts")
            check(abs(a.sum_logprob - b.sum_logprob) <= 1e-3, f"sample {a.sample_index}: log-probabilities differ")
    naive_seqs, our_seqs = n * len(base_prompts), n * len(prompts)
    tokens = sum(s.num_tokens for pool in out["ours"] for s in pool)
    naive_rate, our_rate = naive_seqs / timing.baseline_median, our_seqs / timing.ours_median
    return [
        BenchResult(
            name="generation",
            title=f"Generation (N={n}, {len(prompts)} prompts)",
            baseline="N separate generate calls per prompt",
            ours="shared prompt prefill + prompt batching",
            ratio=our_rate / naive_rate,
            target=4.0,
            size={**size, "sequences": our_seqs, "baseline_sequences": naive_seqs},
            metrics={
                "seq/s ours": round(our_rate, 1),
                "seq/s naive": round(naive_rate, 1),
                "tokens/s": round(tokens / timing.ours_median),
            },
            checks={"same_texts": True, "compared_samples": naive_seqs},
            timing=timing_dict(timing),
            note="ratio of sequences/s; the baseline samples the first baseline_prompts prompts",
        )
    ]
