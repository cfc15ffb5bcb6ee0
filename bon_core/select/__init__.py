"""Selection strategies, registered by name: ``select(candidates, scores, strategy, params, normalize)``.

Strategies: ``max``, ``majority`` (self-consistency: no scorer), ``majority_tiebreak`` (ties broken by the
scorer), ``weighted``, ``composite``, ``early_stop``, ``adaptive_n``, ``rerank``, ``random``, ``oracle`` (see
:data:`STRATEGIES` and each function's docstring for its parameters). ``STRATEGIES[name].uses_scorer(params)``
says whether a strategy reads a scorer; :func:`scorer_input_tokens` is the one definition of scorer tokens and
:func:`calibrate_threshold` derives ``early_stop``'s threshold from validation pools.
"""

from __future__ import annotations

# Importing the rule modules registers their strategies.
from bon_core.select import budget, rules  # noqa: F401
from bon_core.select.budget import calibrate_threshold
from bon_core.select.registry import STRATEGIES, Strategy, register, scorer_input_tokens, select
from bon_core.select.rules import pick_max, pick_vote, softmax

__all__ = [
    "STRATEGIES",
    "Strategy",
    "calibrate_threshold",
    "pick_max",
    "pick_vote",
    "register",
    "scorer_input_tokens",
    "select",
    "softmax",
]
