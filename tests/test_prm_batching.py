"""The batched step-scoring loop every PRM shares, on literal inputs: batches planned under the token budget, one
padded forward each, every row's scores read at its positions and returned in input order."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from bon_core.prm.batching import PaddedBatch, score_in_batches


@dataclass(frozen=True)
class Row:
    input_ids: tuple[int, ...]
    read_positions: tuple[int, ...]


ROWS = [Row((11, 12), (1,)), Row((21, 22, 23, 24, 25), (0, 2, 4)), Row((31, 32, 33), (1, 2))]


def read_ids(seen: list[PaddedBatch]):
    """A forward whose score at a read position is the token id there (so where it read is visible)."""

    def forward(batch: PaddedBatch) -> list[torch.Tensor]:
        seen.append(batch)
        return batch.split_rows(batch.input_ids[batch.read_mask].float())

    return forward


def test_scores_come_back_in_input_order_from_one_forward_per_batch():
    seen: list[PaddedBatch] = []
    scores = score_in_batches(ROWS, read_ids(seen), max_batch_tokens=6, pad_id=0, device="cpu")
    assert scores == [[12.0], [21.0, 23.0, 25.0], [32.0, 33.0]]
    # Longest first; 2 x 5 tokens would pass the budget of 6, so the 5-token row runs alone, then 2 x 3 = 6.
    assert [b.items for b in seen] == [(ROWS[1],), (ROWS[2], ROWS[0])]
    assert seen[1].input_ids.tolist() == [[31, 32, 33], [11, 12, 0]]
    assert seen[1].attention_mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert seen[1].read_mask.tolist() == [[False, True, True], [False, True, False]]


def test_lengths_replace_token_counts_in_planning():
    seen: list[PaddedBatch] = []
    scores = score_in_batches(ROWS, read_ids(seen), max_batch_tokens=6, pad_id=0, device="cpu", lengths=[1, 2, 1])
    assert scores == [[12.0], [21.0, 23.0, 25.0], [32.0, 33.0]]
    assert len(seen) == 1 and seen[0].input_ids.shape == (3, 5)  # 3 x 2 planned tokens: one batch, padded to 5


def test_a_forward_that_returns_the_wrong_count_is_an_error():
    def short(batch: PaddedBatch) -> list[torch.Tensor]:
        return [torch.zeros(1) for _ in batch.items]

    with pytest.raises(ValueError, match="input 1 has 3 steps but got 1 scores"):
        score_in_batches(ROWS, short, max_batch_tokens=100, pad_id=0, device="cpu")
    with pytest.raises(ValueError, match="scores for 1 rows of a batch of 3"):
        score_in_batches(ROWS, lambda batch: [torch.zeros(1)], max_batch_tokens=100, pad_id=0, device="cpu")
    assert score_in_batches([], short, max_batch_tokens=100, pad_id=0, device="cpu") == []
