"""The model zoo: model cards, the registry, ``load_model`` / ``list_models``, and what a model needs.

A model is a :class:`TransferModel`: a backbone split into named groups (the units of freezing),
a head that transfer learning replaces, the input transforms that belong to the weights, and the
card (:class:`ModelSpec`) it came from. :func:`load_model` is the one way to get one, whatever
its weights: published ImageNet weights, a source model the workbench pretrains
(``weights="tlw:<source>"``), a saved state dict, or none.

Modules: :mod:`.registry` (cards by name, the zoo table, weights providers), :mod:`.catalogue`
(the cards), :mod:`.model` (``TransferModel``), :mod:`.loading` (``load_model``),
:mod:`.architectures` (backbones as named stages), :mod:`.weights` (safe weight files and cards),
:mod:`.transforms` (batch transforms of images and texts).
"""

from .catalogue import imagenet_categories
from .loading import load_model
from .model import TransferModel
from .registry import WEIGHTS_PROVIDERS, ModelSpec, get_spec, list_models, register_model
from .transforms import ImageTransform, TextTransform

__all__ = [
    "ImageTransform",
    "ModelSpec",
    "TextTransform",
    "TransferModel",
    "WEIGHTS_PROVIDERS",
    "get_spec",
    "imagenet_categories",
    "list_models",
    "load_model",
    "register_model",
]
