"""Slices of an evaluation: by difficulty (a metadata key), per-strategy Selection summaries, and how often a
strategy selects a "right answer, wrong process" candidate (correct final answer, some step labelled incorrect).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bon_core.metrics.curves import Pool
from bon_core.metrics.stats import DEFAULT_CI, ci_label, mean_ci
from bon_core.types import Candidate, MetricPoint, Problem, Selection


def split_by_metadata(pools: Sequence[Pool], problems: Sequence[Problem], key: str) -> dict[str, list[Pool]]:
    """Group pools by ``str(problem.metadata[key])`` (e.g. ``"difficulty"``); problems without it go to ``"?"``.

    Pools are matched to problems by ``problem_id == problem.source_id``; a pool without a problem is an error.
    Run :func:`bon_core.metrics.curve` on each group to get per-slice curves.
    """
    by_id = {p.source_id: p for p in problems}
    groups: dict[str, list[Pool]] = {}
    for pool in pools:
        if pool.problem_id not in by_id:
            raise ValueError(f"pool {pool.problem_id!r} has no matching problem (by source_id)")
        value: Any = by_id[pool.problem_id].metadata.get(key, "?")
        groups.setdefault(str(value), []).append(pool)
    return dict(sorted(groups.items()))


def selection_point(
    selections: Sequence[Selection],
    *,
    scorer: str = "",
    aggregation: str = "",
    scorer_tokens_per_call: float = 0.0,
    ci: str = DEFAULT_CI,
) -> MetricPoint:
    """Accuracy of one strategy's Selections over problems, with its mean compute (tokens, scorer calls).

    ``n`` is the largest pool size; ``policy_tokens`` is the mean ``tokens_used``; ``scorer_tokens`` is
    ``scorer_tokens_per_call`` × mean ``scorer_calls``. A Selection with ``correct=None`` counts as wrong.
    """
    if not selections:
        raise ValueError("selection_point needs at least one Selection")
    strategies = {s.strategy for s in selections}
    if len(strategies) != 1:
        raise ValueError(f"selection_point takes one strategy's Selections; got {sorted(strategies)}")
    m = mean_ci([1.0 if s.correct else 0.0 for s in selections], ci)
    count = len(selections)
    return MetricPoint(
        metric="accuracy",
        n=max(s.n for s in selections),
        value=m.value,
        ci_low=m.low,
        ci_high=m.high,
        strategy=selections[0].strategy,
        scorer=scorer,
        aggregation=aggregation,
        policy_tokens=sum(s.tokens_used for s in selections) / count,
        scorer_tokens=scorer_tokens_per_call * sum(s.scorer_calls for s in selections) / count,
        method="observed selections",
        ci_method=ci_label(ci, m.count),
    )


def right_answer_wrong_process(candidate: Candidate) -> bool:
    """True when the final answer is correct but at least one step is labelled ``incorrect``."""
    return bool(candidate.correct) and any(s.label == "incorrect" for s in candidate.steps)


@dataclass(frozen=True)
class ProcessSliceRate:
    """How often a strategy's selected candidate had a right answer reached by a wrong process."""

    strategy: str
    rate: float  # over all selections with a chosen candidate
    rate_among_correct: float  # over the correct ones (nan if none were correct)
    count: int


def rawp_selection_rates(
    selections: Sequence[Selection], pools: Mapping[str, Sequence[Candidate]]
) -> dict[str, ProcessSliceRate]:
    """Per strategy, the share of selections that picked a "right answer, wrong process" candidate.

    ``pools`` maps problem_id to that problem's candidates (with step labels).
    """
    by_key = {(c.problem_id, c.sample_index): c for cands in pools.values() for c in cands}
    per: dict[str, list[Candidate]] = {}
    for s in selections:
        if s.sample_index is None:
            continue
        key = (s.problem_id, s.sample_index)
        if key not in by_key:
            raise ValueError(f"selection of {s.problem_id}#{s.sample_index} has no candidate in pools")
        per.setdefault(s.strategy, []).append(by_key[key])
    out = {}
    for strategy, chosen in sorted(per.items()):
        rawp = [right_answer_wrong_process(c) for c in chosen]
        correct = [c for c in chosen if c.correct]
        among = sum(right_answer_wrong_process(c) for c in correct) / len(correct) if correct else float("nan")
        out[strategy] = ProcessSliceRate(strategy, sum(rawp) / len(chosen), among, len(chosen))
    return out
