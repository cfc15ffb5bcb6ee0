"""Our PRM as a scorer: ``score(problems, candidates) -> per-step scores`` in one padded forward per batch of
length-sorted candidates sized for the device, the reward head applied only at the step tags; with a causal base
the candidates of one problem share one forward over its prompt.

>>> prm = new_prm("path/to/base")            # any AutoModel checkpoint (decoder or encoder)
>>> prm.score(["2+3*4"], [["3*4=12", "2+12=14"]])
[[0.51, 0.49]]

An ORM (``spec.kind == "orm"``) has the same network trained on one label at the last tag; it still returns a
score at every step tag, so ``aggregate(..., "last")`` is its natural use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property, partial

import torch

from bon_core.device import default_batch_tokens, pick_device
from bon_core.prm.base import CandidateScoringMixin
from bon_core.prm.batching import PaddedBatch, pad_batch, score_in_batches
from bon_core.prm.config import PRMSpec
from bon_core.prm.encoding import EncodedCandidate, StepFormat, encode_candidates, special_affixes
from bon_core.prm.model import (
    NOT_A_STEP,
    PrefixState,
    PRMModel,
    can_share_prefix,
    new_reward_head,
    reads_likelihood,
)


class PRM(CandidateScoringMixin):
    """A step scorer made of a ``PRMModel`` and its tokenizer (which holds the step-tag token)."""

    def __init__(self, model: PRMModel, tokenizer, spec: PRMSpec, device: str | torch.device | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.device = pick_device(str(device) if device is not None else None)
        self.model.to(self.device)
        self.tag_id = step_tag_id(tokenizer, spec.step_format)
        self._affixes = special_affixes(tokenizer)

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else 0

    def encode(self, problems: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[EncodedCandidate]:
        """Token ids and tag positions of every candidate (``problems[i]`` goes with ``candidates[i]``)."""
        if len(problems) != len(candidates):
            raise ValueError(f"got {len(problems)} problems for {len(candidates)} candidates; pass one problem each")
        return encode_candidates(
            self.tokenizer,
            problems,
            candidates,
            self.spec.step_format,
            self.tag_id,
            self.spec.max_length,
            self._affixes,
        )

    @property
    def batch_tokens(self) -> int:
        """Padded tokens per scoring forward: the spec's ``max_batch_tokens``, else this device's default."""
        return self.spec.max_batch_tokens or default_batch_tokens(self.device)

    @cached_property
    def shares_prompts(self) -> bool:
        """Whether candidates of one problem can share one forward over their prompt: a causal base with a cache."""
        return can_share_prefix(self.model.base)

    @torch.no_grad()
    def score(
        self,
        problems: Sequence[str],
        candidates: Sequence[Sequence[str]],
        max_batch_tokens: int | None = None,
    ) -> list[list[float]]:
        """P(step correct) for every step of every candidate, in input order.

        Candidates are sorted by length and padded into batches of at most ``max_batch_tokens`` tokens (default:
        ``batch_tokens``). With a causal base, the candidates of a problem that fill at least half a batch run the
        prompt once and their steps in batches of their own (``prompt_groups``); the rest are batched together.
        """
        encoded = self.encode(problems, candidates)
        budget = max_batch_tokens or self.batch_tokens
        results: list[list[float]] = [[] for _ in encoded]
        self.model.eval()
        shared, pooled = prompt_groups(encoded, budget) if self.shares_prompts else ([], list(range(len(encoded))))
        for members in shared:
            first = encoded[members[0]]
            state = self.model.prefix_state(torch.tensor([first.input_ids[: first.body_start]], device=self.device))
            rows = [encoded[i] for i in members]
            steps_lengths = [len(e.input_ids) - first.body_start for e in rows]
            forward = partial(self._forward, prefix=state)
            scored = score_in_batches(rows, forward, budget, self.pad_id, self.device, lengths=steps_lengths)
            for i, scores in zip(members, scored, strict=True):
                results[i] = scores
        rows = [encoded[i] for i in pooled]
        scored = score_in_batches(rows, partial(self._forward, prefix=None), budget, self.pad_id, self.device)
        for i, scores in zip(pooled, scored, strict=True):
            results[i] = scores
        return results

    def _forward(self, batch: PaddedBatch[EncodedCandidate], prefix: PrefixState | None) -> list[torch.Tensor]:
        """The step scores of each row of ``batch`` from one forward (that starts after ``prefix``, if given)."""
        step_index = None
        if reads_likelihood(self.model.reward_head):
            step_index = torch.tensor(
                pad_batch([e.step_index() for e in batch.items], NOT_A_STEP)[0], device=self.device
            )
        logits = self.model.tag_logits(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            tag_mask=batch.read_mask,
            step_index=step_index,
            prefix=prefix,
        )  # (tags in the batch,), row by row
        probs = batch.split_rows(torch.sigmoid(logits.float()).cpu())
        if self.spec.step_score == "prefix":
            probs = [torch.cumprod(step_probs.double(), 0) for step_probs in probs]
        return probs

    def save_pretrained(self, directory) -> None:
        """Save base + tokenizer (``save_pretrained``), the head and ``bon_prm.json`` with
        ``bon_core.prm.io.save_prm``."""
        from bon_core.prm.io import save_prm  # here, not at the top: io imports this module to load a PRM

        save_prm(self, directory)


def prompt_groups(encoded: Sequence[EncodedCandidate], max_batch_tokens: int) -> tuple[list[list[int]], list[int]]:
    """Split candidates into groups that share their prompt (everything before the first step) and are worth a
    forward of their own, and the rest. A group is worth it when its candidates are at least two and their steps
    fill at least half a batch; smaller groups are pooled so that batches stay full, which an accelerator needs."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, e in enumerate(encoded):
        groups.setdefault(e.input_ids[: e.body_start], []).append(i)
    shared: list[list[int]] = []
    pooled: list[int] = []
    for prompt, members in groups.items():
        steps_tokens = sum(len(encoded[i].input_ids) - len(prompt) for i in members)
        if prompt and len(members) > 1 and 2 * steps_tokens >= max_batch_tokens:
            shared.append(members)
        else:
            pooled.extend(members)
    return shared, pooled


def step_tag_id(tokenizer, fmt: StepFormat) -> int:
    """The id of the step tag: the added special token, or the one token an ordinary-text tag is made of."""
    if fmt.special_tag:
        return tokenizer.convert_tokens_to_ids(fmt.step_tag)
    ids = tokenizer(fmt.step_tag, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"step tag {fmt.step_tag!r} is {len(ids)} tokens for this tokenizer; an ordinary-text tag "
                         "must be exactly one token")  # fmt: skip
    return ids[0]


def new_prm(
    base,
    tokenizer=None,
    spec: PRMSpec | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> PRM:
    """A fresh PRM on a pretrained base: ``base`` is a path (loaded with ``AutoModel``, so a causal LM checkpoint
    gives its bare transformer) or a loaded base model with ``tokenizer``. Adds the step tag as a special token."""
    from transformers import AutoModel, AutoTokenizer

    spec = spec or PRMSpec()
    if isinstance(base, (str, bytes)) or hasattr(base, "__fspath__"):
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(base)
        base = AutoModel.from_pretrained(base)
    if tokenizer is None:
        raise ValueError("pass the tokenizer together with a loaded base model")
    tag = spec.step_format.step_tag
    if spec.step_format.special_tag and (tag not in tokenizer.get_vocab() or tag not in tokenizer.all_special_tokens):
        tokenizer.add_special_tokens({"additional_special_tokens": [tag]})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tag
    if len(tokenizer) > base.get_input_embeddings().weight.shape[0]:
        base.resize_token_embeddings(len(tokenizer))
    torch.manual_seed(seed)
    head = new_reward_head(base, spec.head)
    if not spec.base_model_type:
        spec = replace(spec, base_model_type=base.config.model_type)
    return PRM(PRMModel(base, head), tokenizer, spec, device=device)
