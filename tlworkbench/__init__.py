"""tlworkbench: a notebook-first workbench for transfer learning.

Example:
    >>> import tlworkbench as tlw
    >>> tlw.list_models()                                   # doctest: +SKIP
    >>> model = tlw.load_model("efficientnet_lite0", num_classes=10)   # doctest: +SKIP
"""

from . import adaptation, data, diagnostics, distributed, few_shot, plots, speech, text, training, unsupervised, widgets, zoo
from .config import Profile, data_home, get_device, get_profile, seed_everything, use_amp
from .data import (
    ImageDataset,
    TextDataset,
    few_shot_episodes,
    list_datasets,
    load_dataset,
    load_image_folder,
    load_text_csv,
    load_text_folder,
    shifts,
    subsample,
    validation_split,
)
from .errors import (
    CorruptFileError,
    DataError,
    IncompatibleWeightsError,
    InvalidParameterError,
    MissingAssetError,
    NoWeightsError,
    TLWError,
    TrainingDivergedError,
    UnknownDatasetError,
    UnknownModelError,
    UnknownNameError,
    UnknownStrategyError,
)
from .comparison import compare
from .evaluation import Evaluation, evaluate
from .features import FeatureCache, extract_features
from .freezing import (
    count_parameters,
    freeze,
    freeze_to,
    set_bn_policy,
    set_lr_mult,
    trainable_table,
    unfreeze,
)
from .saving import export, save_model
from .selection import Candidate, rank_models, score_vs_accuracy
from .sources import pretrain_source
from .training import History, fit
from .training import lr_find
from .widgets import FreezePanel
from .zoo import ImageTransform, ModelSpec, TextTransform, TransferModel, list_models, load_model

__version__ = "0.1.0"

__all__ = [
    "Profile", "data_home", "get_device", "get_profile", "seed_everything", "use_amp",
    "ImageDataset", "TextDataset", "few_shot_episodes", "list_datasets", "load_dataset", "subsample", "validation_split",
    "load_image_folder", "load_text_csv", "load_text_folder", "data", "shifts",
    "CorruptFileError", "DataError", "IncompatibleWeightsError", "MissingAssetError", "NoWeightsError",
    "TLWError", "TrainingDivergedError", "UnknownDatasetError", "UnknownModelError", "UnknownStrategyError",
    "InvalidParameterError", "UnknownNameError",
    "count_parameters", "freeze", "freeze_to", "set_bn_policy", "set_lr_mult", "trainable_table", "unfreeze",
    "ImageTransform", "TextTransform", "ModelSpec", "TransferModel", "list_models", "load_model",
    "FreezePanel", "adaptation", "diagnostics", "distributed", "few_shot", "plots", "speech", "text", "training", "unsupervised", "widgets", "zoo",
    "compare", "Evaluation", "evaluate", "FeatureCache", "extract_features", "pretrain_source", "History", "fit",
    "Candidate", "rank_models", "score_vs_accuracy",
    "lr_find",
    "save_model", "export",
]
