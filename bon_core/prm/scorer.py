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

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Literal

import torch

from bon_core.device import default_batch_tokens, pick_device
from bon_core.prm.formatting import (
    EncodedCandidate,
    StepFormat,
    encode_candidate,
    pad_batch,
    plan_batches,
    special_affixes,
)
from bon_core.prm.model import (
    NOT_A_STEP,
    HeadConfig,
    PrefixState,
    PRMModel,
    can_share_prefix,
    new_reward_head,
    reads_likelihood,
)
from bon_core.types import Candidate, Problem, StepScores

FORMAT_VERSION = 1
# Every version-1 file before batch sizes were chosen by device holds this default; it reads as "by device".
_LEGACY_BATCH_TOKENS = 16384


@dataclass(frozen=True)
class PRMSpec:
    """Everything about a PRM besides its weights; saved as ``bon_prm.json``."""

    kind: Literal["prm", "orm"] = "prm"
    step_format: StepFormat = field(default_factory=StepFormat)
    head: HeadConfig = field(default_factory=HeadConfig)
    max_length: int = 1024
    max_batch_tokens: int | None = None  # padded tokens per scoring forward; None: by device (``default_batch_tokens``)
    # "step": the head's P(step correct) at each tag; "prefix": the product of those up to each tag, P(every step so
    # far is correct) — for a PRM trained on local step labels (each step judged against the state before it), this
    # makes the score at a step the checker's prefix label and its last score a verdict on the whole solution.
    step_score: Literal["step", "prefix"] = "step"
    base_model_type: str = ""
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.kind not in ("prm", "orm"):
            raise ValueError(f"kind must be 'prm' or 'orm', got {self.kind!r}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {self.max_length}")
        if self.step_score not in ("step", "prefix"):
            raise ValueError(f"step_score must be 'step' or 'prefix', got {self.step_score!r}")
        if self.max_batch_tokens is not None and self.max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens must be >= 1 or None, got {self.max_batch_tokens}")

    def to_json_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, data: Mapping) -> PRMSpec:
        data = dict(data)
        data["step_format"] = StepFormat(**data.get("step_format", {}))
        data["head"] = HeadConfig(**data.get("head", {}))
        if data.get("max_batch_tokens") == _LEGACY_BATCH_TOKENS:
            data["max_batch_tokens"] = None
        return cls(**data)


class PRM:
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
        return [
            encode_candidate(
                self.tokenizer,
                problem,
                steps,
                self.spec.step_format,
                self.tag_id,
                self.spec.max_length,
                self._affixes,
                name=f"candidate {i}",
            )
            for i, (problem, steps) in enumerate(zip(problems, candidates, strict=True))
        ]

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
            prompt = torch.tensor([first.input_ids[: first.body_start]], device=self.device)
            state = self.model.prefix_state(prompt)
            for batch in plan_batches([len(encoded[i].input_ids) - first.body_start for i in members], budget):
                rows = [members[j] for j in batch]
                for i, scores in zip(rows, self._score_batch([encoded[i] for i in rows], state), strict=True):
                    results[i] = scores
        for batch in plan_batches([len(encoded[i].input_ids) for i in pooled], budget):
            rows = [pooled[j] for j in batch]
            for i, scores in zip(rows, self._score_batch([encoded[i] for i in rows], None), strict=True):
                results[i] = scores
        for i, (steps, scores) in enumerate(zip(candidates, results, strict=True)):
            if len(scores) != len(steps):
                raise ValueError(f"candidate {i} has {len(steps)} steps but got {len(scores)} scores")
        return results

    def _score_batch(self, rows: Sequence[EncodedCandidate], prefix: PrefixState | None) -> list[list[float]]:
        """The step scores of ``rows`` from one padded forward (that starts after ``prefix``, if given)."""
        ids, mask = pad_batch([e.input_ids for e in rows], self.pad_id)
        tag_mask = torch.zeros(len(ids), len(ids[0]), dtype=torch.bool)
        for row, e in enumerate(rows):
            tag_mask[row, list(e.tag_positions)] = True
        step_index = None
        if reads_likelihood(self.model.reward_head):
            step_index = torch.tensor(pad_batch([e.step_index() for e in rows], NOT_A_STEP)[0], device=self.device)
        logits = self.model.tag_logits(
            input_ids=torch.tensor(ids, device=self.device),
            attention_mask=torch.tensor(mask, device=self.device),
            tag_mask=tag_mask.to(self.device),
            step_index=step_index,
            prefix=prefix,
        )  # (tags in the batch,), row by row
        probs = torch.sigmoid(logits.float()).cpu().split([len(e.tag_positions) for e in rows])
        if self.spec.step_score == "prefix":
            probs = [torch.cumprod(step_probs.double(), 0) for step_probs in probs]
        return [step_probs.tolist() for step_probs in probs]

    def score_candidates(self, problems: Sequence[Problem], candidates: Sequence[Candidate]) -> list[StepScores]:
        """Score ``Candidate`` objects (their ``.steps``), matching each to its problem by ``source_id``."""
        return score_candidate_objects(self, problems, candidates)

    def save_pretrained(self, directory) -> None:
        """Save base + tokenizer (``save_pretrained``), the head and ``bon_prm.json``; see ``bon_core.prm.io``."""
        from bon_core.prm.io import save_prm

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


def score_candidate_objects(scorer, problems: Sequence[Problem], candidates: Sequence[Candidate]) -> list[StepScores]:
    """Run ``scorer.score`` on ``Candidate`` objects, matching each to its problem by ``source_id``."""
    by_id = {p.source_id: p for p in problems}
    missing = sorted({c.problem_id for c in candidates if c.problem_id not in by_id})
    if missing:
        raise ValueError(f"candidates refer to unknown problem ids: {missing[:5]}")
    scores = scorer.score(
        [by_id[c.problem_id].question for c in candidates],
        [[step.text for step in c.steps] for c in candidates],
    )
    return [
        StepScores(problem_id=c.problem_id, sample_index=c.sample_index, scores=tuple(s))
        for c, s in zip(candidates, scores, strict=True)
    ]


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
