"""Tiny, randomly initialised models for the benchmarks, built and saved locally (no downloads).

Random weights are enough: every benchmark compares two ways of running the SAME model, so speed and the
equality of outputs do not depend on what the weights learned.
"""

from __future__ import annotations

from pathlib import Path

# Sized like the demo models: a few layers over the character tokenizer, big enough that matmuls dominate.
PRM_SIZE = {"n_layer": 4, "n_embd": 128, "n_head": 4}
# A realistic PRM body (GPT-2 small's 12 layers of width 768), still over the character tokenizer.
REALISTIC_PRM_SIZE = {"n_layer": 12, "n_embd": 768, "n_head": 12}
POLICY_SIZE = {"n_layer": 3, "n_embd": 96, "n_head": 4}


def tiny_gpt2(directory: Path, n_layer: int, n_embd: int, n_head: int, seed: int = 0, n_positions: int = 512) -> Path:
    """Save a random GPT-2 causal LM over bon's character tokenizer to ``directory`` and return it."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from bon_core.generation.char_tokenizer import build_char_tokenizer

    tokenizer = build_char_tokenizer()
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_positions=n_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_prm(directory: Path, seed: int = 0):
    """A PRM (our format) on a random GPT-2 base of :data:`PRM_SIZE`."""
    from bon_core.device import pick_device
    from bon_core.prm import PRMSpec, new_prm

    base = tiny_gpt2(directory, **PRM_SIZE, seed=seed)
    return new_prm(base, spec=PRMSpec(max_length=512), seed=seed, device=pick_device())


def prm_in_memory(n_layer: int, n_embd: int, n_head: int, seed: int = 0, device: str | None = None):
    """A PRM (our format) on a random GPT-2 body of this size, built in memory (nothing written to disk)."""
    import torch
    from transformers import GPT2Config, GPT2Model

    from bon_core.device import pick_device
    from bon_core.generation.char_tokenizer import build_char_tokenizer
    from bon_core.prm import PRMSpec, new_prm

    tokenizer = build_char_tokenizer()
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=n_embd, n_layer=n_layer, n_head=n_head, n_positions=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    base = GPT2Model(config)
    return new_prm(base, tokenizer, spec=PRMSpec(max_length=512), seed=seed, device=pick_device(device))


def matmul_flops_per_s(size: int = 1024, repeats: int = 5, device: str | None = None) -> float:
    """Measured float32 matmul throughput of this machine (FLOP/s): median over ``repeats`` of ``size``² @ ``size``²."""
    import statistics
    import time

    import torch

    from bon_core.device import pick_device

    dev = torch.device(pick_device(device))
    a = torch.randn(size, size, device=dev)
    b = torch.randn(size, size, device=dev)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        (a @ b).sum().item()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)
