"""The zoo's registry: model cards by name, the zoo table, and the weights providers.

The cards of the workbench live in :mod:`tlworkbench.zoo.catalogue` as plain data; the registry
reads them the first time a name is looked up, so importing a module registers nothing. A card
added with :func:`register_model` joins them for the rest of the process.

Weights providers resolve ``load_model(name, weights="<prefix>:<key>")``. They are listed in
:data:`WEIGHTS_PROVIDERS`, an explicit table of ``prefix -> "module:function"`` strings; the
module is imported only when such weights are asked for. This keeps the zoo on its own floor:
``"tlw"`` names :func:`tlworkbench.sources.provide_weights`, which trains a source model with the
training loop (a floor above the zoo), and neither side imports the other until that moment.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import torch
from torch import nn

from .._validate import check_choice, check_type
from ..errors import InvalidParameterError, MissingAssetError, NoWeightsError, UnknownModelError, did_you_mean

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelSpec",
    "WEIGHTS_PROVIDERS",
    "get_spec",
    "list_models",
    "register_model",
    "weights_provider",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: ``weights="<prefix>:<key>"`` -> the function that returns the weight file, as ``"module:function"``.
#: The function is called as ``provider(spec, key, *, profile, epochs, progress) -> Path`` and
#: writes a card (:func:`tlworkbench.zoo.weights.read_card`) beside the file it returns.
WEIGHTS_PROVIDERS: Mapping[str, str] = MappingProxyType({
    "tlw": "tlworkbench.sources:provide_weights",
})


@dataclass(frozen=True)
class ModelSpec:
    """A model card.

    Every callable on a card is a module-level function or a :func:`functools.partial` of one,
    so a card (and a model that holds it) pickles, and ``torch.save(model)`` works.

    Attributes:
        name: the zoo name (``load_model(name)``).
        modality: ``"image"``, ``"text"`` or ``"speech"``.
        build: returns ``(backbone, head, original)``; ``original`` is the module whose state
            dict keys match the published weight file (or ``None``).
        source: the data the published weights were trained on (``None``: no published weights).
        input_size: default square input side (images) or maximum token length (text).
        channels: input channels the backbone reads.
        mean: normalisation mean of the weights.
        std: normalisation standard deviation of the weights.
        licence: licence of the weights (or of the architecture code when there are none).
        weights_file: returns the path of the published weight file where it lives offline, or
            ``None``; may raise :class:`MissingAssetError` with install advice.
        weights_url: where the published weights are downloaded from (full profile, online).
        sha256: recorded digest of the published weight file, when known.
        num_source_classes: classes of the published head.
        head_dropout: dropout before a freshly made head.
        description: one line for the zoo table.
        install: the command that installs the weights, for error messages.
        extra: optional callables: ``"categories"`` (names of the published head's outputs),
            ``"folder"`` (a text model's folder), ``"random"`` (a build without weights).
    """

    name: str
    modality: str
    build: Callable[[], tuple[nn.Module, nn.Module | None, nn.Module | None]]
    source: str | None = None
    input_size: int = 224
    channels: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    licence: str = "BSD-3-Clause"
    weights_file: Callable[[], Path | None] | None = None
    weights_url: str | None = None
    sha256: str | None = None
    num_source_classes: int | None = None
    head_dropout: float = 0.0
    description: str = ""
    install: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_weights(self) -> bool:
        """Whether the model has published pretrained weights."""
        return self.source is not None


_REGISTRY: OrderedDict[str, ModelSpec] = OrderedDict()


def _registry() -> OrderedDict[str, ModelSpec]:
    """The registry, filled from the catalogue on first use."""
    if not _REGISTRY:
        from .catalogue import CARDS  # the catalogue builds cards with ModelSpec from this module

        for spec in CARDS:
            _add(spec)
    return _REGISTRY


def _add(spec: ModelSpec) -> None:
    if spec.name in _REGISTRY:
        raise InvalidParameterError(f"A model named {spec.name!r} is already registered. "
                                    "Give the card another name.")
    _REGISTRY[spec.name] = spec


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a card to the zoo for the rest of the process.

    Raises:
        InvalidParameterError: ``spec`` is not a :class:`ModelSpec`, or its name is taken.
    """
    check_type(spec, "spec", "register_model", ModelSpec, "a ModelSpec")
    _registry()
    _add(spec)
    return spec


def get_spec(name: str) -> ModelSpec:
    """The card of a zoo model.

    Raises:
        InvalidParameterError: ``name`` is not a str.
        UnknownModelError: with the closest name when there is one.
    """
    check_type(name, "name", "get_spec", str, "a model name (a str)")
    registry = _registry()
    if name not in registry:
        raise UnknownModelError(f"Unknown model {name!r}.{did_you_mean(name, registry)} "
                                "See tlw.list_models().")
    return registry[name]


def weights_provider(prefix: str) -> Callable[..., Path]:
    """The function that resolves ``weights="<prefix>:<key>"``, imported from its module now.

    Raises:
        NoWeightsError: no provider is listed for ``prefix`` (with the closest prefix).
    """
    if prefix not in WEIGHTS_PROVIDERS:
        raise NoWeightsError(
            f"No weights provider for the prefix {prefix!r}.{did_you_mean(prefix, WEIGHTS_PROVIDERS)} "
            f"Known prefixes: {', '.join(repr(p + ':') for p in WEIGHTS_PROVIDERS)}."
        )
    module, _, function = WEIGHTS_PROVIDERS[prefix].partition(":")
    return getattr(importlib.import_module(module), function)


# building a backbone on the meta device costs up to a second (ViT-B); the zoo table asks often
_PARAM_COUNTS: dict[str, int] = {}


def _count_params(spec: ModelSpec) -> int | None:
    cached = _PARAM_COUNTS.get(spec.name)
    if cached is None:
        try:
            with torch.device("meta"):
                backbone, _, _ = spec.build()
        except MissingAssetError:
            return None
        cached = sum(p.numel() for p in backbone.parameters())
        _PARAM_COUNTS[spec.name] = cached
    return cached


def _available_offline(spec: ModelSpec) -> bool:
    if not spec.has_weights:
        return False
    try:
        path = spec.weights_file() if spec.weights_file is not None else None
    except MissingAssetError:
        return False
    return path is not None and Path(path).exists()


def list_models(modality: str | None = None) -> pd.DataFrame:
    """The zoo as a table.

    Args:
        modality: keep only ``"image"``, ``"text"`` or ``"speech"`` models.

    Returns:
        One row per model: name, modality, source data, backbone parameters, input size,
        whether its published weights are available offline right now, licence, description.

    Raises:
        UnknownNameError: ``modality`` is not ``"image"``, ``"text"`` or ``"speech"``.
    """
    if modality is not None:
        check_choice(modality, "modality", "list_models", ("image", "text", "speech"))
    rows = []
    for spec in _registry().values():
        if modality is not None and spec.modality != modality:
            continue
        rows.append({
            "name": spec.name,
            "modality": spec.modality,
            "source": spec.source or "none (random init or tlw:<source>)",
            "params": _count_params(spec),
            "input_size": spec.input_size,
            "offline": _available_offline(spec),
            "licence": spec.licence,
            "description": spec.description,
        })
    return pd.DataFrame(rows)
