"""Subsets of step-labelled solutions for evaluation: a seeded sample that keeps the mix of all-correct and wrong
solutions, and reading a data spec as named subsets (one per file or split, as ProcessBench's subsets are)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bon_core.stepdata.record import LabelledSolution


def stratified_subset(records: Sequence[LabelledSolution], limit: int, seed: int = 0) -> list[LabelledSolution]:
    """At most ``limit`` of ``records``: a seeded random sample stratified by all-correct (``first_error == -1``)
    vs wrong, each kind keeping its share (rounded half up; at least one of each when both exist and ``limit`` >= 2),
    in the records' order. Published files can list one kind first (ProcessBench: every wrong solution before the
    first correct one), so the first N rows would be one kind only."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if limit >= len(records):
        return list(records)
    correct = [i for i, r in enumerate(records) if r.first_error == -1]
    wrong = [i for i, r in enumerate(records) if r.first_error != -1]
    n_correct = math.floor(limit * len(correct) / len(records) + 0.5)
    if correct and wrong and limit >= 2:
        n_correct = min(max(n_correct, 1), limit - 1)
    n_wrong = min(limit - n_correct, len(wrong))
    n_correct = min(limit - n_wrong, len(correct))
    rng = random.Random(seed)
    keep = set(rng.sample(correct, n_correct)) | set(rng.sample(wrong, n_wrong))
    return [r for i, r in enumerate(records) if i in keep]


def count_kinds(records: Sequence[LabelledSolution]) -> tuple[int, int]:
    """``(all-correct, wrong)`` solution counts."""
    n_correct = sum(r.first_error == -1 for r in records)
    return n_correct, len(records) - n_correct


def read_subsets(
    data: str | Path, format: str | None = None, limit: int | None = None, seed: int = 0, **options: Any
) -> list[tuple[str, list[LabelledSolution]]]:
    """``(subset name, records)`` for each file or split ``data`` names (see :func:`bon_core.stepdata.read_labelled`);
    a subset is named by its file (without suffix) or split, by its full path where two share a name. With ``limit``,
    each subset is cut to a :func:`stratified_subset` of that size drawn with ``seed``."""
    from bon_core.stepdata import read_labelled_sources

    sources = read_labelled_sources(data, format, **options)
    names = [source.name for source, _ in sources]
    return [
        (
            source.name if names.count(source.name) == 1 else source.label,
            stratified_subset(records, limit, seed) if limit else records,
        )
        for source, records in sources
    ]
