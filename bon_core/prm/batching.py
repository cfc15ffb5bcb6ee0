"""Batched step scoring shared by every PRM: inputs sorted by length into right-padded batches that fit a token
budget, one forward per batch, each row's scores read at its own positions and put back in input order. A scorer
supplies only its forward.

>>> score_in_batches(encoded, forward, max_batch_tokens=4096, pad_id=0, device="cpu")
[[0.93, 0.41], [0.77]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import torch


class ScoredInput(Protocol):
    """One candidate's token ids and the positions at which its step scores are read, one per step."""

    @property
    def input_ids(self) -> tuple[int, ...]: ...

    @property
    def read_positions(self) -> tuple[int, ...]: ...


InputT = TypeVar("InputT", bound=ScoredInput)


@dataclass(frozen=True)
class PaddedBatch(Generic[InputT]):
    """The inputs of one forward, longest first, right-padded to the longest."""

    items: tuple[InputT, ...]
    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T): 1 on real tokens, 0 on padding
    read_mask: torch.Tensor  # (B, T) bool: True at every row's read positions

    def split_rows(self, scores: torch.Tensor) -> list[torch.Tensor]:
        """``scores`` at every read position, row by row (``(N,)``, as ``x[read_mask]`` orders them), cut into
        one tensor per row."""
        return list(scores.split([len(item.read_positions) for item in self.items]))


def plan_batches(lengths: Sequence[int], max_batch_tokens: int) -> list[list[int]]:
    """Group item indices into batches, longest first, so that ``len(batch) * longest_in_batch`` (the padded size)
    stays within ``max_batch_tokens``; an item longer than the budget gets a batch of its own."""
    if max_batch_tokens < 1:
        raise ValueError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        if current and (len(current) + 1) * longest > max_batch_tokens:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[list[list[int]], list[list[int]]]:
    """Right-pad ``sequences`` to the same length; returns ``(input_ids, attention_mask)``."""
    width = max(len(seq) for seq in sequences)
    ids = [list(seq) + [pad_id] * (width - len(seq)) for seq in sequences]
    mask = [[1] * len(seq) + [0] * (width - len(seq)) for seq in sequences]
    return ids, mask


def score_in_batches(
    inputs: Sequence[InputT],
    forward: Callable[[PaddedBatch[InputT]], Sequence[torch.Tensor]],
    max_batch_tokens: int,
    pad_id: int,
    device: torch.device | str,
    lengths: Sequence[int] | None = None,
) -> list[list[float]]:
    """The step scores of every input, in input order, from one ``forward`` per batch.

    ``plan_batches`` groups the inputs by ``lengths`` (default: their token counts; a scorer that runs a shared
    prompt once passes the tokens after it) under ``max_batch_tokens``; each batch is padded with ``pad_id`` and put
    on ``device``. ``forward`` returns one tensor of scores per row (``PaddedBatch.split_rows``); a row whose count
    differs from its read positions raises ``ValueError``.
    """
    results: list[list[float]] = [[] for _ in inputs]
    planned = [len(x.input_ids) for x in inputs] if lengths is None else lengths
    for batch in plan_batches(planned, max_batch_tokens):
        items = tuple(inputs[i] for i in batch)
        ids, mask = pad_batch([x.input_ids for x in items], pad_id)
        read_mask = torch.zeros(len(ids), len(ids[0]), dtype=torch.bool)
        for row, x in enumerate(items):
            read_mask[row, list(x.read_positions)] = True
        padded = PaddedBatch(
            items,
            torch.tensor(ids, device=device),
            torch.tensor(mask, device=device),
            read_mask.to(device),
        )
        row_scores = forward(padded)
        if len(row_scores) != len(items):
            raise ValueError(f"the forward returned scores for {len(row_scores)} rows of a batch of {len(items)}")
        for index, item, scores in zip(batch, items, row_scores, strict=True):
            if len(scores) != len(item.read_positions):
                raise ValueError(f"input {index} has {len(item.read_positions)} steps but got {len(scores)} scores")
            results[index] = scores.tolist()
    return results
