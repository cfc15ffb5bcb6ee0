"""Input building for published PRM formats: token ids plus the positions where each step's score is read.

One builder per ``PRMFormat.layout``; each reproduces its authors' reference code, but for all steps in one
sequence. Every builder checks that it found exactly one read position per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bon_core.prm.published import PRMFormat


@dataclass(frozen=True)
class FormattedInput:
    """Token ids of one candidate and the position at which each step is scored."""

    input_ids: tuple[int, ...]
    read_positions: tuple[int, ...]


def token_id(tokenizer, text: str) -> int:
    """The id of ``text``'s last token (the authors' ``tokenizer.encode(tag)[-1]``)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    if not ids:
        raise ValueError(f"the tokenizer turns {text!r} into no token")
    return ids[-1]


def _chat_ids(tokenizer, messages: list[dict[str, str]]) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=False)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return list(ids)


def _tag_positions(ids: Sequence[int], tag: int) -> tuple[int, ...]:
    return tuple(i for i, token in enumerate(ids) if token == tag)


def build_inputs(tokenizer, fmt: PRMFormat, problem: str, steps: Sequence[str], name: str) -> FormattedInput:
    """Token ids and read positions of one candidate in format ``fmt``; ``ValueError`` naming ``name`` when the
    positions found do not match the steps or the input is longer than ``fmt.max_length``."""
    if not steps:
        raise ValueError(f"{name} has no steps; a PRM needs at least one step to score")
    if fmt.layout == "chat_tags":
        messages = [{"role": "user", "content": problem}, {"role": "assistant", "content": _tagged(steps, fmt, "")}]
        if fmt.system_prompt is not None:
            messages.insert(0, {"role": "system", "content": fmt.system_prompt})
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
        ids = tokenizer.encode(text, add_special_tokens=fmt.add_special_tokens)
        positions = _tag_positions(ids, token_id(tokenizer, fmt.step_tag))
    elif fmt.layout == "text_tags":
        text = problem + fmt.question_joiner + _tagged(steps, fmt, "\n")
        ids = tokenizer.encode(text, add_special_tokens=fmt.add_special_tokens)
        positions = _tag_positions(ids, token_id(tokenizer, fmt.step_tag))
    elif fmt.layout == "step_pieces":
        ids, positions = _step_pieces(tokenizer, fmt, problem, steps)
    else:
        ids, positions = _chat_turns(tokenizer, fmt, problem, steps)
    if len(positions) != len(steps):
        raise ValueError(
            f"{name} has {len(steps)} steps but its {fmt.name} input has {len(positions)} score positions "
            f"(does a step contain the step tag {fmt.step_tag!r}?)"
        )
    if len(ids) > fmt.max_length:
        raise ValueError(f"{name} is {len(ids)} tokens long in format {fmt.name!r}, over max_length={fmt.max_length}")
    return FormattedInput(input_ids=tuple(ids), read_positions=tuple(positions))


def _tagged(steps: Sequence[str], fmt: PRMFormat, joiner: str) -> str:
    """Steps each followed by the tag (Qwen: ``s1<extra_0>s2<extra_0>``; Math-Shepherd: ``s1 ки\\ns2 ки``)."""
    spacer = " " if fmt.layout == "text_tags" else ""
    return joiner.join(f"{step}{spacer}{fmt.step_tag}" for step in steps)


def _step_pieces(tokenizer, fmt: PRMFormat, problem: str, steps: Sequence[str]) -> tuple[list[int], list[int]]:
    """Skywork / TRL: prompt ids, then ``ids(step) + ids(separator)`` per step; read at each step's last token."""
    ids: list[int] = []
    if fmt.prepend_bos and tokenizer.bos_token_id is not None:
        ids.append(tokenizer.bos_token_id)
    ids += tokenizer.encode(problem + fmt.question_joiner, add_special_tokens=False)
    separator = tokenizer.encode(fmt.step_tag, add_special_tokens=False)
    positions = []
    for step in steps:
        ids += tokenizer.encode(step, add_special_tokens=False) + separator
        positions.append(len(ids) - 1)
    return ids, positions


def _chat_turns(tokenizer, fmt: PRMFormat, problem: str, steps: Sequence[str]) -> tuple[list[int], list[int]]:
    """RLHFlow: user turns carry the steps, each assistant turn is ``good_token``. The authors run one forward per
    step and read the logits predicting the last assistant answer; with causal attention the same logits sit in one
    forward over the whole conversation, one position before each answer slot."""
    good = token_id(tokenizer, fmt.good_token)
    messages: list[dict[str, str]] = []
    prefix_lengths = []
    for k, step in enumerate(steps):
        content = problem + fmt.question_joiner + step if k == 0 else step
        messages += [{"role": "user", "content": content}, {"role": "assistant", "content": fmt.good_token}]
        prefix_lengths.append(len(_chat_ids(tokenizer, messages)))
    ids = _chat_ids(tokenizer, messages)
    slots = [i for i, token in enumerate(ids) if token == good]
    if not slots:
        return ids, []
    trailing = len(ids) - 1 - slots[-1]  # template tokens after the last answer (e.g. end-of-turn)
    positions = [length - 1 - trailing - 1 for length in prefix_lengths]
    if any(ids[p + 1] != good for p in positions):
        raise ValueError(f"format {fmt.name!r}: the chat template does not put {fmt.good_token!r} where expected")
    return ids, positions
