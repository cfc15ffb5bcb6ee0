"""Candidate generation: one interface, backends registered by name (``hf``, ``openai``).

>>> from bon_core.generation import get_backend
>>> backend = get_backend("hf", model="path/to/policy")
>>> samples = backend.generate(["Q: 3+4\\n"], n=8, config=GenerationConfig(seed=0))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bon_core.generation.base import GeneratedText, GenerationBackend, candidates_for, sample_seed

BACKEND_NAMES: tuple[str, ...] = ("hf", "openai")


def _factories() -> dict[str, Callable[..., GenerationBackend]]:
    # Lazy: importing bon_core.generation must not import torch/transformers/httpx.
    from bon_core.generation.hf_backend import HFBackend
    from bon_core.generation.openai_backend import OpenAIBackend

    return {"hf": HFBackend, "openai": OpenAIBackend}


def get_backend(name: str, **options: Any) -> GenerationBackend:
    """The backend registered as ``name`` built with ``options``; an unknown name fails listing the known ones."""
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown generation backend {name!r}; known: {', '.join(BACKEND_NAMES)}")
    return _factories()[name](**options)


__all__ = ["BACKEND_NAMES", "GeneratedText", "GenerationBackend", "candidates_for", "get_backend", "sample_seed"]
