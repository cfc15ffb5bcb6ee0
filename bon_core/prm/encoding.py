"""Encoding candidates for our own PRM: problem + steps joined by a step tag, tokenized piece by piece.

The input of one candidate is ``[special prefix] prompt(problem) step_1 TAG step_2 TAG ... step_n TAG [special
suffix]``. Pieces are tokenized separately and concatenated, so the tag positions are known exactly and the ids of
a step prefix are a prefix of the ids of the whole candidate (which makes one-pass scoring of a causal PRM equal to
scoring every prefix on its own).

The tag is a special token added to the tokenizer, or (``special_tag=False``) ordinary text of exactly one token,
such as the newline a policy writes between steps: a PRM initialised from that policy then reads exactly the text
the policy wrote.

>>> enc = encode_candidate(tokenizer, "2+3", ["2+3=5"], StepFormat(step_tag="<step>"), tag_id=5, max_length=64)
>>> enc.tag_positions  # one position per step
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_STEP_TAG = "<step>"
DEFAULT_PROMPT_TEMPLATE = "{problem}\n"


@dataclass(frozen=True)
class StepFormat:
    """How a problem and its steps become text: ``prompt_template`` (with ``{problem}``), the step tag (a special
    token added to the tokenizer) and the text put between a step and its tag."""

    step_tag: str = DEFAULT_STEP_TAG
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    step_prefix: str = " "
    special_tag: bool = True  # False: the tag is ordinary text that tokenizes to one token (e.g. "\n")

    def __post_init__(self) -> None:
        if not self.step_tag:
            raise ValueError("step_tag must be a non-empty string")
        if "{problem}" not in self.prompt_template:
            raise ValueError(f"prompt_template must contain '{{problem}}', got {self.prompt_template!r}")


@dataclass(frozen=True)
class EncodedCandidate:
    """Token ids of one candidate, the positions of its step tags (one per step) and where its first step starts."""

    input_ids: tuple[int, ...]
    tag_positions: tuple[int, ...]
    body_start: int = 0

    @property
    def read_positions(self) -> tuple[int, ...]:
        """Where the step scores are read (``batching.ScoredInput``): the step tags."""
        return self.tag_positions

    def step_index(self) -> list[int]:
        """The step each token belongs to (its text and its tag), ``-1`` for the prompt and special tokens."""
        index = [-1] * len(self.input_ids)
        start = self.body_start
        for step, tag in enumerate(self.tag_positions):
            index[start : tag + 1] = [step] * (tag + 1 - start)
            start = tag + 1
        return index


def special_affixes(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a text (``[CLS]``/``[SEP]`` for BERT, none for
    GPT-2), found by tokenizing a probe with and without special tokens."""
    probe = "a"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain) :])
    return [], []


def encode_candidate(
    tokenizer,
    problem: str,
    steps: Sequence[str],
    fmt: StepFormat,
    tag_id: int,
    max_length: int,
    affixes: tuple[list[int], list[int]] | None = None,
    name: str = "candidate",
) -> EncodedCandidate:
    """Tokenize one candidate, left-truncating the problem when the whole does not fit in ``max_length``.

    Steps and tags are never dropped: if the steps alone do not fit, or the text produces an extra tag (a special
    tag anywhere, an ordinary tag inside a step), this raises ``ValueError`` naming ``name``.
    """
    return encode_candidates(tokenizer, [problem], [steps], fmt, tag_id, max_length, affixes, names=[name])[0]


def encode_candidates(
    tokenizer,
    problems: Sequence[str],
    candidates: Sequence[Sequence[str]],
    fmt: StepFormat,
    tag_id: int,
    max_length: int,
    affixes: tuple[list[int], list[int]] | None = None,
    names: Sequence[str] | None = None,
) -> list[EncodedCandidate]:
    """``encode_candidate`` for every ``(problems[i], candidates[i])`` (named ``names[i]``, default ``candidate
    {i}``), with every distinct prompt and step text tokenized in one tokenizer call: a piece's ids do not depend
    on the other pieces of the call, and one call over the whole set costs a fraction of one call per piece."""
    names = names if names is not None else [f"candidate {i}" for i in range(len(candidates))]
    for name, steps in zip(names, candidates, strict=True):
        if not steps:
            raise ValueError(f"{name} has no steps; a PRM needs at least one step to score")
    prompts = [fmt.prompt_template.format(problem=problem) for problem in problems]
    texts = list(dict.fromkeys([*prompts, *(fmt.step_prefix + step for steps in candidates for step in steps)]))
    ids_of = dict(zip(texts, tokenizer(texts, add_special_tokens=False)["input_ids"], strict=True)) if texts else {}
    affixes = affixes if affixes is not None else special_affixes(tokenizer)
    return [
        _assemble(
            ids_of[prompt], [ids_of[fmt.step_prefix + step] for step in steps], fmt, tag_id, max_length, affixes, name
        )  # fmt: skip
        for prompt, steps, name in zip(prompts, candidates, names, strict=True)
    ]


def _assemble(
    prompt_ids: Sequence[int],
    step_ids: Sequence[Sequence[int]],
    fmt: StepFormat,
    tag_id: int,
    max_length: int,
    affixes: tuple[list[int], list[int]],
    name: str,
) -> EncodedCandidate:
    """One candidate's input from its tokenized prompt and steps (``encode_candidate``'s rules)."""
    prefix, suffix = affixes
    body: list[int] = []
    body_tags: list[int] = []
    for ids in step_ids:
        body += ids
        body_tags.append(len(body))
        body.append(tag_id)
    room = max_length - len(prefix) - len(suffix) - len(body)
    if room < 0:
        raise ValueError(
            f"{name}: its {len(step_ids)} steps take {len(body)} tokens, more than max_length={max_length} allows; "
            "raise max_length (step tags are never truncated)"
        )
    if len(prompt_ids) > room:
        prompt_ids = prompt_ids[len(prompt_ids) - room :]  # keep the end of the problem, closest to the steps
    ids = prefix + list(prompt_ids) + body + suffix
    found = (ids if fmt.special_tag else body).count(tag_id)
    if found != len(step_ids):
        where = "a step or the problem" if fmt.special_tag else "a step"
        raise ValueError(
            f"{name} has {len(step_ids)} steps but its input holds {found} step tags {fmt.step_tag!r} "
            f"(does {where} contain the tag text?)"
        )
    body_start = len(prefix) + len(prompt_ids)
    positions = tuple(body_start + i for i in body_tags)
    return EncodedCandidate(input_ids=tuple(ids), tag_positions=positions, body_start=body_start)
