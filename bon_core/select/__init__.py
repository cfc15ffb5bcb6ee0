"""Selection strategies, registered by name: ``select(candidates, scores, strategy, params, normalize)``.

Strategies: ``max``, ``majority``, ``weighted``, ``composite``, ``early_stop``, ``adaptive_n``, ``rerank``,
``random``, ``oracle`` (see :data:`STRATEGIES` and each function's docstring for its parameters).
"""

from __future__ import annotations

# Importing the rule modules registers their strategies.
from bon_core.select import budget, rules  # noqa: F401
from bon_core.select.registry import STRATEGIES, Strategy, register, select
from bon_core.select.rules import pick_max, pick_vote, softmax

__all__ = ["STRATEGIES", "Strategy", "pick_max", "pick_vote", "register", "select", "softmax"]
