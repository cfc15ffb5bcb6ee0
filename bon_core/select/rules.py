"""Selection over a whole pool: max (Best-of-N), majority (self-consistency, no scorer), majority_tiebreak,
weighted vote, composite, random and oracle.

Tie-breaking is deterministic everywhere: a strategy that reads scores prefers the higher score, then the lowest
``sample_index``; ``majority`` reads no scores and breaks a tied vote by the lowest ``sample_index`` alone. The
picking helpers work on a list of positions so the budget strategies can apply them to part of a pool.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from bon_core.aggregate import Normalizer, composite_scores
from bon_core.select.registry import build_selection, register, require_int, require_number
from bon_core.types import Candidate, Selection


def pick_max(candidates: Sequence[Candidate], scores: Sequence[float], positions: Sequence[int]) -> int:
    """Position of the highest score among ``positions``; ties go to the lowest sample_index."""
    return min(positions, key=lambda i: (-scores[i], candidates[i].sample_index))


def pick_vote(
    candidates: Sequence[Candidate],
    scores: Sequence[float] | None,
    positions: Sequence[int],
    normalize: Normalizer,
    weights: Sequence[float] | None = None,
) -> int:
    """Position of the representative of the answer with the largest total weight among ``positions``.

    Each candidate with a (normalised) answer adds its weight (1 when ``weights`` is None) to its answer.
    Without scores (``scores=None``: self-consistency) a tied total goes to the answer seen at the lowest
    sample_index among ``positions``, and the representative is that answer's lowest-sample_index candidate.
    With scores, a tied total goes to the answer whose best candidate has the higher score, then to the answer
    seen at the lowest sample_index, and the representative is the answer's highest-scored candidate (lowest
    sample_index on ties). If no candidate has an answer, the result is :func:`pick_max` (or the lowest
    sample_index without scores).
    """
    groups: dict[str, list[int]] = {}
    for i in positions:
        key = normalize(candidates[i].answer)
        if key is not None:
            groups.setdefault(key, []).append(i)

    def best_of(members: Sequence[int]) -> int:
        if scores is None:
            return min(members, key=lambda i: candidates[i].sample_index)
        return pick_max(candidates, scores, members)

    if not groups:
        return best_of(positions)

    def rank(members: list[int]) -> tuple[float, float, int]:
        total = math.fsum(1.0 if weights is None else weights[i] for i in members)
        top = -math.inf if scores is None else max(scores[i] for i in members)
        return (-total, -top, min(candidates[i].sample_index for i in members))

    winner = min(groups.values(), key=rank)
    return best_of(winner)


def softmax(values: Sequence[float], temperature: float) -> list[float]:
    """Numerically stable softmax of ``values / temperature``."""
    top = max(values)
    exps = [math.exp((v - top) / temperature) for v in values]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _all(candidates: Sequence[Candidate]) -> list[int]:
    return list(range(len(candidates)))


@register("max")
def select_max(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Best-of-N: the candidate with the highest aggregated score."""
    assert scores is not None
    pos = pick_max(candidates, scores, _all(candidates))
    return build_selection(candidates, pos, "max", params, used=len(candidates), scored=_all(candidates))


@register("majority", needs_scores=False)
def select_majority(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Self-consistency: the most common normalised final answer; no scorer is read.

    A tied vote goes to the answer seen at the lowest sample_index, represented by its lowest-sample_index
    candidate (the rule of :func:`pick_vote` without scores, which the ``maj@k`` curve uses too).
    """
    pos = pick_vote(candidates, None, _all(candidates), normalize)
    return build_selection(candidates, pos, "majority", params, used=len(candidates), scored=())


@register("majority_tiebreak")
def select_majority_tiebreak(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Majority vote whose ties the scorer breaks: a tied vote goes to the answer with the higher best score
    (then the lowest sample_index), represented by its highest-scored candidate. Every candidate is scored."""
    assert scores is not None
    pos = pick_vote(candidates, scores, _all(candidates), normalize)
    return build_selection(candidates, pos, "majority_tiebreak", params, used=len(candidates), scored=_all(candidates))


def _check_temperature(params: Mapping[str, Any], n: int) -> None:
    if params["temperature"] is not None:
        require_number(params, "temperature", low=0.0, strict=True)


@register("weighted", defaults={"temperature": None}, check=_check_temperature)
def select_weighted(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Weighted majority vote: the answer with the largest sum of candidate scores.

    With ``temperature`` set, the weights are ``softmax(scores / temperature)`` over the pool instead of the raw
    scores (a low temperature approaches ``max``, a high one approaches ``majority``).
    """
    assert scores is not None
    t = params["temperature"]
    weights = list(scores) if t is None else softmax(scores, float(t))
    pos = pick_vote(candidates, scores, _all(candidates), normalize, weights)
    return build_selection(candidates, pos, "weighted", params, used=len(candidates), scored=_all(candidates))


def _check_weights(params: Mapping[str, Any], n: int) -> None:
    for name in ("w_prm", "w_conf", "w_cons"):
        require_number(params, name)


@register("composite", defaults={"w_prm": 1.0, "w_conf": 1.0, "w_cons": 1.0}, check=_check_weights)
def select_composite(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """The argmax of ``w_prm·score + w_conf·exp(mean_logprob) + w_cons·agreement`` (see ``composite_scores``)."""
    assert scores is not None
    combined = composite_scores(
        candidates, scores, params["w_prm"], params["w_conf"], params["w_cons"], normalize=normalize
    )
    pos = pick_max(candidates, combined, _all(candidates))
    return build_selection(candidates, pos, "composite", params, used=len(candidates), scored=_all(candidates))


def _check_seed(params: Mapping[str, Any], n: int) -> None:
    require_int(params, "seed", low=0)


@register("random", defaults={"seed": 0}, needs_scores=False, check=_check_seed)
def select_random(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """The pass@1 baseline: one candidate drawn uniformly, seeded by ``(seed, problem_id)`` so runs repeat."""
    rng = random.Random(f"{params['seed']}:{candidates[0].problem_id}")
    pos = rng.randrange(len(candidates))
    return build_selection(candidates, pos, "random", params, used=1, scored=(), tokens_used=candidates[pos].num_tokens)


@register("oracle", needs_scores=False)
def select_oracle(
    candidates: Sequence[Candidate], scores: Sequence[float] | None, params: Mapping[str, Any], normalize: Normalizer
) -> Selection:
    """Coverage (pass@N) reference: the correct candidate with the lowest sample_index, if any (else the first)."""
    order = sorted(_all(candidates), key=lambda i: candidates[i].sample_index)
    pos = next((i for i in order if candidates[i].correct), order[0])
    return build_selection(candidates, pos, "oracle", params, used=len(candidates), scored=())
