"""The selection-strategy registry and the ``select`` entry point.

Every strategy is one function with the same signature (as in search-and-learn)::

    strategy(candidates, scores, params, normalize) -> Selection

registered by name together with its parameter defaults. :func:`select` validates the inputs once (aligned
scores, one problem per pool, known parameters) so the strategies only hold their rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bon_core.aggregate import Normalizer, default_normalize
from bon_core.types import Candidate, Selection

StrategyFn = Callable[[Sequence[Candidate], "Sequence[float] | None", Mapping[str, Any], Normalizer], Selection]


@dataclass(frozen=True)
class Strategy:
    """A registered strategy: its function, parameter defaults, whether it needs scores, and a param check."""

    name: str
    fn: StrategyFn
    defaults: Mapping[str, Any] = field(default_factory=dict)
    needs_scores: bool = True
    check: Callable[[Mapping[str, Any], int], None] | None = None


STRATEGIES: dict[str, Strategy] = {}


def register(
    name: str,
    *,
    defaults: Mapping[str, Any] | None = None,
    needs_scores: bool = True,
    check: Callable[[Mapping[str, Any], int], None] | None = None,
) -> Callable[[StrategyFn], StrategyFn]:
    """Decorator registering a strategy function under ``name``."""

    def wrap(fn: StrategyFn) -> StrategyFn:
        STRATEGIES[name] = Strategy(name, fn, dict(defaults or {}), needs_scores, check)
        return fn

    return wrap


def select(
    candidates: Sequence[Candidate],
    scores: Sequence[float] | None,
    strategy: str,
    params: Mapping[str, Any] | None = None,
    normalize: Normalizer | None = None,
) -> Selection:
    """Select one candidate of one problem's pool with the strategy registered as ``strategy``.

    ``scores`` holds one aggregated score per candidate, aligned with ``candidates`` (``None`` is allowed for
    strategies that do not need scores: ``majority``, ``random``, ``oracle``, ``adaptive_n`` with its default
    ``then="majority"``). ``normalize`` maps a final answer to its voting key (``task.normalize_answer``);
    default strip + lower. An empty pool gives a Selection with ``sample_index=None``.

    >>> from bon_core.types import Candidate
    >>> pool = [Candidate("p", i, "", answer=a, correct=a == "4") for i, a in enumerate(["4", "5", "4"])]
    >>> select(pool, [0.2, 0.9, 0.3], "max").sample_index
    1
    >>> select(pool, None, "majority").answer
    '4'
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown selection strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    spec = STRATEGIES[strategy]
    given = dict(params or {})
    unknown = sorted(set(given) - set(spec.defaults))
    if unknown:
        known = ", ".join(spec.defaults) or "none"
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)} for strategy {strategy!r}; known: {known}")
    merged = {**spec.defaults, **given}
    cands = list(candidates)
    if len({c.problem_id for c in cands}) > 1:
        raise ValueError(
            "candidates must all belong to one problem; got problem_ids " + str({c.problem_id for c in cands})
        )
    if len({c.sample_index for c in cands}) != len(cands):
        raise ValueError("candidates have duplicate sample_index values")
    if scores is not None:
        scores = [float(s) for s in scores]
        if len(scores) != len(cands):
            raise ValueError(f"scores has {len(scores)} entries for {len(cands)} candidates")
        if any(math.isnan(s) for s in scores):
            raise ValueError("scores contain NaN")
    if spec.needs_scores and scores is None and cands:
        raise ValueError(f"strategy {strategy!r} needs scores (one per candidate); got scores=None")
    if spec.check is not None:
        spec.check(merged, len(cands))
    if not cands:
        return Selection("", strategy, merged, 0, None, None, None)
    return spec.fn(cands, scores, merged, normalize or default_normalize)


def build_selection(
    candidates: Sequence[Candidate],
    position: int,
    strategy: str,
    params: Mapping[str, Any],
    *,
    used: int,
    scorer_calls: int,
    tokens_used: int | None = None,
) -> Selection:
    """The Selection of ``candidates[position]``; ``tokens_used`` defaults to the tokens of the first ``used``
    candidates in sampling order."""
    chosen = candidates[position]
    if tokens_used is None:
        tokens_used = sum(c.num_tokens for c in sorted(candidates, key=lambda c: c.sample_index)[:used])
    return Selection(
        problem_id=chosen.problem_id,
        strategy=strategy,
        params=dict(params),
        n=len(candidates),
        sample_index=chosen.sample_index,
        answer=chosen.answer,
        correct=chosen.correct,
        candidates_used=used,
        tokens_used=tokens_used,
        scorer_calls=scorer_calls,
    )


def require_number(params: Mapping[str, Any], name: str, *, low: float | None = None, strict: bool = False) -> float:
    """Return ``params[name]`` as a float, failing with a clear message if it is not a number above ``low``."""
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"parameter {name!r} must be a finite number, got {value!r}")
    if low is not None and (value <= low if strict else value < low):
        raise ValueError(f"parameter {name!r} must be {'>' if strict else '>='} {low}, got {value!r}")
    return float(value)


def require_int(params: Mapping[str, Any], name: str, *, low: int = 1) -> int:
    """Return ``params[name]`` as an int >= ``low``, failing with a clear message otherwise."""
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"parameter {name!r} must be an integer >= {low}, got {value!r}")
    return value
