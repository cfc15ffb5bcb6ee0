"""Published PRM checkpoints: a declarative format per family, registered by name and chosen by config, and
``PublishedPRM``, the scorer that reads a checkpoint the way its authors do.

Each format says how the input is laid out (``layout``), which transformers class to load (``model_class``), where
the scores are read (tag tokens, step ends, assistant answer slots) and how logits become P(step good). Nothing is
ever inferred from a model's name.

>>> prm = load_prm("/models/Qwen2.5-Math-PRM-7B", format="qwen-prm")   # bon_core.prm.io
>>> prm.score(["1+1?"], [["1+1=2", "The answer is 2"]])
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

import torch

from bon_core.device import default_batch_tokens, pick_device
from bon_core.prm.base import CandidateScoringMixin
from bon_core.prm.batching import PaddedBatch, score_in_batches
from bon_core.prm.model import fuse_gelu
from bon_core.prm.published_inputs import FormattedInput, build_inputs, token_id

Layout = Literal["chat_tags", "text_tags", "step_pieces", "chat_turns"]
Readout = Literal["class_logits", "token_logits", "value_head"]


@dataclass(frozen=True)
class PRMFormat:
    """How one family of published PRMs is fed and read.

    ``layout``: ``chat_tags`` (chat template, steps joined by ``step_tag`` in one assistant turn, read at the tags),
    ``text_tags`` (plain text, ``step_tag`` after each step, read at the tags), ``step_pieces`` (each step tokenized
    with ``step_tag`` as separator, read at the last token of each step), ``chat_turns`` (each step a user turn,
    the assistant answers ``good_token``; read at the logits that predict that answer).
    ``readout``: ``class_logits`` (a 2-class head, softmax, ``good_index``), ``token_logits`` (LM logits of
    ``good_token``/``bad_token``, softmax, ``good_index`` into that pair), ``value_head`` (a scalar head named
    ``value_head_key`` in the checkpoint, sigmoid).
    """

    name: str
    layout: Layout
    readout: Readout
    model_class: str  # transformers Auto class to load with
    step_tag: str = "\n"
    system_prompt: str | None = None
    question_joiner: str = " "  # between the question and the first step (text layouts, first user turn)
    good_token: str = "+"
    bad_token: str = "-"
    good_index: int = 1
    add_special_tokens: bool = True  # as the authors' tokenizer call does
    prepend_bos: bool = False  # step_pieces: put the tokenizer's BOS first
    value_head_key: str = "v_head.summary"
    trust_remote_code: bool = False
    max_length: int = 4096
    max_batch_tokens: int | None = None  # padded tokens per forward; None: by device (``default_batch_tokens``)

    def __post_init__(self) -> None:
        if self.layout not in ("chat_tags", "text_tags", "step_pieces", "chat_turns"):
            raise ValueError(f"unknown layout {self.layout!r} in format {self.name!r}")
        if self.readout not in ("class_logits", "token_logits", "value_head"):
            raise ValueError(f"unknown readout {self.readout!r} in format {self.name!r}")
        if self.readout != "value_head" and self.good_index not in (0, 1):
            raise ValueError(f"good_index must be 0 or 1, got {self.good_index}")


QWEN_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."

PRM_FORMATS: dict[str, PRMFormat] = {
    # Qwen2.5-Math-PRM: remote-code AutoModel whose output[0] is (B, T, 2); P(good) = softmax[..., 1] at <extra_0>.
    "qwen-prm": PRMFormat(
        name="qwen-prm",
        layout="chat_tags",
        readout="class_logits",
        model_class="AutoModel",
        step_tag="<extra_0>",
        system_prompt=QWEN_SYSTEM,
        good_index=1,
        trust_remote_code=True,
    ),
    # Math-Shepherd: "question step1 ки\nstep2 ки"; LM logits of '+' and '-' at each 'ки', softmax, index 0 ('+').
    "math-shepherd": PRMFormat(
        name="math-shepherd",
        layout="text_tags",
        readout="token_logits",
        model_class="AutoModelForCausalLM",
        step_tag="ки",
        good_index=0,
    ),
    # RLHFlow Llama3.1-8B-PRM: each step a user turn answered '+' by the assistant; softmax over ('+', '-'), '+'.
    "rlhflow": PRMFormat(
        name="rlhflow",
        layout="chat_turns",
        readout="token_logits",
        model_class="AutoModelForCausalLM",
        good_index=0,
        add_special_tokens=False,
    ),
    # Skywork-o1-Open-PRM: BOS + problem + "\n", each step followed by "\n"; sigmoid(value head) at those "\n".
    "skywork": PRMFormat(
        name="skywork",
        layout="step_pieces",
        readout="value_head",
        model_class="AutoModel",
        step_tag="\n",
        question_joiner="\n",
        prepend_bos=True,
    ),
    # TRL PRMTrainer checkpoints: prompt + (step + separator) per step, 2-label token classification at the last
    # token of each step, softmax index 1.
    "trl-token-classification": PRMFormat(
        name="trl-token-classification",
        layout="step_pieces",
        readout="class_logits",
        model_class="AutoModelForTokenClassification",
        step_tag="\n",
        question_joiner="",
        prepend_bos=True,
        good_index=1,
    ),
}


def get_format(name: str, **overrides) -> PRMFormat:
    """The registered format ``name`` with ``overrides`` applied; unknown names fail listing the known ones."""
    if name not in PRM_FORMATS:
        raise ValueError(f"unknown PRM format {name!r}; known: bon, {', '.join(sorted(PRM_FORMATS))}")
    known = {f.name for f in fields(PRMFormat)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown PRMFormat fields {unknown}; known: {', '.join(sorted(known))}")
    return replace(PRM_FORMATS[name], **overrides)


class PublishedPRM(CandidateScoringMixin):
    """A published PRM checkpoint scored the way its authors do, batched: one padded forward per batch, read (and,
    where the model allows, its LM head or value head applied) only at the score positions."""

    def __init__(self, model, tokenizer, fmt: PRMFormat, value_head: torch.nn.Linear | None = None, device=None):
        self.format = fmt
        self.tokenizer = tokenizer
        self.device = pick_device(str(device) if device is not None else None)
        fuse_gelu(model)
        self.model = model.to(self.device).eval()
        self.value_head = value_head.to(self.device) if value_head is not None else None
        if fmt.readout == "token_logits":
            self.pair_ids = [token_id(tokenizer, fmt.good_token), token_id(tokenizer, fmt.bad_token)]
        self._keeps_logits = fmt.readout == "token_logits" and keeps_logits_at_positions(model)

    @property
    def batch_tokens(self) -> int:
        """Padded tokens per forward: the format's ``max_batch_tokens``, else this device's default."""
        return self.format.max_batch_tokens or default_batch_tokens(self.device)

    @torch.no_grad()
    def score(
        self, problems: Sequence[str], candidates: Sequence[Sequence[str]], max_batch_tokens: int | None = None
    ) -> list[list[float]]:
        """P(step good) for every step of every candidate, in input order."""
        if len(problems) != len(candidates):
            raise ValueError(f"got {len(problems)} problems for {len(candidates)} candidates; pass one problem each")
        encoded = [
            build_inputs(self.tokenizer, self.format, problem, steps, name=f"candidate {i}")
            for i, (problem, steps) in enumerate(zip(problems, candidates, strict=True))
        ]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return score_in_batches(encoded, self._forward, max_batch_tokens or self.batch_tokens, pad, self.device)

    def _forward(self, batch: PaddedBatch[FormattedInput]) -> list[torch.Tensor]:
        """P(good) of each row's steps from one forward over ``batch``."""
        return batch.split_rows(self._step_probs(batch.input_ids, batch.attention_mask, batch.read_mask))

    def _step_probs(self, ids: torch.Tensor, mask: torch.Tensor, read_mask: torch.Tensor) -> torch.Tensor:
        """P(good) at every ``read_mask`` position, row by row: ``(N,)`` on the CPU."""
        fmt = self.format
        if fmt.readout == "value_head":
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state[read_mask]  # (N, H)
            return torch.sigmoid(self.value_head(hidden.to(self.value_head.weight.dtype)).squeeze(-1).float()).cpu()
        if self._keeps_logits:
            # The LM head (hidden x vocabulary) only at the columns some row reads: the model's own forward, so any
            # logit scaling or soft-capping it applies is kept.
            columns = read_mask.any(0).nonzero().squeeze(-1)
            logits = self.model(input_ids=ids, attention_mask=mask, logits_to_keep=columns).logits  # (B, K, V)
            logits = logits[read_mask[:, columns]]  # (N, V)
        else:
            out = self.model(input_ids=ids, attention_mask=mask)
            logits = (out.logits if hasattr(out, "logits") else out[0])[read_mask]  # (N, C) or (N, V)
        if fmt.readout == "token_logits":
            logits = logits[..., self.pair_ids]  # (N, 2): [good, bad]
        return torch.softmax(logits.float(), dim=-1)[..., fmt.good_index].cpu()


def keeps_logits_at_positions(model) -> bool:
    """Whether ``model``'s forward takes ``logits_to_keep`` as a tensor of positions (transformers' own classes
    since 4.50); remote code may give the argument another meaning, so it is used only with transformers' own."""
    module = type(model).__module__
    return module.startswith("transformers.") and "logits_to_keep" in inspect.signature(model.forward).parameters
