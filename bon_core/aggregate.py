"""Aggregation of a candidate's per-step scores into one candidate score, and the composite score.

Aggregators are pure functions registered by name (as in search-and-learn's ``aggregate_scores``):

>>> aggregate([0.9, 0.5, 0.8], "min")
0.5
>>> round(aggregate([0.9, 0.5, 0.8], "prod"), 2)
0.36

A candidate without steps has no evidence of being right, so every aggregator returns ``0.0`` for an empty
sequence (the lowest PRM probability; ``sum`` of nothing is ``0.0`` anyway). The design document's composite
score, ``w_prm·PRM + w_conf·confidence + w_cons·consistency``, is computed over a whole pool by
:func:`composite_scores` because consistency compares a candidate with the other samples of its problem.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from bon_core.types import Candidate

Normalizer = Callable[[str | None], str | None]
Aggregator = Callable[[Sequence[float]], float]

EMPTY_STEPS_SCORE = 0.0


def default_normalize(answer: str | None) -> str | None:
    """Task-agnostic answer normalisation for voting: strip and lower-case; empty or ``None`` -> ``None``."""
    if answer is None:
        return None
    text = answer.strip().lower()
    return text or None


AGGREGATORS: dict[str, Aggregator] = {
    "min": min,
    "prod": math.prod,
    "last": lambda scores: scores[-1],
    "mean": lambda scores: math.fsum(scores) / len(scores),
    "sum": math.fsum,
}


def aggregate(step_scores: Sequence[float], how: str) -> float:
    """Aggregate one candidate's step scores with the aggregator registered as ``how``.

    ``how`` is one of ``min``, ``prod``, ``last``, ``mean``, ``sum``. An empty ``step_scores`` gives
    ``0.0`` (see the module docstring); a non-finite score is a ``ValueError``.
    """
    if how not in AGGREGATORS:
        raise ValueError(f"unknown aggregation {how!r}; known: {', '.join(AGGREGATORS)}")
    scores = [float(s) for s in step_scores]
    if any(not math.isfinite(s) for s in scores):
        raise ValueError(f"step_scores must be finite numbers, got {scores}")
    if not scores:
        return EMPTY_STEPS_SCORE
    return float(AGGREGATORS[how](scores))


def confidence(candidate: Candidate) -> float:
    """The policy's own confidence in a candidate: ``exp(mean_logprob)`` in (0, 1]; ``0.0`` when unknown."""
    if candidate.mean_logprob is None:
        return 0.0
    return math.exp(min(candidate.mean_logprob, 0.0))


def consistency_scores(candidates: Sequence[Candidate], normalize: Normalizer | None = None) -> tuple[float, ...]:
    """For each candidate, the fraction of the OTHER candidates whose normalised final answer equals its own.

    A candidate without an answer agrees with nobody (0.0); a pool of one candidate gives 0.0.
    """
    norm = normalize or default_normalize
    answers = [norm(c.answer) for c in candidates]
    counts = Counter(a for a in answers if a is not None)
    others = len(candidates) - 1
    if others <= 0:
        return tuple(0.0 for _ in candidates)
    return tuple(0.0 if a is None else (counts[a] - 1) / others for a in answers)


def composite_scores(
    candidates: Sequence[Candidate],
    prm_scores: Sequence[float],
    w_prm: float = 1.0,
    w_conf: float = 1.0,
    w_cons: float = 1.0,
    normalize: Normalizer | None = None,
) -> tuple[float, ...]:
    """The design document's composite score of every candidate of one problem's pool.

    ``w_prm·prm + w_conf·confidence + w_cons·consistency`` where ``prm`` is the aggregated PRM score,
    confidence is ``exp(mean_logprob)`` (:func:`confidence`) and consistency the fraction of the other samples
    sharing the normalised final answer (:func:`consistency_scores`).
    """
    if len(prm_scores) != len(candidates):
        raise ValueError(f"prm_scores has {len(prm_scores)} entries for {len(candidates)} candidates")
    for name, w in (("w_prm", w_prm), ("w_conf", w_conf), ("w_cons", w_cons)):
        if not math.isfinite(w):
            raise ValueError(f"{name} must be a finite number, got {w}")
    cons = consistency_scores(candidates, normalize)
    return tuple(
        w_prm * float(p) + w_conf * confidence(c) + w_cons * k
        for c, p, k in zip(candidates, prm_scores, cons, strict=True)
    )


__all__ = [
    "AGGREGATORS",
    "EMPTY_STEPS_SCORE",
    "Normalizer",
    "aggregate",
    "composite_scores",
    "confidence",
    "consistency_scores",
    "default_normalize",
]
