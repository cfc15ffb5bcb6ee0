"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on Code").

pass@k = 1 - C(n-c, k) / C(n, k): the probability that a uniformly random k-subset of the n samples contains at
least one of the c correct ones. Computed in the numerically stable product form
``1 - prod(1 - k / arange(n-c+1, n+1))``.

Edge cases (each tested):

* ``c == 0`` -> ``0.0`` for every k, including ``k > n`` (the reference implementation returns 1.0 there,
  because its ``n - c < k`` shortcut fires before it looks at c).
* ``n - c < k`` with ``c > 0`` -> ``1.0``: every k-subset must contain a correct sample. This includes
  ``k > n``, which we read as "draw all n samples" (the estimator is only defined for k <= n).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(n: int, c: int, k: int) -> None:
    if n < 0 or c < 0 or c > n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n; got n={n}, c={c}")
    if k < 1:
        raise ValueError(f"pass_at_k needs k >= 1; got k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with ``n`` samples of which ``c`` are correct.

    >>> pass_at_k(10, 0, 20), pass_at_k(10, 1, 20), round(pass_at_k(4, 1, 2), 4)
    (0.0, 1.0, 0.5)
    """
    _check(n, c, k)
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_array(n: int | Sequence[int] | np.ndarray, c: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """pass@k of many problems at once: ``n`` (one int, or one per problem) and ``c`` per problem.

    >>> pass_at_k_array(4, [0, 1, 4], 2).tolist()
    [0.0, 0.5, 1.0]
    """
    cs = np.asarray(c, dtype=np.int64)
    ns = np.broadcast_to(np.asarray(n, dtype=np.int64), cs.shape)
    return np.array([pass_at_k(int(ni), int(ci), k) for ni, ci in zip(ns.ravel(), cs.ravel(), strict=True)]).reshape(
        cs.shape
    )
