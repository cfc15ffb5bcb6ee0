"""The PRM network: any pretrained ``AutoModel`` base plus the design document's MLP reward head.

One forward pass reads the head at every position; training and scoring then look only at the step-tag positions.

The head reads one of two inputs (``HeadConfig.inputs``):

* ``hidden`` (the design document's PRM): the base's hidden state at the step tag.
* ``likelihood``: how likely the base, read as a language model through its tied output embeddings, finds the
  step's own tokens and all the steps so far (minimum and mean token log-probability of each). On ``arith`` a head
  on the hidden state learned which problems are hard rather than whether a step is right (within one context it
  preferred the correct of two otherwise equal steps only 51% of the time), while the language model itself spots a
  wrong digit 85% of the time. The features are detached, so step labels train only the head and cannot teach the
  base to call hard problems unlikely; ``lm_labels`` can still train the base as a language model.
* ``hidden+likelihood``: both, at each step tag: the hidden state and the step's OWN likelihood features (min and
  mean log-probability of its tokens). It starts as the step-likelihood scorer; step labels then also train the base
  through the hidden state, which hard negatives sharing the context (``bon_core.tasks.arith_negatives``) force to
  check the step rather than judge the problem. It reads no feature pooled over earlier steps, so an ORM built on it
  has to learn from its one outcome label where a chain went wrong — the process-vs-outcome comparison is then about
  the labels alone, not about an aggregation built into the head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

IGNORE_LABEL = -100.0  # label value at positions that carry no step label
IGNORE_TOKEN = -100  # language-model label at positions that are not trained as text
NOT_A_STEP = -1  # step index of the prompt, special tokens and padding
LIKELIHOOD_FEATURES = 4  # min and mean log-probability of the step's tokens, then of all steps so far
STEP_LIKELIHOOD_FEATURES = 2  # the first two: the step's own tokens only
HEAD_INPUTS = ("hidden", "likelihood", "hidden+likelihood")
_LOG_PROB_FLOOR = -20.0  # one impossible token should not dwarf every other feature
_FEATURE_SCALE = 5.0


@dataclass(frozen=True)
class HeadConfig:
    """Size of the reward head: ``Linear(hidden, hidden_dim) -> ReLU -> Dropout(dropout) -> Linear(hidden_dim, 1)``."""

    hidden_dim: int = 512  # the design document's width
    dropout: float = 0.1
    inputs: str = "hidden"  # one of HEAD_INPUTS (see the module docstring)
    # hidden+likelihood: whether the labels' gradient reaches the base through the hidden state (False: the head
    # probes the base, which then learns only from the language-model loss)
    labels_train_base: bool = True

    def __post_init__(self) -> None:
        if self.inputs not in HEAD_INPUTS:
            raise ValueError(f"head inputs must be one of {', '.join(HEAD_INPUTS)}; got {self.inputs!r}")
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


class LikelihoodHead(nn.Module):
    """``w . features + b + MLP(features)``. ``w`` starts at 1 on the step's own features (0 on those of the steps
    before) and the MLP's output at 0, so an untrained head already ranks a more likely step higher; with a random
    start the few head weights took most of a short training run to find even the direction."""

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        self.linear = nn.Linear(LIKELIHOOD_FEATURES, 1)
        self.mlp = RewardHead(LIKELIHOOD_FEATURES, config)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[1.0, 1.0, 0.0, 0.0]]))
            self.linear.bias.zero_()
            self.mlp[-1].weight.zero_()
            self.mlp[-1].bias.zero_()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features) + self.mlp(features)


class HiddenLikelihoodHead(nn.Module):
    """``w . step_features + b + MLP([hidden, step_features])``: starts as the step-likelihood scorer (``w`` = 1, the
    MLP's output 0), and learns from the hidden state what the likelihood misses."""

    def __init__(self, hidden_size: int, config: HeadConfig) -> None:
        super().__init__()
        self.labels_train_base = config.labels_train_base
        self.linear = nn.Linear(STEP_LIKELIHOOD_FEATURES, 1)
        self.mlp = RewardHead(hidden_size + STEP_LIKELIHOOD_FEATURES, config)
        with torch.no_grad():
            self.linear.weight.fill_(1.0)
            self.linear.bias.zero_()
            self.mlp[-1].weight.zero_()
            self.mlp[-1].bias.zero_()

    def forward(self, hidden: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        step_features = features[..., :STEP_LIKELIHOOD_FEATURES]
        return self.linear(step_features) + self.mlp(torch.cat([hidden, step_features.to(hidden.dtype)], -1))


def new_reward_head(base: nn.Module, config: HeadConfig) -> nn.Module:
    """The head ``config`` asks for, sized for ``base``."""
    if config.inputs == "likelihood":
        return LikelihoodHead(config)
    if config.inputs == "hidden+likelihood":
        return HiddenLikelihoodHead(base_hidden_size(base), config)
    return RewardHead(base_hidden_size(base), config)


def reads_likelihood(head: nn.Module) -> bool:
    """Whether ``head`` needs the base's token likelihoods (and so ``step_index``)."""
    return isinstance(head, (LikelihoodHead, HiddenLikelihoodHead))


def output_embeddings(base: nn.Module) -> torch.Tensor:
    """The base's language-model output matrix: its input embeddings, which a tied-embedding LM shares with it."""
    config = base.config
    tied = getattr(config, "tie_word_embeddings", None)
    if tied is None and hasattr(config, "get_text_config"):
        tied = getattr(config.get_text_config(), "tie_word_embeddings", None)
    if not tied:
        raise ValueError(
            f"a {config.model_type} base without tied input/output embeddings cannot be read as a language model; "
            "use head inputs 'hidden' and no language-model loss"
        )
    return base.get_input_embeddings().weight


def token_log_probs(
    base: nn.Module, hidden: torch.Tensor, input_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token logits ``(B, T, V)`` of the base as an LM, and ``log p(x_t | x_<t)`` for t >= 1 (0 at t = 0)."""
    logits = hidden @ output_embeddings(base).T
    log_probs = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    return logits, torch.cat([torch.zeros_like(log_probs[:, :1]), log_probs], 1)


def step_likelihood_features(log_probs: torch.Tensor, step_index: torch.Tensor) -> torch.Tensor:
    """``(B, T, 4)``: at each position, the min and mean log-probability over the tokens of the step it belongs to,
    then over all steps up to and including that one (what an ORM at the last step needs); zeros outside steps;
    scaled to roughly unit size."""
    log_probs = log_probs.clamp(min=_LOG_PROB_FLOOR)
    num_steps = int(step_index.max().item()) + 1 if step_index.numel() else 0
    features = torch.zeros(*log_probs.shape, LIKELIHOOD_FEATURES, dtype=log_probs.dtype, device=log_probs.device)
    if num_steps <= 0:
        return features
    steps = torch.arange(num_steps, device=step_index.device)
    member = step_index[:, None, :] == steps[None, :, None]  # (B, S, T)
    values = log_probs[:, None, :].expand_as(member)
    count = member.sum(-1)  # (B, S); 0 for steps a shorter row does not have
    total = (values * member).sum(-1)
    minimum = values.masked_fill(~member, float("inf")).amin(-1)
    per_step = torch.stack(
        [
            minimum.masked_fill(count == 0, 0.0),
            total / count.clamp(min=1),
            torch.cummin(minimum, 1).values.masked_fill(count == 0, 0.0),
            total.cumsum(1) / count.cumsum(1).clamp(min=1),
        ],
        -1,
    )  # (B, S, 4)
    gathered = per_step.gather(1, step_index.clamp(min=0)[..., None].expand(-1, -1, LIKELIHOOD_FEATURES))
    return torch.where((step_index >= 0)[..., None], gathered, features) / _FEATURE_SCALE


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
    over positions whose label is not ``IGNORE_LABEL`` (hard 0/1 or soft labels in [0, 1]), plus
    ``lm_loss_weight`` times the base's next-token loss on ``lm_labels`` (token ids, ``IGNORE_TOKEN`` elsewhere).

    ``step_index`` (``(B, T)``, the step each token belongs to, ``NOT_A_STEP`` elsewhere) is required by a
    ``likelihood`` head. With ``outcome_on_product`` (an ORM scoring prefixes), a row's one label is the outcome and
    its loss is the BCE of the product of the step probabilities at ``tag_mask`` positions."""

    def __init__(self, base: nn.Module, head: nn.Module, lm_loss_weight: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.reward_head = head
        self.lm_loss_weight = lm_loss_weight
        self.outcome_on_product = False  # see ``forward``

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        step_index: torch.Tensor | None = None,
        lm_labels: torch.Tensor | None = None,
        tag_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        hidden = self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        train_lm = lm_labels is not None and self.lm_loss_weight > 0
        lm_logits = None
        if reads_likelihood(self.reward_head):
            if step_index is None:
                raise ValueError("a likelihood head needs step_index (the step each token belongs to)")
            lm_logits, log_probs = token_log_probs(self.base, hidden, input_ids)
            features = step_likelihood_features(log_probs.detach(), step_index)
            if isinstance(self.reward_head, HiddenLikelihoodHead):
                probe = hidden if self.reward_head.labels_train_base else hidden.detach()
                logits = self.reward_head(probe, features).squeeze(-1)
            else:
                logits = self.reward_head(features).squeeze(-1)
        else:
            logits = self.reward_head(hidden).squeeze(-1)  # (B, T)
        out = {"logits": logits}
        if labels is not None:
            mask = labels != IGNORE_LABEL
            if self.outcome_on_product and tag_mask is not None and mask.any():
                # One outcome label per row on P(every step correct) = prod of the step probabilities at its tags.
                rows = mask.any(-1)
                log_p = (F.logsigmoid(logits.float()) * tag_mask).sum(-1)[rows].clamp(max=-1e-6)  # (R,)
                outcome = (labels.float() * mask).sum(-1)[rows]
                out["loss"] = -(outcome * log_p + (1 - outcome) * torch.log(-torch.expm1(log_p))).mean()
            elif mask.any():
                out["loss"] = F.binary_cross_entropy_with_logits(logits[mask].float(), labels[mask].float())
            else:
                out["loss"] = logits.sum() * 0.0
            if train_lm and (lm_labels != IGNORE_TOKEN).any():
                if lm_logits is None:
                    lm_logits = hidden @ output_embeddings(self.base).T
                lm_loss = F.cross_entropy(
                    lm_logits[:, :-1].flatten(0, 1).float(), lm_labels[:, 1:].flatten(), ignore_index=IGNORE_TOKEN
                )
                out["lm_loss"] = lm_loss
                out["loss"] = out["loss"] + self.lm_loss_weight * lm_loss
        return out
