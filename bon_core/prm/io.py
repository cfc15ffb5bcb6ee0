"""Saving and loading PRMs: our ``bon`` format and, by format name, published PRM checkpoints.

A ``bon`` PRM directory holds the base model and tokenizer (``save_pretrained``), ``reward_head.safetensors`` and
``bon_prm.json`` (kind prm/orm, step tag, prompt template, head size, base model type, format version).

>>> prm.save_pretrained("out/prm")
>>> same = load_prm("out/prm")                          # format "bon"
>>> qwen = load_prm("/models/Qwen2.5-Math-PRM-7B", format="qwen-prm")
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from bon_core.prm.model import PRMModel, new_reward_head
from bon_core.prm.scorer import FORMAT_VERSION, PRM, PRMSpec

SPEC_FILE = "bon_prm.json"
HEAD_FILE = "reward_head.safetensors"


def save_prm(prm: PRM, directory: str | os.PathLike[str]) -> Path:
    """Write ``prm`` to ``directory`` in the ``bon`` format; returns the directory."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    prm.model.base.save_pretrained(out)
    prm.tokenizer.save_pretrained(out)
    head_state = {k: v.detach().contiguous().cpu() for k, v in prm.model.reward_head.state_dict().items()}
    save_file(head_state, str(out / HEAD_FILE))
    (out / SPEC_FILE).write_text(json.dumps(prm.spec.to_json_dict(), indent=2) + "\n")
    return out


def load_bon_prm(directory: str | os.PathLike[str], device: str | torch.device | None = None) -> PRM:
    """Load a PRM saved by ``save_prm``."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    path = Path(directory)
    spec_path = path / SPEC_FILE
    if not spec_path.is_file():
        raise ValueError(f"{path} is not a bon PRM directory: {SPEC_FILE} is missing")
    spec = PRMSpec.from_json_dict(json.loads(spec_path.read_text()))
    if spec.version > FORMAT_VERSION:
        raise ValueError(f"{spec_path} has format version {spec.version}; this bon reads up to {FORMAT_VERSION}")
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModel.from_pretrained(path)
    head = new_reward_head(base, spec.head)
    head.load_state_dict(load_file(str(path / HEAD_FILE)))
    return PRM(PRMModel(base, head), tokenizer, spec, device=device)


def load_prm(path: str | os.PathLike[str], format: str = "bon", device: str | torch.device | None = None, **overrides):
    """Load a step scorer from ``path`` in the named ``format`` (``bon`` or a published format of
    ``bon_core.prm.formats.PRM_FORMATS``). ``overrides`` replace fields of a published format (e.g.
    ``model_class``). The format is always chosen by name, never guessed from the model."""
    if format == "bon":
        if overrides:
            raise ValueError(f"format 'bon' takes no overrides, got {sorted(overrides)}")
        return load_bon_prm(path, device=device)
    from bon_core.prm.formats import get_format, load_published_prm

    return load_published_prm(path, get_format(format, **overrides), device=device)
