"""Which scorer and aggregation a selection reads, decided from the registries, never from lists of names.

An evaluation is given score sets: one scorer's candidate scores under one aggregation each. Every curve that
reads scores (:func:`bon_core.metrics.curve_uses_scorer`) is drawn once per score set; every selection strategy
applied at full N reads only the *primary* score set (:func:`primary_score_set`), and only when
``STRATEGIES[name].uses_scorer(params)`` says it reads a scorer at all (:func:`reads_scorer`). Aggregation names
are those of :data:`bon_core.aggregate.AGGREGATORS`; a scorer kind's natural aggregation is
:func:`natural_aggregation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bon_core.select import STRATEGIES

ScoreKey = tuple[str, int]  # (problem source id, sample index)

DEFAULT_AGGREGATION = "min"  # a PRM's: a solution is as good as its weakest step
# Each scorer kind's natural aggregation: an ORM scores the whole solution at its last step. For prefix scores
# (the product of the step verdicts so far) both give the same number.
KIND_AGGREGATION: Mapping[str, str] = {"prm": DEFAULT_AGGREGATION, "orm": "last"}


@dataclass(frozen=True)
class ScoreSet:
    """A scorer's candidate scores under one aggregation, keyed by (source id, sample index)."""

    scorer: str
    aggregation: str
    scores: Mapping[ScoreKey, float]

    @property
    def label(self) -> str:
        """``scorer:aggregation``, the name a caller picks the primary score set by."""
        return score_set_label(self.scorer, self.aggregation)


def score_set_label(scorer: str, aggregation: str) -> str:
    """The label of a scorer's scores under one aggregation: ``scorer:aggregation``."""
    return f"{scorer}:{aggregation}"


def natural_aggregation(kind: str) -> str:
    """The aggregation a scorer of ``kind`` is read with by default: ``last`` for an ORM, ``min`` otherwise."""
    return KIND_AGGREGATION.get(kind, DEFAULT_AGGREGATION)


def primary_label(scorer_aggregations: Mapping[str, Sequence[str]]) -> str | None:
    """The primary score set's label for ``scorer label -> aggregations``: the first scorer under its first
    aggregation (:data:`DEFAULT_AGGREGATION` when it names none); ``None`` without scorers."""
    first = next(iter(scorer_aggregations), None)
    if first is None:
        return None
    return score_set_label(first, next(iter(scorer_aggregations[first]), DEFAULT_AGGREGATION))


def primary_score_set(score_sets: Sequence[ScoreSet], label: str | None = None) -> ScoreSet | None:
    """The score set the selection strategies read: the one labelled ``label`` (``scorer:aggregation``), else the
    first; ``None`` when there are none."""
    return next((s for s in score_sets if s.label == label), score_sets[0] if score_sets else None)


def reads_scorer(strategy: str, params: Mapping[str, Any] | None = None) -> bool:
    """Whether ``strategy`` with ``params`` reads a scorer (``STRATEGIES[strategy].uses_scorer``). A name that is
    not registered counts as reading one, so that it reaches :func:`bon_core.select.select`, which names the
    known strategies."""
    return STRATEGIES[strategy].uses_scorer(params) if strategy in STRATEGIES else True


__all__ = [
    "DEFAULT_AGGREGATION",
    "KIND_AGGREGATION",
    "ScoreKey",
    "ScoreSet",
    "natural_aggregation",
    "primary_label",
    "primary_score_set",
    "reads_scorer",
    "score_set_label",
]
