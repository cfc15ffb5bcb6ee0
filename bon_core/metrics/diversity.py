"""Diversity of a candidate pool (the design document's first pitfall: samples that are all nearly identical).

* distinct final answers among the first N samples (sampling order), for each N;
* duplicate-candidate rate: the share of candidates whose whitespace-normalised text repeats an earlier one;
* mean pairwise step overlap: the Jaccard index of the candidates' sets of (stripped) step texts, averaged over
  all pairs (two candidates without steps count as identical, 1.0).

A temperature sweep reports these next to accuracy to show the diversity–quality trade-off.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from bon_core.aggregate import Normalizer, default_normalize
from bon_core.types import Candidate


@dataclass(frozen=True)
class Diversity:
    """Diversity figures of one pool of ``n`` candidates."""

    n: int
    distinct_answers: int
    duplicate_rate: float
    mean_step_jaccard: float


def distinct_answers_by_n(
    candidates: Sequence[Candidate], ns: Sequence[int] | None = None, normalize: Normalizer | None = None
) -> dict[int, int]:
    """Number of distinct normalised final answers among the first N samples for each N (default 1..n)."""
    norm = normalize or default_normalize
    ordered = sorted(candidates, key=lambda c: c.sample_index)
    ns = range(1, len(ordered) + 1) if ns is None else ns
    out = {}
    for n in ns:
        if not 1 <= n <= len(ordered):
            raise ValueError(f"N={n} outside 1..{len(ordered)}")
        out[n] = len({a for a in (norm(c.answer) for c in ordered[:n]) if a is not None})
    return out


def duplicate_rate(candidates: Sequence[Candidate]) -> float:
    """Share of candidates whose whitespace-normalised text equals an earlier candidate's."""
    if not candidates:
        return 0.0
    texts = [" ".join(c.text.split()) for c in candidates]
    return (len(texts) - len(set(texts))) / len(texts)


def step_jaccard(a: Candidate, b: Candidate) -> float:
    """Jaccard index of two candidates' sets of stripped step texts (1.0 when both have no steps)."""
    sa = {s.text.strip() for s in a.steps}
    sb = {s.text.strip() for s in b.steps}
    union = sa | sb
    return 1.0 if not union else len(sa & sb) / len(union)


def mean_pairwise_step_jaccard(candidates: Sequence[Candidate]) -> float:
    """Mean :func:`step_jaccard` over all pairs (0.0 for fewer than two candidates)."""
    pairs = list(itertools.combinations(candidates, 2))
    return sum(step_jaccard(a, b) for a, b in pairs) / len(pairs) if pairs else 0.0


def pool_diversity(candidates: Sequence[Candidate], normalize: Normalizer | None = None) -> Diversity:
    """All diversity figures of one pool."""
    norm = normalize or default_normalize
    return Diversity(
        n=len(candidates),
        distinct_answers=len({a for a in (norm(c.answer) for c in candidates) if a is not None}),
        duplicate_rate=duplicate_rate(candidates),
        mean_step_jaccard=mean_pairwise_step_jaccard(candidates),
    )
