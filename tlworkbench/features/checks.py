"""Whether a data set fits a model, and the rule by which a data set is read through a model.

Shared by feature extraction and training.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import DataError

__all__ = ["prepare_data", "check_data"]


def prepare_data(model: nn.Module, dataset: Any, *, param: str = "dataset", min_classes: int = 1) -> Any:
    """Read ``dataset`` through ``model``'s transforms when it has none of its own, then check it.

    A data set that already has a transform is used as it is. ``min_classes``: the distinct
    labels it must hold (2 for training data: one class teaches nothing).

    Raises:
        DataError: see :func:`check_data`.
    """
    if dataset is None:
        raise DataError(f"The {param!r} data set is None. Pass a data set from tlw.load_dataset.")
    _check_modality(model, dataset, param)
    transforms = getattr(model, "transforms", None)
    if (getattr(dataset, "transform", "absent") is None and transforms is not None
            and hasattr(dataset, "with_transform")):
        dataset = dataset.with_transform(model)
    check_data(model, dataset, param=param, min_classes=min_classes)
    return dataset


def _check_modality(model: nn.Module, dataset: Any, param: str) -> None:
    modality = getattr(getattr(model, "spec", None), "modality", None)
    data_modality = getattr(dataset, "modality", None)
    if modality is not None and data_modality is not None and modality != data_modality:
        name = getattr(dataset, "name", type(dataset).__name__)
        model_name = getattr(model, "name", type(model).__name__)
        raise DataError(f"The {param!r} data set {name!r} holds {data_modality} but {model_name!r} is an "
                        f"{modality} model. Pick a {data_modality} model from tlw.list_models('{data_modality}').")


def check_data(model: nn.Module, dataset: Any, *, param: str = "dataset", min_classes: int = 1) -> None:
    """Check that ``dataset`` can be fed to ``model``.

    Args:
        model: the model.
        dataset: the data set.
        param: how the data set is named in errors.
        min_classes: the distinct labels it must hold.

    Raises:
        DataError: the data set is empty or holds fewer than ``min_classes`` classes, its labels
            lie outside the head's outputs, it is text
            for an image model (or the other way round), or its images have a channel count
            the backbone does not read.
    """
    name = getattr(dataset, "name", type(dataset).__name__)
    model_name = getattr(model, "name", type(model).__name__)
    if not hasattr(dataset, "get_batch") or not hasattr(dataset, "targets"):
        raise DataError(f"The {param!r} parameter must be a data set from tlw.load_dataset (with .get_batch "
                        f"and .targets). Got {type(dataset).__name__} instead.")
    if len(dataset) == 0:
        raise DataError(f"The {param!r} data set {name!r} is empty. Pass a data set with examples "
                        "(check max_size, per_class or the filter that made it).")
    _check_modality(model, dataset, param)
    spec = getattr(model, "spec", None)
    modality = getattr(spec, "modality", None)
    targets = torch.as_tensor(dataset.targets)
    num_classes = getattr(model, "num_classes", None)
    if num_classes is not None:
        lo, hi = int(targets.min()), int(targets.max())
        if lo < 0 or hi >= num_classes:
            raise DataError(
                f"The labels of the {param!r} data set {name!r} lie in [{lo}, {hi}] but the head of "
                f"{model_name!r} has {num_classes} outputs (labels 0..{num_classes - 1}). Load the model "
                f"with num_classes={max(hi + 1, num_classes)} or call model.replace_head({max(hi + 1, num_classes)})."
            )
    present = torch.unique(targets)
    if len(present) < min_classes:
        names = getattr(dataset, "classes", None)
        found = [names[int(i)] if names is not None and 0 <= int(i) < len(names) else int(i) for i in present]
        raise DataError(f"The {param!r} data set {name!r} holds {len(present)} class(es) ({found}); training needs "
                        f"at least {min_classes} classes. Check the filter, subset or per_class that made it.")
    if modality == "image":
        transform = getattr(dataset, "transform", None)
        channels = getattr(transform, "channels", None)
        if transform is None and isinstance(getattr(dataset, "images", None), torch.Tensor):
            channels = int(dataset.images.shape[1])
        wanted = getattr(spec, "channels", None)
        if channels is not None and wanted and channels != wanted:
            how = ("it has no transform" if transform is None else f"its transform is {transform!r}")
            raise DataError(
                f"The images of the {param!r} data set {name!r} have {channels} channel(s) but {model_name!r} "
                f"reads {wanted}; {how}. Read them through the model: dataset.with_transform(model)."
            )
