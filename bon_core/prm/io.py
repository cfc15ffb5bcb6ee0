"""Everything the PRM package reads or writes on disk: our ``bon`` PRM directories, published PRM checkpoints (by
format name) and the checkpoint folder of a training run.

A ``bon`` PRM directory holds the base model and tokenizer (``save_pretrained``), ``reward_head.safetensors`` and
``bon_prm.json`` (kind prm/orm, step tag, prompt template, head size, base model type, format version).

>>> save_prm(prm, "out/prm")                            # or prm.save_pretrained("out/prm")
>>> same = load_prm("out/prm")                          # format "bon"
>>> qwen = load_prm("/models/Qwen2.5-Math-PRM-7B", format="qwen-prm")
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from bon_core.device import pick_device
from bon_core.prm.config import FORMAT_VERSION, PRMSpec
from bon_core.prm.model import PRMModel, new_reward_head
from bon_core.prm.published import PRMFormat, PublishedPRM, get_format
from bon_core.prm.scorer import PRM

SPEC_FILE = "bon_prm.json"
HEAD_FILE = "reward_head.safetensors"
FINGERPRINT_FILE = "bon_training.json"  # in a training run's output_dir: which training wrote its checkpoints


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


def load_published_prm(path, fmt: PRMFormat, device=None) -> PublishedPRM:
    """Load a published checkpoint from a local ``path`` as ``fmt`` says; refuses checkpoints whose weights do not
    all load (a partly random published model would score silently wrong)."""
    import transformers

    device = pick_device(str(device) if device is not None else None)
    auto_class = getattr(transformers, fmt.model_class, None)
    if auto_class is None:
        raise ValueError(f"format {fmt.name!r}: transformers has no class {fmt.model_class!r}")
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=fmt.trust_remote_code)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model, info = auto_class.from_pretrained(
        path, trust_remote_code=fmt.trust_remote_code, dtype=dtype, output_loading_info=True
    )
    if info.get("missing_keys"):
        raise ValueError(f"{path}: weights missing for format {fmt.name!r}: {sorted(info['missing_keys'])[:5]}")
    value_head = _load_value_head(path, fmt.value_head_key) if fmt.readout == "value_head" else None
    return PublishedPRM(model, tokenizer, fmt, value_head=value_head, device=device)


def _load_value_head(path, key: str) -> torch.nn.Linear:
    """The scalar head ``key.weight``/``key.bias`` from the checkpoint's safetensors files."""
    from safetensors import safe_open

    for file in sorted(Path(path).glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            names = [n for n in handle.keys() if n.endswith(f"{key}.weight")]
            if names:
                weight = handle.get_tensor(names[0])
                bias_name = names[0][: -len("weight")] + "bias"
                bias = handle.get_tensor(bias_name) if bias_name in handle.keys() else None
                head = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
                head.weight.data.copy_(weight.float())
                if bias is not None:
                    head.bias.data.copy_(bias.float())
                return head
    raise ValueError(f"{path}: no value head '{key}.weight' in its safetensors files")


def load_prm(
    path: str | os.PathLike[str], format: str = "bon", device: str | torch.device | None = None, **overrides
) -> PRM | PublishedPRM:
    """Load a step scorer from ``path`` in the named ``format`` (``bon`` or a published format of
    ``bon_core.prm.published.PRM_FORMATS``). ``overrides`` replace fields of a published format (e.g.
    ``model_class``). The format is always chosen by name, never guessed from the model."""
    if format == "bon":
        if overrides:
            raise ValueError(f"format 'bon' takes no overrides, got {sorted(overrides)}")
        return load_bon_prm(path, device=device)
    return load_published_prm(path, get_format(format, **overrides), device=device)


def resumable_checkpoint(output_dir: str, fingerprint: str) -> Path | None:
    """The newest complete ``checkpoint-N`` in ``output_dir`` written under ``fingerprint``, or None."""
    folder = Path(output_dir)
    marker = folder / FINGERPRINT_FILE
    try:
        if json.loads(marker.read_text())["fingerprint"] != fingerprint:
            return None
    except (OSError, ValueError, KeyError):
        return None
    # A checkpoint is complete once its trainer state is written in full (the trainer writes it last).
    complete = [
        c for c in folder.glob("checkpoint-*") if checkpoint_step(str(c)) and _readable_json(c / "trainer_state.json")
    ]
    return max(complete, key=lambda c: checkpoint_step(str(c)) or 0, default=None)


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def start_checkpoints(output_dir: str, fingerprint: str) -> None:
    """Make ``output_dir`` hold only this training's checkpoints: remove other ones, record ``fingerprint``."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("checkpoint-*"):
        shutil.rmtree(stale, ignore_errors=True)
    (folder / FINGERPRINT_FILE).write_text(json.dumps({"fingerprint": fingerprint}))


def checkpoint_step(checkpoint: str | None) -> int | None:
    """The global step of a ``checkpoint-N`` folder (None for anything else)."""
    if not checkpoint:
        return None
    tail = checkpoint.rstrip("/").rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None
