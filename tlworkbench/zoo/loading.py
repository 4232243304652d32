"""``load_model``: the one way to get a model of the zoo, with its weights and transforms.

Weights come from, in this order, the offline weight packages, the torch hub cache, a weights
provider (``weights="tlw:<source>"``, see :data:`~tlworkbench.zoo.registry.WEIGHTS_PROVIDERS`),
a state dict saved from a model of the same name, and, in the full profile when online, the
internet. A missing file gives an error that names what to install or where to put it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import urllib.error
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from .._validate import check_bool, check_int, check_kwargs, check_optional, check_type, param_error
from ..config import Profile, is_online_allowed
from ..errors import CorruptFileError, InvalidParameterError, MissingAssetError, NoWeightsError, did_you_mean
from .model import TransferModel, head_weight_key, new_head
from .registry import WEIGHTS_PROVIDERS, ModelSpec, get_spec, weights_provider
from .transforms import ImageTransform, TextTransform
from .weights import load_into, load_state_dict, read_card

__all__ = ["load_model", "read_saved_model", "SAVED_MODEL_FORMAT", "SAVED_MODEL_SUFFIXES"]

#: The ``format`` entry of a file written by :func:`tlworkbench.saving.save_model`, and its version.
SAVED_MODEL_FORMAT = ("tlworkbench-model", 1)
#: Suffixes that make ``load_model`` read its argument as a saved model even before the file is found.
SAVED_MODEL_SUFFIXES = (".pt", ".pth", ".tlw")

_PUBLISHED = ("pretrained", "imagenet", "imagenet1k")
_WEIGHTS_FORMS = ("'default', 'pretrained', None, " + ", ".join(f"'{p}:<key>'" for p in WEIGHTS_PROVIDERS)
                  + " or the path of a state dict saved from a model of the same name")


def load_model(name: str, *, num_classes: int | None = None, weights: str | os.PathLike | None = "default",
               image_size: int | None = None, classes: Sequence[str] | None = None, seed: int | None = None,
               profile: str | Profile | None = None, epochs: int | None = None, progress: bool | None = None,
               **unknown: Any) -> TransferModel:
    """Build a zoo model, load its weights and (optionally) replace its head.

    ``name`` may also be the path of a model saved by :func:`tlworkbench.saving.save_model`
    (an existing file, or a name ending in ``.pt``, ``.pth`` or ``.tlw``): the model comes back
    whole, with its weights, class names and transforms (:func:`read_saved_model`).

    Args:
        name: a name from :func:`~tlworkbench.zoo.list_models`, or the path of a saved model.
        num_classes: outputs of a fresh head; ``None`` keeps the pretrained head.
        weights: ``"default"`` (the published weights where there are some, else a random
            initialisation), ``"pretrained"`` (the published weights; an error when there are
            none), ``None`` (random initialisation), ``"tlw:<source>"`` (a source model the
            workbench pretrains on an offline data set, trained on first use and cached), or a
            path to a state dict saved from a model of the same name.
        image_size: input side the transforms resize to (text: maximum tokens); default: the card's.
        classes: names of the head's outputs.
        seed: seeds the random initialisation of fresh layers, for reproducible heads.
        profile: run profile (decides whether downloads are allowed, and the size of a
            ``tlw:`` source model trained on first use).
        epochs: epochs of a ``tlw:`` source model trained on first use (default: the profile's).
        progress: show the training of a ``tlw:`` source model; ``None``: on in Jupyter only.
        **unknown: rejected; present so that a misspelt keyword gets a did-you-mean hint.

    Returns:
        The :class:`TransferModel`, in eval mode.

    Raises:
        InvalidParameterError: an unknown keyword, or an argument of the wrong type or range.
        UnknownModelError: the name is not in the zoo.
        NoWeightsError: pretrained weights asked for a model that has none, or an unknown prefix.
        MissingAssetError: the weight file is not installed and cannot be downloaded.
        CorruptFileError: the weight file is truncated or its sha256 differs.
        IncompatibleWeightsError: the state dict does not fit the architecture.

    Example:
        >>> model = load_model("efficientnet_lite0", num_classes=10)   # doctest: +SKIP
        >>> list(model.groups)[-2:]                                    # doctest: +SKIP
        ['top', 'head']
    """
    func = "load_model"
    check_kwargs(unknown, func, _KEYWORDS)
    if _is_saved_model(name):
        given = {k: v for k, v in (("num_classes", num_classes), ("classes", classes), ("seed", seed),
                                   ("epochs", epochs)) if v is not None}
        if weights != "default" or given:
            raise InvalidParameterError(
                f"load_model({str(name)!r}) reads a saved model whole (weights, classes, transforms); "
                f"{', '.join([*given, *(['weights'] if weights != 'default' else [])])} cannot be changed "
                "there. Load it, then call model.replace_head(...) for another head.")
        return read_saved_model(name, image_size=image_size)
    spec = get_spec(check_type(name, "name", func, str, "a model name (a str)"))
    num_classes = check_optional(num_classes, check_int, "num_classes", func, minimum=1)
    image_size = check_optional(image_size, check_int, "image_size", func, minimum=16, maximum=1024)
    seed = check_optional(seed, check_int, "seed", func)
    epochs = check_optional(epochs, check_int, "epochs", func, minimum=1)
    progress = check_optional(progress, check_bool, "progress", func)
    check_optional(weights, check_type, "weights", func, (str, os.PathLike), _WEIGHTS_FORMS)
    given = _classes(classes, num_classes)
    names = given
    if weights == "default":
        weights = "pretrained" if spec.has_weights else None
    if weights in _PUBLISHED and not spec.has_weights:
        raise NoWeightsError(
            f"{spec.name!r} has no published pretrained weights. Use weights=None for a "
            "random initialisation, or weights='tlw:<source>' for a source model that the "
            "workbench pretrains (for example 'tlw:font_digits')."
        )
    provided: tuple[dict[str, Any], dict[str, Any]] | None = None
    if _is_provided(weights):
        # trained (or found in the cache) before the seeded block below, so that a fresh head
        # is initialised alike whether the source model was just trained or read from the cache
        provided = _provided_state(spec, str(weights), profile=profile, epochs=epochs, progress=progress)
    label: str | None = None
    with _seeded(seed):
        build = spec.extra["random"] if weights is None and "random" in spec.extra else spec.build
        backbone, head, original = build()
        if weights is None:
            head = None
        elif weights in _PUBLISHED:
            if original is not None:  # text encoders load their own safetensors in build()
                load_into(original, _published_state(spec, profile), what=f"{spec.name} weights")
            label = spec.source
            categories = spec.extra.get("categories")
            names = names if names is not None else (categories() if categories is not None else None)
        else:
            if provided is not None:
                state, card = provided
                label, what = str(weights), f"{weights} weights"
                n_src = int(card["num_classes"]) if "num_classes" in card else _head_size(state)
                source_names = card.get("classes")
            else:
                state, label = _saved_state(spec, weights), str(Path(weights))
                what, n_src, source_names = f"weights in {label!r}", _head_size(state), None
            head = new_head(backbone.feature_dim, n_src, spec.head_dropout)
            load_into(TransferModel(backbone, head, spec, None), state, what=what)
            names = names if names is not None else source_names
        if head is None or num_classes is not None:
            n = num_classes if num_classes is not None else (spec.num_source_classes or 10)
            head = new_head(backbone.feature_dim, n, spec.head_dropout)
            names = given
    model = TransferModel(backbone, head, spec, _transforms_for(spec, image_size), classes=names, weights=label)
    return model.eval()


_KEYWORDS = tuple(p for p in inspect.signature(load_model).parameters if p not in ("name", "unknown"))


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Seed torch's CPU generator inside the block and restore the caller's state after it."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _classes(classes: Any, num_classes: int | None) -> list[Any] | None:
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
        raise param_error("classes", "load_model", "a list of class names or None", classes)
    if num_classes is not None and len(classes) != num_classes:
        raise param_error("classes", "load_model", f"a list of {num_classes} names (num_classes={num_classes})",
                          classes)
    return list(classes)


def _is_provided(weights: Any) -> bool:
    return isinstance(weights, str) and ":" in weights and not Path(weights).exists()


def _head_size(state: dict[str, Any]) -> int:
    return int(state[head_weight_key(state)].shape[0])


def _transforms_for(spec: ModelSpec, image_size: int | None) -> Any:
    if spec.modality == "text":
        return TextTransform(str(spec.extra["folder"]()), max_length=image_size or spec.input_size)
    return ImageTransform(image_size or spec.input_size, spec.channels, spec.mean, spec.std)


def _provided_state(spec: ModelSpec, weights: str, *, profile: str | Profile | None, epochs: int | None,
                    progress: bool | None) -> tuple[dict[str, Any], dict[str, Any]]:
    prefix, _, key = weights.partition(":")
    provider = weights_provider(prefix)
    # a provider may train a model; the caller's random state stays as it was
    with torch.random.fork_rng(devices=[]):
        path = provider(spec, key, profile=profile, epochs=epochs, progress=progress)
    card = read_card(path)
    return load_state_dict(path, what=f"{weights} weight file"), card


def _saved_state(spec: ModelSpec, weights: str | os.PathLike) -> dict[str, Any]:
    path = Path(weights)
    if not path.is_file():
        hint = did_you_mean(str(weights), ["default", *_PUBLISHED]) if isinstance(weights, str) else ""
        raise MissingAssetError(f"The weight file {str(path)!r} for {spec.name!r} does not exist.{hint} "
                                f"The 'weights' parameter of load_model takes {_WEIGHTS_FORMS}.")
    return load_state_dict(path, what=f"weight file for {spec.name}")


def _published_state(spec: ModelSpec, profile: str | Profile | None) -> dict[str, Any]:
    path = spec.weights_file() if spec.weights_file is not None else None
    if path is not None and Path(path).exists():
        return load_state_dict(path, sha256=spec.sha256, what=f"{spec.name} weight file")
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    fname = spec.weights_url.rsplit("/", 1)[-1] if spec.weights_url else ""
    if spec.weights_url and is_online_allowed(profile):
        try:
            return torch.hub.load_state_dict_from_url(spec.weights_url, map_location="cpu",
                                                      check_hash=True, weights_only=True)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:  # HTTPError is a URLError
            raise MissingAssetError(
                f"The ImageNet weights of {spec.name!r} are not here and the download from {spec.weights_url} "
                f"failed ({type(err).__name__}: {err}). Put the file {fname!r} into {str(hub)!r} (from a "
                "machine that is online), or set TLW_OFFLINE=1 to use the offline models only."
            ) from err
    if spec.weights_url:
        raise MissingAssetError(
            f"The ImageNet weights of {spec.name!r} are not here and downloads are off "
            f"(quick profile or TLW_OFFLINE). Put the file {fname!r} (from {spec.weights_url}) "
            f"into {str(hub)!r}, or run with TLW_PROFILE=full on a machine that is online."
        )
    raise MissingAssetError(f"The weights of {spec.name!r} are not installed. {spec.install}")


def _is_saved_model(name: Any) -> bool:
    if isinstance(name, os.PathLike):
        return True
    if not isinstance(name, str):
        return False
    return Path(name).suffix.lower() in SAVED_MODEL_SUFFIXES or ("/" in name and Path(name).expanduser().is_file())


def read_saved_model(path: str | os.PathLike, *, image_size: int | None = None) -> TransferModel:
    """Rebuild a model written by :func:`tlworkbench.saving.save_model`.

    The file is one sealed archive (:func:`~tlworkbench.zoo.weights.save_state_dict`): its
    digest is checked, then it is read with ``torch.load(..., weights_only=True)``, so no code
    in it runs. The architecture is built from the zoo card named inside, without downloading
    weights, and every weight is loaded strictly.

    Args:
        path: the file.
        image_size: input side for the transforms (default: the one saved).

    Returns:
        The :class:`TransferModel` in eval mode, with ``classes``, ``transforms``, ``weights``,
        ``bn_policy``, ``lr_mult`` and ``metrics`` (a dict) as saved.

    Raises:
        MissingAssetError: the file does not exist.
        CorruptFileError: the digest differs, or the file is not a saved model.
        UnknownModelError: the architecture it names is not in this version's zoo.
        IncompatibleWeightsError: the weights do not fit the architecture.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingAssetError(f"The saved model {str(path)!r} does not exist. Write one with "
                                "tlw.save_model(model, path), or pass a model name from tlw.list_models().")
    content = load_state_dict(path, what="saved model")
    fmt = (content.get("format"), content.get("version"))
    if fmt[0] != SAVED_MODEL_FORMAT[0] or not isinstance(content.get("state_dict"), dict):
        raise CorruptFileError(f"{str(path)!r} is not a model saved by tlw.save_model (no "
                               f"{SAVED_MODEL_FORMAT[0]!r} format entry). A plain state dict loads with "
                               "tlw.load_model(name, weights=path).")
    if fmt[1] != SAVED_MODEL_FORMAT[1]:
        raise CorruptFileError(f"{str(path)!r} has saved-model version {fmt[1]!r}; this version reads "
                               f"{SAVED_MODEL_FORMAT[1]}. Save it again with this version.")
    spec = get_spec(str(content["name"]))
    state = content["state_dict"]
    build = spec.extra["random"] if "random" in spec.extra else spec.build
    backbone, _, _ = build()
    head = new_head(backbone.feature_dim, _head_size(state), spec.head_dropout)
    t = dict(content.get("transforms") or {})
    if spec.modality == "text":
        transforms: Any = TextTransform(str(spec.extra["folder"]()), max_length=image_size or t.get("max_length")
                                        or spec.input_size)
    else:
        transforms = ImageTransform(image_size or t.get("size", spec.input_size), t.get("channels", spec.channels),
                                    tuple(t.get("mean", spec.mean)), tuple(t.get("std", spec.std)))
    classes = content.get("classes")
    model = TransferModel(backbone, head, spec, transforms, classes=list(classes) if classes is not None else None,
                          weights=content.get("weights"))
    load_into(model, state, what=f"weights in {str(path)!r}",
              fix="The file was saved from another version of this architecture; save it again.")
    model.bn_policy = str(content.get("bn_policy", "frozen"))
    model.lr_mult = {str(k): float(v) for k, v in (content.get("lr_mult") or {}).items()}
    model.metrics = dict(content.get("metrics") or {})
    return model.eval()
