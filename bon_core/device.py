"""Device choice: CUDA when present, CPU otherwise."""

from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """Return ``requested`` if given, else ``cuda`` when available, else ``cpu``."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
