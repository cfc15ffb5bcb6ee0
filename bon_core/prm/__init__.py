"""Process reward models: our PRM (train, score in one pass, save/load), the ORM baseline, published PRM formats
and Monte-Carlo automatic step labels.

>>> from bon_core.prm import load_prm, new_prm, train_prm, PRMTrainConfig
>>> prm = load_prm("runs/prm")                        # our format
>>> prm.score(["2+3*4"], [["3*4=12", "2+12=14"]])     # one score per step
"""

from bon_core.prm.formats import PRM_FORMATS, PRMFormat, PublishedPRM, get_format
from bon_core.prm.formatting import StepFormat
from bon_core.prm.io import load_prm, save_prm
from bon_core.prm.mc_labels import MCItem, MCLabels, label_agreement, mc_step_labels, mc_step_labels_batch
from bon_core.prm.model import HeadConfig, PRMModel, RewardHead
from bon_core.prm.records import StepLabelledExample, from_candidate, from_labelled_solution, to_orm_example
from bon_core.prm.scorer import PRM, PRMSpec, new_prm
from bon_core.prm.train import PRMTrainConfig, TrainReport, train_prm, validation_auroc

__all__ = [
    "HeadConfig", "MCItem", "MCLabels", "PRM", "PRMFormat", "PRMModel", "PRMSpec", "PRMTrainConfig", "PRM_FORMATS",
    "PublishedPRM", "RewardHead", "StepFormat", "StepLabelledExample", "TrainReport", "from_candidate",
    "from_labelled_solution", "get_format", "label_agreement", "load_prm", "mc_step_labels", "mc_step_labels_batch",
    "new_prm", "save_prm", "to_orm_example", "train_prm", "validation_auroc",
]  # fmt: skip
