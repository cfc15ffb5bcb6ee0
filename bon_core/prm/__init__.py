"""Process reward models: the ``Scorer`` interface, our PRM (train, score in one pass, save/load), the ORM baseline,
published PRM formats, Monte-Carlo automatic step labels, and judging a scorer on step-labelled data.

>>> from bon_core.prm import load_prm, new_prm, train_prm, PRMTrainConfig
>>> prm = load_prm("runs/prm")                        # our format
>>> prm.score(["2+3*4"], [["3*4=12", "2+12=14"]])     # one score per step

Modules: ``base`` (the ``Scorer`` protocol), ``config`` (``HeadConfig``, ``PRMSpec``, ``PRMTrainConfig``; no
torch), ``batching`` (length-sorted padded batches under a token budget, one forward each), ``encoding`` (our
step-tag input), ``model`` (base + reward head), ``scorer`` (our ``PRM``),
``published`` and ``published_inputs`` (published PRM formats and their scorer), ``io`` (every save and load),
``bases`` (named base models), ``records`` and ``mc_labels`` (training examples, Monte-Carlo step labels),
``train``, ``windows`` (solutions longer than the model's window) and ``evaluation`` (ProcessBench-style judging).

Names are imported from their module on first use, so ``bon_core.prm.config`` (and the command line that reads
its fields) loads without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "base": ("Scorer",),
    "config": ("HeadConfig", "PRMSpec", "PRMTrainConfig"),
    "encoding": ("StepFormat",),
    "io": ("load_prm", "save_prm"),
    "mc_labels": ("MCItem", "MCLabels", "label_agreement", "mc_step_labels", "mc_step_labels_batch"),
    "model": ("PRMModel", "RewardHead"),
    "published": ("PRM_FORMATS", "PRMFormat", "PublishedPRM", "get_format"),
    "records": ("StepLabelledExample", "from_candidate", "from_labelled_solution", "to_orm_example"),
    "scorer": ("PRM", "new_prm"),
    "train": ("TrainReport", "train_prm", "validation_auroc"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "HeadConfig", "MCItem", "MCLabels", "PRM", "PRMFormat", "PRMModel", "PRMSpec", "PRMTrainConfig", "PRM_FORMATS",
    "PublishedPRM", "RewardHead", "Scorer", "StepFormat", "StepLabelledExample", "TrainReport", "from_candidate",
    "from_labelled_solution", "get_format", "label_agreement", "load_prm", "mc_step_labels", "mc_step_labels_batch",
    "new_prm", "save_prm", "to_orm_example", "train_prm", "validation_auroc",
]  # fmt: skip

if TYPE_CHECKING:
    from bon_core.prm.base import Scorer
    from bon_core.prm.config import HeadConfig, PRMSpec, PRMTrainConfig
    from bon_core.prm.encoding import StepFormat
    from bon_core.prm.io import load_prm, save_prm
    from bon_core.prm.mc_labels import MCItem, MCLabels, label_agreement, mc_step_labels, mc_step_labels_batch
    from bon_core.prm.model import PRMModel, RewardHead
    from bon_core.prm.published import PRM_FORMATS, PRMFormat, PublishedPRM, get_format
    from bon_core.prm.records import StepLabelledExample, from_candidate, from_labelled_solution, to_orm_example
    from bon_core.prm.scorer import PRM, new_prm
    from bon_core.prm.train import TrainReport, train_prm, validation_auroc


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
