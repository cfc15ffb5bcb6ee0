"""Device choice: CUDA when present, CPU otherwise; and the batch sizes that suit each."""

from __future__ import annotations

import torch

# Padded tokens per scoring forward. On a CPU a batch whose activations stay in cache beats one big batch: on the
# benchmark PRMs (one thread) 512-1536 tokens ran fastest at width 128 and 256-1024 at width 768, while 16k tokens
# took 25-40% longer at width 128. An accelerator needs large matmuls to be busy.
CPU_BATCH_TOKENS = 1024
ACCELERATOR_BATCH_TOKENS = 16384


def pick_device(requested: str | None = None) -> torch.device:
    """Return ``requested`` if given, else ``cuda`` when available, else ``cpu``."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_batch_tokens(device: torch.device | str) -> int:
    """How many padded tokens one scoring forward should hold on ``device``."""
    return CPU_BATCH_TOKENS if torch.device(device).type == "cpu" else ACCELERATOR_BATCH_TOKENS
