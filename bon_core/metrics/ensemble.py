"""Scorer ensembles (the design document's remedy against reward hacking of a single PRM).

Several scorers' stored step scores over the same candidates are combined, step by step, into one new score
set that is then aggregated, selected with and evaluated like any other scorer:

* ``mean``: the mean of the scorers' scores of the step;
* ``min``: the most pessimistic scorer's score;
* ``rank``: each scorer's step scores are first replaced by their normalised rank over ALL steps it scored
  ((average rank − 1) / (count − 1), so in [0, 1]; 0.5 if it scored one step), then averaged. This removes
  differences of scale and calibration between scorers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bon_core.types import ScorerInfo, StepScores

ENSEMBLE_METHODS = ("mean", "min", "rank")


def _aligned(score_sets: Sequence[Sequence[StepScores]]) -> list[list[StepScores]]:
    """Each score set reordered to the first set's candidate order, checking they cover the same steps."""
    first = list(score_sets[0])
    keys = [(s.problem_id, s.sample_index) for s in first]
    if len(set(keys)) != len(keys):
        raise ValueError("score set 0 has duplicate (problem_id, sample_index) entries")
    aligned = [first]
    for j, other in enumerate(score_sets[1:], start=1):
        by_key = {(s.problem_id, s.sample_index): s for s in other}
        if set(by_key) != set(keys) or len(by_key) != len(other):
            raise ValueError(f"score set {j} does not cover exactly the candidates of score set 0")
        row = [by_key[k] for k in keys]
        for a, b in zip(first, row, strict=True):
            if len(a.scores) != len(b.scores):
                raise ValueError(
                    f"candidate {a.problem_id}#{a.sample_index}: score set 0 has {len(a.scores)} "
                    f"steps, score set {j} has {len(b.scores)}"
                )
        aligned.append(row)
    return aligned


def _normalised_ranks(flat: np.ndarray) -> np.ndarray:
    if flat.size <= 1:
        return np.full(flat.shape, 0.5)
    from scipy.stats import rankdata  # imported here to keep ``import bon_core.metrics`` fast

    return (rankdata(flat, method="average") - 1.0) / (flat.size - 1)


def combine_step_scores(score_sets: Sequence[Sequence[StepScores]], how: str = "mean") -> tuple[StepScores, ...]:
    """Combine several scorers' step scores of the same candidates with ``how`` (``mean``, ``min``, ``rank``).

    Output follows the first set's candidate order. Sets must cover the same candidates with the same step
    counts (matched by problem_id and sample_index).
    """
    if how not in ENSEMBLE_METHODS:
        raise ValueError(f"unknown ensemble method {how!r}; known: {', '.join(ENSEMBLE_METHODS)}")
    if not score_sets:
        raise ValueError("combine_step_scores needs at least one score set")
    aligned = _aligned(score_sets)
    lengths = [len(s.scores) for s in aligned[0]]
    # matrix: (num_scorers, total_steps) with every candidate's steps laid end to end
    matrix = np.array([[x for s in row for x in s.scores] for row in aligned], dtype=float).reshape(
        len(aligned), sum(lengths)
    )
    if how == "rank":
        matrix = np.stack([_normalised_ranks(r) for r in matrix])
    combined = matrix.min(axis=0) if how == "min" else matrix.mean(axis=0)
    out, start = [], 0
    for s, length in zip(aligned[0], lengths, strict=True):
        out.append(StepScores(s.problem_id, s.sample_index, tuple(float(x) for x in combined[start : start + length])))
        start += length
    return tuple(out)


def ensemble_info(scorers: Sequence[ScorerInfo], how: str) -> ScorerInfo:
    """The ScorerInfo of an ensemble: its members' identities recorded in the config so it can be rebuilt."""
    members: list[Mapping[str, str]] = [{"kind": s.kind, "name": s.name, "version": s.version} for s in scorers]
    name = f"{how}(" + ",".join(s.name for s in scorers) + ")"
    return ScorerInfo(kind="ensemble", name=name, version="", config={"how": how, "members": members})
