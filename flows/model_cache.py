"""Model loading for flow tasks, cached per process so mapped shards reuse one loaded model."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bon_core.prm import Scorer

# transformers initialises weights on the meta device under a process-wide context, so two threads loading at
# once corrupt each other's models: loads are serialised (each model is loaded once per process anyway).
_load_lock = threading.Lock()


def policy_backend(policy: str, backend: str = "hf", base_url: str | None = None) -> Any:
    """A generation backend for ``policy``, loaded once per process."""
    with _load_lock:
        return _policy_backend(policy, backend, base_url)


def scorer(path: str, format: str = "bon") -> Scorer:
    """A scorer loaded once per process."""
    with _load_lock:
        return _scorer(path, format)


@functools.lru_cache(maxsize=4)
def _policy_backend(policy: str, backend: str = "hf", base_url: str | None = None) -> Any:
    """A generation backend for ``policy`` (a local path or Hub id for ``hf``; a served model name for ``openai``)."""
    from bon_core.generation import get_backend

    if backend == "openai":
        if not base_url:
            raise ValueError("the openai backend needs --base-url (the server's /v1 URL)")
        return get_backend("openai", base_url=base_url, model=policy)
    return get_backend(backend, model=policy)


@functools.lru_cache(maxsize=4)
def _scorer(path: str, format: str = "bon") -> Scorer:
    """A PRM/ORM (ours, or a published format through its adapter) loaded from a local path or Hub id."""
    from bon_core.prm import load_prm

    return load_prm(path, format=format)
