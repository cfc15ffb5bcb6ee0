"""Strategies that spend less than the whole pool: early stopping, adaptive N and cheap-scorer reranking.

Each records what it spent in the Selection: ``candidates_used`` (samples the policy had to generate),
``tokens_used`` (their policy tokens), ``scorer_calls`` (candidates the PRM scored) and ``scorer_tokens`` (what
the PRM read for them, prompt included), so accuracy can be plotted against compute.

``early_stop``'s threshold has no default: a constant does not transfer between scorers (the demo PRM never
scores above 0.64), so it is calibrated on validation pools with :func:`calibrate_threshold`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bon_core.aggregate import Normalizer
from bon_core.select.registry import build_selection, register, require_int, require_number
from bon_core.select.rules import pick_max, pick_vote
from bon_core.types import Candidate, Selection


def _sampling_order(candidates: Sequence[Candidate]) -> list[int]:
    return sorted(range(len(candidates)), key=lambda i: candidates[i].sample_index)


def calibrate_threshold(validation_pools: Iterable[Sequence[float]], quantile: float = 0.9) -> float:
    """The ``quantile`` of all candidate scores of the validation pools (one sequence of aggregated scores per
    validation problem, from the same scorer and aggregation as the pools it will be used on).

    Linear interpolation between order statistics (numpy's default ``method="linear"``). With ``quantile=0.9``
    about one validation candidate in ten clears the threshold, whatever the scorer's range.

    >>> calibrate_threshold([[0.1, 0.2], [0.3, 0.4, 0.5]], quantile=0.5)
    0.3
    """
    if isinstance(quantile, bool) or not isinstance(quantile, int | float) or not 0.0 <= quantile <= 1.0:
        raise ValueError(f"threshold quantile must be a number in [0, 1], got {quantile!r}")
    scores = [float(s) for pool in validation_pools for s in pool]
    if not scores:
        raise ValueError("cannot calibrate a threshold: the validation pools hold no candidate scores")
    if any(math.isnan(s) for s in scores):
        raise ValueError("cannot calibrate a threshold: the validation scores contain NaN")
    # numpy is imported here, not at the top, so the registry loads without it (``bon`` lists strategies at start).
    import numpy as np

    return float(np.quantile(scores, quantile))


def _check_threshold(params: Mapping[str, Any], n: int) -> None:
    if params["threshold"] is None:
        raise ValueError(
            "strategy 'early_stop' needs a 'threshold'; calibrate one on validation pools with "
            "bon_core.select.calibrate_threshold (a quantile of their candidate scores)"
        )
    require_number(params, "threshold")


@register("early_stop", defaults={"threshold": None}, check=_check_threshold)
def select_early_stop(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Walk the pool in sampling order and stop at the first candidate whose score is >= ``threshold``.

    If none clears it, all candidates were used and the best-scored one is returned (as ``max``). The scorer
    reads every candidate up to the stop. ``threshold`` is required (see :func:`calibrate_threshold`).
    """
    assert scores is not None
    order = _sampling_order(candidates)
    for used, pos in enumerate(order, start=1):
        if scores[pos] >= params["threshold"]:
            return build_selection(candidates, pos, "early_stop", params, used=used, scored=order[:used])
    pos = pick_max(candidates, scores, order)
    return build_selection(candidates, pos, "early_stop", params, used=len(order), scored=order)


ADAPTIVE_THEN = ("majority", "max", "weighted")


def _check_adaptive(params: Mapping[str, Any], n: int) -> None:
    require_int(params, "n0", low=1)
    agree = require_number(params, "agree")
    if not 0.0 <= agree <= 1.0:
        raise ValueError(f"parameter 'agree' must be in [0, 1], got {agree!r}")
    if params["n_max"] is not None:
        n_max = require_int(params, "n_max", low=1)
        if n_max < params["n0"]:
            raise ValueError(f"parameter 'n_max' ({n_max}) must be >= 'n0' ({params['n0']})")
    if params["then"] not in ADAPTIVE_THEN:
        raise ValueError(f"parameter 'then' must be one of {', '.join(ADAPTIVE_THEN)}; got {params['then']!r}")


def agreement(candidates: Sequence[Candidate], positions: Sequence[int], normalize: Normalizer) -> float:
    """Fraction of ``positions`` whose normalised answer is the most common one (no answer never agrees)."""
    counts = Counter(normalize(candidates[i].answer) for i in positions)
    counts.pop(None, None)
    return max(counts.values(), default=0) / len(positions) if positions else 0.0


@register(
    "adaptive_n",
    defaults={"n0": 4, "agree": 0.75, "n_max": None, "then": "majority"},
    needs_scores=lambda params: params["then"] != "majority",
    check=_check_adaptive,
)
def select_adaptive_n(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Choose N per problem from the agreement of the first ``n0`` samples.

    If at least a fraction ``agree`` of the first ``n0`` samples share one normalised answer the problem looks
    easy and N = n0; otherwise N = ``n_max`` (default: the whole pool). The ``then`` rule (majority, max or
    weighted) then picks among the first N samples; ``candidates_used`` records N. With ``then="majority"`` no
    scorer is read (ties as in ``majority``); otherwise the scorer reads the N samples.
    """
    order = _sampling_order(candidates)
    n_max = len(order) if params["n_max"] is None else min(params["n_max"], len(order))
    first = order[: params["n0"]]
    n_used = len(first) if agreement(candidates, first, normalize) >= params["agree"] else max(n_max, len(first))
    used = order[:n_used]
    if params["then"] == "max":
        assert scores is not None
        pos = pick_max(candidates, scores, used)
    else:
        weights = scores if params["then"] == "weighted" else None
        pos = pick_vote(candidates, scores, used, normalize, weights)
    scored = () if params["then"] == "majority" else used
    return build_selection(candidates, pos, "adaptive_n", params, used=n_used, scored=scored)


def _check_rerank(params: Mapping[str, Any], n: int) -> None:
    require_int(params, "k", low=1)
    cheap = params["cheap_scores"]
    if cheap is not None:
        if len(cheap) != n:
            raise ValueError(f"parameter 'cheap_scores' has {len(cheap)} entries for {n} candidates")
        if any(isinstance(s, bool) or not isinstance(s, int | float) or math.isnan(s) for s in cheap):
            raise ValueError("parameter 'cheap_scores' must hold numbers (no NaN)")


@register("rerank", defaults={"k": 4, "cheap_scores": None}, check=_check_rerank)
def select_rerank(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """A cheap scorer keeps the top ``k`` of N candidates; the PRM (``scores``) picks the best of those.

    ``cheap_scores`` (aligned with ``candidates``) defaults to each candidate's ``mean_logprob`` (missing ->
    lowest). Only ``min(k, N)`` candidates need the PRM: ``scorer_calls`` and ``scorer_tokens`` record them, so
    the PRM calls saved are ``n - scorer_calls``. The cheap scorer's own compute is not counted.
    """
    assert scores is not None
    cheap = params["cheap_scores"]
    if cheap is None:
        cheap = [-math.inf if c.mean_logprob is None else c.mean_logprob for c in candidates]
    ranked = sorted(range(len(candidates)), key=lambda i: (-cheap[i], candidates[i].sample_index))
    kept = ranked[: params["k"]]
    pos = pick_max(candidates, scores, kept)
    n = len(candidates)
    return build_selection(candidates, pos, "rerank", params, used=n, scored=kept)
