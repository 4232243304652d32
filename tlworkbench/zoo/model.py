"""TransferModel: a backbone in named groups, a replaceable head, its transforms and its card.

A model is built by :func:`tlworkbench.zoo.load_model`; this module holds the module itself and
the small functions that make and read heads.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._validate import check_int, param_error
from ..errors import DataError, InvalidParameterError, MissingAssetError, NoWeightsError
from .registry import ModelSpec

__all__ = ["TransferModel", "new_head", "head_weight_key", "predict_proba_frame", "PREDICT_INPUTS"]


class TransferModel(nn.Module):
    """A pretrained (or fresh) backbone with a replaceable head.

    Attributes:
        backbone: the feature extractor (``features(x)`` gives one vector per input).
        head: the classifier on top of the features.
        spec: the model card.
        transforms: what turns raw inputs into what the backbone reads.
        classes: the names of the head's outputs, when known.
        weights: a label of the weights loaded (``"ImageNet-1k"``, ``"tlw:font_digits"``, ``None``).
        bn_policy: ``"frozen"`` (the default: frozen BatchNorm layers stay in eval mode with
            their pretrained statistics) or ``"train"`` (they update their statistics in train
            mode). Measured on EfficientNet-Lite0 fine-tuned by ``fit(strategy="two_stage")``
            on 1,000 ``animal_mnist`` images: .929 test accuracy either way, ``"train"`` 30%
            slower (the head phase cannot use cached features).
        lr_mult: learning-rate multiplier per group name (missing groups: 1).
        metrics: numbers measured on the model (test accuracy ...), kept by
            :func:`tlworkbench.saving.save_model` and read back with the model.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, spec: ModelSpec, transforms: Any, *,
                 classes: list[str] | None = None, weights: str | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.spec = spec
        self.transforms = transforms
        self.classes = _names(classes, "TransferModel")
        self.weights = weights
        self.bn_policy = "frozen"
        self.lr_mult: dict[str, float] = {}
        self.metrics: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def feature_dim(self) -> int:
        return int(self.backbone.feature_dim)

    @property
    def num_classes(self) -> int:
        return int(_last_linear(self.head).out_features)

    @property
    def groups(self) -> OrderedDict[str, nn.Module]:
        """Named layer groups from input to output; the last one is ``"head"``."""
        groups = self.backbone.group_modules()
        groups["head"] = self.head
        return groups

    def features(self, x: Any, depth: str | None = None) -> torch.Tensor:
        """Backbone features, one vector per input; ``depth`` stops after that group."""
        if depth is None or depth == list(self.backbone.group_modules())[-1]:
            return self.backbone(x)
        return self.backbone.forward_to(x, depth)

    def forward(self, x: Any) -> torch.Tensor:
        return self.head(self.backbone(x))

    def train(self, mode: bool = True) -> TransferModel:
        """Switch train/eval mode; with ``bn_policy="frozen"``, frozen BatchNorm layers stay in eval."""
        super().train(mode)
        if mode and self.bn_policy == "frozen":
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    params = list(m.parameters())
                    if params and not any(p.requires_grad for p in params):
                        m.eval()
        return self

    def replace_head(self, num_classes: int, *, classes: list[str] | None = None) -> TransferModel:
        """Replace the head by a fresh linear layer with ``num_classes`` outputs (in place).

        Raises:
            InvalidParameterError: ``num_classes`` is not a positive int, or ``classes`` does not
                name each output once.
        """
        num_classes = check_int(num_classes, "num_classes", "replace_head", minimum=1)
        names = _names(classes, "replace_head")
        if names is not None and len(names) != num_classes:
            raise InvalidParameterError(f"The 'classes' parameter of replace_head must name each of the "
                                        f"{num_classes} outputs. Got {len(names)} names instead.")
        self.head = new_head(self.feature_dim, num_classes, self.spec.head_dropout)
        self.classes = names
        return self

    def predict(self, x: Any) -> Any:
        """Predict the class of raw inputs: image files, PIL images, arrays, tensors (or texts).

        Each input is read as the model reads its data: images are converted to RGB (transparency
        composed onto white), resized and normalised by ``model.transforms``; texts are tokenised.
        Arrays are ``(H, W)``, ``(H, W, C)`` (numpy's layout) or ``(C, H, W)`` (torch's), uint8 or
        float in [0, 1]; a 4-d array or tensor is a batch. The model is read in eval mode and left in
        the mode it was in.

        Args:
            x: one input or a list of inputs (see :data:`PREDICT_INPUTS`).

        Returns:
            A DataFrame indexed by input (file name, or position), with ``prediction`` (the class
            name) and ``probability`` (its softmax probability). :meth:`predict_proba` gives every
            class's probability.

        Raises:
            InvalidParameterError: an input of another kind, or no input.
            MissingAssetError: a path that does not exist.
            DataError: a file that is not an image, or an array of another shape.

        Example:
            >>> model.predict(["cat.png", "dog.jpg"])        # doctest: +SKIP
                     prediction  probability
            input
            cat.png         cat        0.962
        """
        proba = predict_proba_frame(self, x, func="predict")
        out = proba.idxmax(axis=1).to_frame("prediction")
        out["probability"] = proba.max(axis=1)
        return out

    def predict_proba(self, x: Any) -> Any:
        """Every class's probability for raw inputs: a DataFrame, one row per input, one column per class.

        Reads ``x`` as :meth:`predict` does.
        """
        return predict_proba_frame(self, x)

    def extra_repr(self) -> str:
        return f"name={self.spec.name!r}, weights={self.weights!r}"


def _names(classes: Any, func: str) -> list[Any] | None:
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise param_error("classes", func, "a list of class names or None", classes)
    return list(classes)


def _last_linear(module: nn.Module) -> nn.Linear:
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InvalidParameterError("The head of a TransferModel must hold an nn.Linear layer; "
                                    f"got {type(module).__name__} without one.")
    return linears[-1]


def new_head(dim: int, num_classes: int, dropout: float) -> nn.Module:
    """A fresh linear head (after dropout when the card asks for it)."""
    linear = nn.Linear(dim, num_classes)
    return nn.Sequential(nn.Dropout(dropout), linear) if dropout > 0 else linear


def head_weight_key(state: dict[str, Any]) -> str:
    """The key of the last head weight in a state dict saved from a :class:`TransferModel`.

    Raises:
        NoWeightsError: the state dict has no ``head.*weight`` entry.
    """
    keys = [k for k in state if k.startswith("head.") and k.endswith("weight")]
    if not keys:
        raise NoWeightsError("The weight file has no head weights ('head.*.weight'); it was not saved "
                             "from a TransferModel. Load it with load_state_dict into model.backbone.")
    return keys[-1]


# --- predicting on raw inputs: files, PIL images, arrays, tensors, texts

#: Inputs that :meth:`TransferModel.predict` reads, as named in its errors.
PREDICT_INPUTS = ("a path to an image file", "a PIL image", "a numpy array", "a torch tensor",
                  "a list of these", "a str or a list of str (text models)")
_PREDICT_BATCH = 64


def _image_tensor(item: Any, func: str) -> torch.Tensor:
    """One image as a ``(C, H, W)`` tensor: uint8, or float in [0, 1]."""
    import numpy as np
    from PIL import Image

    if isinstance(item, (str, os.PathLike)):
        path = Path(item).expanduser()
        if not path.is_file():
            raise MissingAssetError(f"{func} cannot find the image file {str(path)!r}.")
        try:
            with Image.open(path) as im:
                item = _rgb(im)
        except OSError as err:
            raise DataError(f"{func} cannot read {str(path)!r} as an image ({err}).") from err
    if isinstance(item, Image.Image):
        item = np.array(_rgb(item))
    if isinstance(item, np.ndarray):
        if item.dtype == np.bool_:
            item = item.astype(np.uint8) * 255
        t = torch.from_numpy(np.ascontiguousarray(item))
        if t.ndim == 3 and t.shape[-1] in (1, 3, 4) and t.shape[0] not in (1, 3):
            t = t.permute(2, 0, 1)  # numpy images are (H, W, C)
    elif isinstance(item, torch.Tensor):
        t = item.detach().cpu()
    else:
        raise param_error("x", func, "; ".join(PREDICT_INPUTS), item)
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[0] not in (1, 3, 4):
        raise DataError(f"{func} reads images shaped (H, W), (H, W, C) or (C, H, W) with 1, 3 or 4 channels. "
                        f"Got shape {tuple(t.shape)} instead.")
    t = t[:3]  # an alpha channel is dropped
    return t if t.dtype == torch.uint8 else t.float()


def _rgb(im: Any) -> Any:
    """A PIL image in RGB; transparency is composed onto white (how such images are seen)."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        back = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(back, im).convert("RGB")
    return im.convert("RGB")


def _as_items(x: Any) -> tuple[list[Any], list[str]]:
    """Split ``x`` into single inputs, with a name for each (file names where known)."""
    import numpy as np

    if isinstance(x, (np.ndarray, torch.Tensor)) and x.ndim == 4:
        items = list(x if isinstance(x, torch.Tensor) or x.shape[-1] not in (1, 3, 4)
                     else np.ascontiguousarray(x))
    elif isinstance(x, (list, tuple)):
        items = list(x)
    else:
        items = [x]
    names = [Path(i).name if isinstance(i, (str, os.PathLike)) else str(k) for k, i in enumerate(items)]
    return items, names


def predict_proba_frame(model: TransferModel, x: Any, *, func: str = "predict_proba") -> Any:
    """Class probabilities of ``model`` for raw inputs, one row per input (see :meth:`TransferModel.predict`)."""
    import pandas as pd

    items, names = _as_items(x)
    if not items:
        raise param_error("x", func, "at least one input", x)
    t = model.transforms
    text = model.spec.modality == "text"
    if text and not all(isinstance(i, str) for i in items):
        raise param_error("x", func, "a str or a list of str for a text model", items[0])
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    probs = []
    try:
        with torch.no_grad():
            for s in range(0, len(items), _PREDICT_BATCH):
                chunk = items[s:s + _PREDICT_BATCH]
                if text:
                    batch = {k: v.to(device) for k, v in t(list(chunk)).items()}
                else:
                    # each image is resized alone: files differ in size
                    resized = [t.resize(_image_tensor(i, func).unsqueeze(0)) for i in chunk]
                    batch = t.normalize(torch.cat([r.float().div(255.0) if r.dtype == torch.uint8 else r
                                                   for r in resized])).to(device)
                probs.append(torch.softmax(model(batch).float(), dim=1).cpu())
    finally:
        model.train(was_training)
    p = torch.cat(probs).numpy()
    classes = model.classes if model.classes is not None else [str(i) for i in range(p.shape[1])]
    return pd.DataFrame(p, index=pd.Index(names, name="input"), columns=[str(c) for c in classes])


