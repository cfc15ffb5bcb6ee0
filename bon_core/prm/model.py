"""The PRM network: any pretrained ``AutoModel`` base plus the design document's MLP reward head.

Training reads the head at every position (``PRMModel.forward``) and keeps the step-tag positions; scoring
(``PRMModel.tag_logits``) applies the head, and a likelihood head's LM read-out, only where they are needed.

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

import copy
import inspect
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from bon_core.prm.config import HeadConfig

IGNORE_LABEL = -100.0  # label value at positions that carry no step label
IGNORE_TOKEN = -100  # language-model label at positions that are not trained as text
NOT_A_STEP = -1  # step index of the prompt, special tokens and padding
LIKELIHOOD_FEATURES = 4  # min and mean log-probability of the step's tokens, then of all steps so far
STEP_LIKELIHOOD_FEATURES = 2  # the first two: the step's own tokens only
_LOG_PROB_FLOOR = -20.0  # one impossible token should not dwarf every other feature
_FEATURE_SCALE = 5.0


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


def step_token_log_probs(
    base: nn.Module, hidden: torch.Tensor, input_ids: torch.Tensor, step_index: torch.Tensor
) -> torch.Tensor:
    """``token_log_probs``' log-probabilities at the tokens of steps and 0 elsewhere, with the LM read-out (a
    ``hidden x vocabulary`` matmul and softmax per position) computed only at the positions that predict a step
    token: the prompt and padding cost nothing. Step features read nothing else."""
    predicts_step = step_index[:, 1:] >= 0  # (B, T-1): the position's next token belongs to a step
    logits = hidden[:, :-1][predicts_step] @ output_embeddings(base).T  # (M, V)
    targets = input_ids[:, 1:][predicts_step]
    values = torch.log_softmax(logits.float(), -1).gather(-1, targets[:, None]).squeeze(-1)
    shifted = torch.zeros(predicts_step.shape, dtype=values.dtype, device=values.device)
    return torch.cat([torch.zeros_like(shifted[:, :1]), shifted.masked_scatter(predicts_step, values)], 1)


def step_likelihood_features(log_probs: torch.Tensor, step_index: torch.Tensor) -> torch.Tensor:
    """``(B, T, 4)``: at each position, the min and mean log-probability over the tokens of the step it belongs to,
    then over all steps up to and including that one (what an ORM at the last step needs); zeros outside steps;
    scaled to roughly unit size."""
    per_step = per_step_likelihood_features(log_probs, step_index)
    if per_step.shape[1] == 0:
        return torch.zeros(*log_probs.shape, LIKELIHOOD_FEATURES, dtype=log_probs.dtype, device=log_probs.device)
    gathered = per_step.gather(1, step_index.clamp(min=0)[..., None].expand(-1, -1, LIKELIHOOD_FEATURES))
    return torch.where((step_index >= 0)[..., None], gathered, torch.zeros_like(gathered))


def per_step_likelihood_features(log_probs: torch.Tensor, step_index: torch.Tensor) -> torch.Tensor:
    """``(B, S, 4)``: ``step_likelihood_features`` once per step (``S`` = the most steps in a row; zeros for steps
    a shorter row does not have)."""
    log_probs = log_probs.clamp(min=_LOG_PROB_FLOOR)
    num_steps = int(step_index.max().item()) + 1 if step_index.numel() else 0
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
    return per_step / _FEATURE_SCALE


_GELU_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class TanhGELU(nn.Module):
    """GPT-2's ``gelu_new``, ``0.5·x·(1 + tanh(u))`` with ``u = sqrt(2/π)·(x + 0.044715·x³)``: torch's fused
    ``gelu(approximate="tanh")`` where a gradient is needed, else the same function as ``x·sigmoid(2u)`` computed in
    place in one buffer, which took 15-50% less time than the fused kernel on the benchmark PRMs' activations
    (one CPU thread; the two agree to ~1e-7)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return F.gelu(x, approximate="tanh")
        two_u = x * x
        two_u.mul_(2 * _GELU_SQRT_2_OVER_PI * 0.044715).add_(2 * _GELU_SQRT_2_OVER_PI).mul_(x)
        return two_u.sigmoid_().mul_(x)


def fuse_gelu(model: nn.Module) -> int:
    """Swap every transformers ``NewGELUActivation`` (``gelu_new``: eight elementwise passes, a quarter of a small
    GPT-2's forward on a CPU) in ``model`` for ``TanhGELU``, in place; returns how many were swapped. The two agree
    to float rounding (~1e-7), in value and gradient. Weights and config are untouched, so a saved model is the same."""
    from transformers.activations import NewGELUActivation

    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is NewGELUActivation:
                setattr(parent, name, TanhGELU())
                swapped += 1
    return swapped


@dataclass(frozen=True)
class PrefixState:
    """The base's KV cache and hidden states ``(1, P, H)`` over a prefix that several sequences start with."""

    cache: Any
    hidden: torch.Tensor

    @property
    def length(self) -> int:
        return self.hidden.shape[1]


def cache_argument(base: nn.Module) -> str | None:
    """The name under which ``base``'s forward takes a KV cache (``cache`` in transformers 5, ``past_key_values``
    before), or None."""
    parameters = inspect.signature(base.forward).parameters
    return next((name for name in ("cache", "past_key_values") if name in parameters), None)


@torch.no_grad()
def is_causal(base: nn.Module) -> bool:
    """Whether ``base``'s hidden state at a position ignores every later token (a decoder-only LM), found by a probe:
    two inputs that differ only in their last token must agree before it. Runs the base in eval mode."""
    was_training = base.training
    base.eval()
    weight = base.get_input_embeddings().weight
    ids = torch.arange(1, 7, device=weight.device)[None] % weight.shape[0]
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % weight.shape[0]
    first, second = (
        base(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state[0, :-1] for x in (ids, changed)
    )
    base.train(was_training)
    return bool((first - second).abs().max() <= 1e-5 * first.abs().max().clamp(min=1.0))


def can_share_prefix(base: nn.Module) -> bool:
    """Whether sequences that start alike can reuse one forward over their common prefix (``PRMModel.prefix_state``):
    a causal base that takes a KV cache."""
    return cache_argument(base) is not None and is_causal(base)


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
    its loss is the BCE of the product of the step probabilities at ``tag_mask`` positions.

    ``tag_logits`` is the scoring path: the same logits, only at the step tags. A ``gelu_new`` activation in the
    base is swapped for ``TanhGELU``, the same function in fewer passes (``fuse_gelu``)."""

    def __init__(self, base: nn.Module, head: nn.Module, lm_loss_weight: float = 0.0) -> None:
        super().__init__()
        fuse_gelu(base)
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

    @torch.no_grad()
    def prefix_state(self, prefix_ids: torch.Tensor) -> PrefixState:
        """One forward over ``prefix_ids`` (``(1, P)``) whose cache ``tag_logits`` reuses for every sequence that
        starts with it (only for a base where ``can_share_prefix``)."""
        name = cache_argument(self.base)
        out = self.base(input_ids=prefix_ids, attention_mask=torch.ones_like(prefix_ids), use_cache=True)
        cache = getattr(out, name, None) if name else None
        return PrefixState(cache if cache is not None else out.past_key_values, out.last_hidden_state)

    def tag_logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        tag_mask: torch.Tensor,
        step_index: torch.Tensor | None = None,
        prefix: PrefixState | None = None,
    ) -> torch.Tensor:
        """``forward(...)["logits"][tag_mask]`` (``(N,)``, row by row, each row's tags in order), computing only
        what those logits read: the head at the tags and, for a likelihood head, the LM read-out at the step tokens
        (``step_token_log_probs``) instead of at every position. With ``prefix`` (every row starts with its
        tokens) the base runs only on what follows it; the arguments still cover whole sequences."""
        if not reads_likelihood(self.reward_head):
            return self.reward_head(self._hidden_at(input_ids, attention_mask, tag_mask, prefix)).squeeze(-1)
        hidden = self._hidden(input_ids, attention_mask, prefix)  # (B, T, H)
        if step_index is None:
            raise ValueError("a likelihood head needs step_index (the step each token belongs to)")
        log_probs = step_token_log_probs(self.base, hidden, input_ids, step_index)
        per_step = per_step_likelihood_features(log_probs, step_index)  # (B, S, 4)
        rows = torch.arange(len(input_ids), device=input_ids.device)[:, None].expand_as(tag_mask)[tag_mask]
        features = per_step[rows, step_index[tag_mask]]  # (N, 4)
        if isinstance(self.reward_head, HiddenLikelihoodHead):
            return self.reward_head(hidden[tag_mask], features).squeeze(-1)
        return self.reward_head(features).squeeze(-1)

    def _hidden(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, prefix: PrefixState | None
    ) -> torch.Tensor:
        if prefix is None:
            return self._base_output(input_ids, attention_mask, None)
        rest = self._base_output(input_ids, attention_mask, prefix)
        return torch.cat([prefix.hidden.expand(len(input_ids), -1, -1), rest], 1)

    def _hidden_at(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, read_mask: torch.Tensor, prefix: PrefixState | None
    ) -> torch.Tensor:
        """``_hidden(...)[read_mask]`` (``(N, H)``), with the base's last MLP run only at the read positions
        (``mlp_only_at``: what follows it works position by position) and the prefix's hidden states not copied."""
        length = prefix.length if prefix is not None else 0
        if read_mask[:, :length].any():
            return self._hidden(input_ids, attention_mask, prefix)[read_mask]
        read_after = read_mask[:, length:]
        with mlp_only_at(last_block_mlp(self.base), read_after):
            return self._base_output(input_ids, attention_mask, prefix)[read_after]

    def _base_output(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, prefix: PrefixState | None
    ) -> torch.Tensor:
        """The base's last hidden state ``(B, T, H)``, or with ``prefix`` only after it ``(B, T - P, H)``."""
        if prefix is None:
            return self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        rows, length = len(input_ids), prefix.length
        if input_ids.shape[1] <= length:
            raise ValueError(f"sequences of {input_ids.shape[1]} tokens do not extend a prefix of {length}")
        cache = copy.deepcopy(prefix.cache)  # the forward appends to the cache it is given
        cache.batch_repeat_interleave(rows)
        return self.base(
            input_ids=input_ids[:, length:],
            attention_mask=attention_mask,  # prefix and rest: the cache's positions come first
            use_cache=True,
            **{cache_argument(self.base): cache},
        ).last_hidden_state


# Bases whose last block ends ``h + mlp(norm(h))`` with a tensor-valued ``mlp``, followed only by position-wise work.
_LAST_MLP_LAYOUTS = {"gpt2": "h", "llama": "layers", "mistral": "layers", "qwen2": "layers"}


def last_block_mlp(base: nn.Module) -> nn.Module | None:
    """The MLP of ``base``'s last transformer block (``h[-1].mlp`` in GPT-2, ``layers[-1].mlp`` in Llama-like
    bases), after which only position-wise work (a residual add, a final norm) remains; None for other model types
    (a mixture-of-experts block, for one, returns more than a tensor)."""
    name = _LAST_MLP_LAYOUTS.get(getattr(getattr(base, "config", None), "model_type", ""))
    blocks = getattr(base, name, None) if name else None
    if isinstance(blocks, nn.ModuleList) and len(blocks) and isinstance(getattr(blocks[-1], "mlp", None), nn.Module):
        return blocks[-1].mlp
    return None


@contextmanager
def mlp_only_at(mlp: nn.Module | None, rows: torch.Tensor) -> Iterator[None]:
    """While inside, ``mlp`` (called on ``(B, T, H)``) computes only the positions where ``rows`` (``(B, T)``
    bool) is True and returns 0 elsewhere: in the last block, the only positions whose output anything reads. That
    block's MLP is two thirds of its matmuls; the other positions keep the residual alone. ``mlp=None``: no change."""
    if mlp is None:
        yield
        return

    owner = threading.get_ident()  # a model shared by threads: another thread's forwards stay whole

    def narrow(module: nn.Module, args: tuple) -> tuple | None:
        if threading.get_ident() != owner:
            return None
        return (args[0][rows], *args[1:])  # (N, H)

    def widen(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor | None:
        if threading.get_ident() != owner:
            return None
        full = out.new_zeros(*rows.shape, out.shape[-1])
        full[rows] = out
        return full  # (B, T, H)

    handles = [mlp.register_forward_pre_hook(narrow), mlp.register_forward_hook(widen)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
