"""The PRM network: any pretrained ``AutoModel`` base plus the design document's MLP reward head.

One forward pass reads the head at every position; training and scoring then look only at the step-tag positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

IGNORE_LABEL = -100.0  # label value at positions that carry no step label


@dataclass(frozen=True)
class HeadConfig:
    """Size of the reward head: ``Linear(hidden, hidden_dim) -> ReLU -> Dropout(dropout) -> Linear(hidden_dim, 1)``."""

    hidden_dim: int = 512  # the design document's width
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.hidden_dim < 1:
            raise ValueError(f"head hidden_dim must be >= 1, got {self.hidden_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"head dropout must be in [0, 1), got {self.dropout}")


class RewardHead(nn.Sequential):
    """Linear -> ReLU -> Dropout -> Linear, producing one logit (sigmoid = P(step correct))."""

    def __init__(self, input_dim: int, config: HeadConfig) -> None:
        super().__init__(
            nn.Linear(input_dim, config.hidden_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, 1),
        )


def base_hidden_size(base: nn.Module) -> int:
    """Hidden width of a transformers base model (``hidden_size`` or GPT-2's ``n_embd``)."""
    config = base.config
    for attribute in ("hidden_size", "n_embd", "d_model", "dim"):
        value = getattr(config, attribute, None)
        if isinstance(value, int):
            return value
    text_config = getattr(config, "get_text_config", lambda: None)()
    if text_config is not None and isinstance(getattr(text_config, "hidden_size", None), int):
        return text_config.hidden_size
    raise ValueError(f"cannot find the hidden size of base model type {config.model_type!r}")


class PRMModel(nn.Module):
    """Base transformer + reward head. ``forward`` returns per-position logits and, given ``labels``, the BCE loss
    over positions whose label is not ``IGNORE_LABEL`` (hard 0/1 or soft labels in [0, 1])."""

    def __init__(self, base: nn.Module, head: RewardHead) -> None:
        super().__init__()
        self.base = base
        self.reward_head = head

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        hidden = self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        logits = self.reward_head(hidden).squeeze(-1)  # (B, T)
        out = {"logits": logits}
        if labels is not None:
            mask = labels != IGNORE_LABEL
            if mask.any():
                out["loss"] = F.binary_cross_entropy_with_logits(logits[mask].float(), labels[mask].float())
            else:
                out["loss"] = logits.sum() * 0.0
        return out
