"""The selection-strategy registry and the ``select`` entry point.

Every strategy is one function with the same signature (as in search-and-learn)::

    strategy(candidates, scores, params, normalize) -> Selection

registered by name together with its parameter defaults and whether it reads a scorer. :func:`select` validates
the inputs once (aligned scores, one problem per pool, known parameters) so the strategies only hold their rule.

Compute accounting, one definition for all of bon: a strategy's ``scorer_calls`` are the candidates the scorer
read, and its ``scorer_tokens`` are, for each of them, the problem prompt plus the candidate
(:func:`scorer_input_tokens`), both counted in the policy's tokens so that policy and scorer tokens add up in one
unit. A strategy that uses no scorer (majority, random, oracle, adaptive_n voting by majority) records zero of both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bon_core.aggregate import Normalizer, default_normalize
from bon_core.types import Candidate, Selection

StrategyFn = Callable[[Sequence[Candidate], "Sequence[float] | None", Mapping[str, Any], Normalizer], Selection]
NeedsScores = bool | Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Strategy:
    """A registered strategy: its function, parameter defaults, whether it reads a scorer, and a param check.

    ``needs_scores`` is a bool, or a function of the (merged) parameters for a strategy whose parameters decide
    it (``adaptive_n``'s ``then``); :meth:`uses_scorer` answers for given parameters.
    """

    name: str
    fn: StrategyFn
    defaults: Mapping[str, Any] = field(default_factory=dict)
    needs_scores: NeedsScores = True
    check: Callable[[Mapping[str, Any], int], None] | None = None

    def uses_scorer(self, params: Mapping[str, Any] | None = None) -> bool:
        """Whether this strategy, with ``params`` over its defaults, reads scores (and so a scorer)."""
        if callable(self.needs_scores):
            return bool(self.needs_scores({**self.defaults, **(params or {})}))
        return self.needs_scores


STRATEGIES: dict[str, Strategy] = {}


def register(
    name: str,
    *,
    defaults: Mapping[str, Any] | None = None,
    needs_scores: NeedsScores = True,
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
    *,
    prompt_tokens: int = 0,
) -> Selection:
    """Select one candidate of one problem's pool with the strategy registered as ``strategy``.

    ``scores`` holds one aggregated score per candidate, aligned with ``candidates``. A strategy that uses no
    scorer (``majority``, ``random``, ``oracle``, ``adaptive_n`` with ``then="majority"``; see
    :meth:`Strategy.uses_scorer`) never sees them: they may be ``None``, and given ones are checked but ignored,
    so its Selection records no scorer calls. ``normalize`` maps a final answer to its voting key
    (``task.normalize_answer``); default strip + lower. ``prompt_tokens`` is the length of the problem prompt in
    policy tokens, counted into ``scorer_tokens`` once per scored candidate (see :func:`scorer_input_tokens`).
    An empty pool gives a Selection with ``sample_index=None``.

    >>> from bon_core.types import Candidate
    >>> pool = [Candidate("p", i, "", answer=a, correct=a == "4") for i, a in enumerate(["4", "5", "4"])]
    >>> select(pool, [0.2, 0.9, 0.3], "max").sample_index
    1
    >>> select(pool, None, "majority").answer
    '4'
    >>> select(pool, [0.2, 0.9, 0.3], "max", prompt_tokens=5).scorer_tokens  # 3 candidates x (5 + 0 tokens)
    15
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
    if isinstance(prompt_tokens, bool) or not isinstance(prompt_tokens, int) or prompt_tokens < 0:
        raise ValueError(f"prompt_tokens must be an integer >= 0, got {prompt_tokens!r}")
    if spec.check is not None:
        spec.check(merged, len(cands))
    uses_scorer = spec.uses_scorer(merged)
    if uses_scorer and scores is None and cands:
        raise ValueError(f"strategy {strategy!r} needs scores (one per candidate); got scores=None")
    if not cands:
        return Selection("", strategy, merged, 0, None, None, None)
    chosen = spec.fn(cands, scores if uses_scorer else None, merged, normalize or default_normalize)
    return replace(chosen, scorer_tokens=chosen.scorer_tokens + prompt_tokens * chosen.scorer_calls)


def scorer_input_tokens(prompt_tokens: int, candidate: Candidate) -> int:
    """Tokens a scorer reads to score ``candidate``: the problem prompt plus the candidate, in policy tokens.

    This is bon's one definition of scorer compute, used by the selections, the curves and the benchmarks. It
    counts with the policy's tokenizer (the unit of ``policy_tokens``); a scorer with its own tokenizer, chat
    template or step tags reads a somewhat different number of its own tokens.
    """
    return prompt_tokens + candidate.num_tokens


def build_selection(
    candidates: Sequence[Candidate],
    position: int,
    strategy: str,
    params: Mapping[str, Any],
    *,
    used: int,
    scored: Sequence[int],
    tokens_used: int | None = None,
) -> Selection:
    """The Selection of ``candidates[position]``; ``tokens_used`` defaults to the tokens of the first ``used``
    candidates in sampling order. ``scored`` are the positions of the candidates the scorer read: they give
    ``scorer_calls`` and the candidate part of ``scorer_tokens`` (:func:`select` adds the prompt part)."""
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
        scorer_calls=len(scored),
        scorer_tokens=sum(scorer_input_tokens(0, candidates[i]) for i in scored),
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
