"""The step-scorer interface: every scorer in bon — our PRM (and ORM), a published PRM checkpoint, a baseline —
gives one score per step of every candidate.

>>> isinstance(load_prm("runs/prm"), Scorer)
True
>>> scorer.score(["2+3*4"], [["3*4=12", "2+12=14"]])   # one list per candidate, one score per step
[[0.91, 0.87]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bon_core.types import Candidate, Problem, StepScores


@runtime_checkable
class Scorer(Protocol):
    """Scores the steps of candidates: ``problems[i]`` is the problem of ``candidates[i]`` (its list of steps)."""

    def score(self, problems: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[list[float]]:
        """One score per step of every candidate, in input order."""
        ...

    def score_candidates(self, problems: Sequence[Problem], candidates: Sequence[Candidate]) -> list[StepScores]:
        """Score ``Candidate`` objects (their ``.steps``), matching each to its problem by ``source_id``."""
        ...


def score_candidate_objects(
    scorer: Scorer, problems: Sequence[Problem], candidates: Sequence[Candidate]
) -> list[StepScores]:
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


class CandidateScoringMixin:
    """Gives a class with ``score(problems, candidates)`` the ``score_candidates`` of :class:`Scorer`."""

    def score_candidates(self, problems: Sequence[Problem], candidates: Sequence[Candidate]) -> list[StepScores]:
        """Score ``Candidate`` objects (their ``.steps``), matching each to its problem by ``source_id``."""
        return score_candidate_objects(self, problems, candidates)
