"""The sets notebook 06 runs on: kana and Fashion-MNIST, or present-everywhere animal silhouettes.

The few-shot half wants ``kana`` (rendered from Japanese fonts that Debian packages, or that a
user copies into ``TLW_DATA/fonts``), the zero-shot half ``fashion_mnist`` (a Debian package, or
its IDX files in ``TLW_DATA/fashion_mnist``). Where either is absent, that half runs on
``animal_mnist`` (ten animal silhouettes installed with pip), which no source of the workbench
saw:

* few shots: the settings are chosen on episodes of five of its classes
  (:data:`ANIMAL_VAL_CLASSES`, every other class in alphabetical order) and scored on 5-way
  episodes of the other five, support and queries drawn from disjoint images of its test split
  (copies of one silhouette counted once);
* no shots: its ten classes, each described by one sentence (:data:`~.zero_shot.ANIMAL_DESCRIPTIONS`).

:func:`choose_targets` makes the choice; the notebook and its tests call it and pass the names
to :func:`~.result.run_few_shot_zero_shot`, so that a stored result is keyed by the sets it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..._validate import check_choice
from ...config import Profile, data_home, get_profile
from ...data import load_dataset, missing_datasets, shared_images
from ...data.kana import font_folder
from ...data.sampling import image_keys
from ...features import extract_features
from ...sources import pretrain_source
from ...zoo import load_model
from ..feature_extraction import BACKBONE, feature_cache
from .episodes import SMALL_MODEL, SMALL_SIZE, SOURCE, embed_kana

__all__ = ["FEW_SHOT_SETS", "ZERO_SHOT_SETS", "FALLBACK", "ANIMAL_VAL_CLASSES", "Targets", "choose_targets",
           "embed_animals", "embed_few_shot", "few_shot_examples"]

#: The few-shot sets, preferred first.
FEW_SHOT_SETS = ("kana", "animal_mnist")
#: The zero-shot sets, preferred first.
ZERO_SHOT_SETS = ("fashion_mnist", "animal_mnist")
#: The set each half falls back to: installed with pip, so present wherever the workbench is.
FALLBACK = "animal_mnist"
#: animal_mnist's classes on which the few-shot settings are chosen; the other five are tested.
ANIMAL_VAL_CLASSES = ("bear", "cat", "dog", "giraffe", "sheep")
_WHAT = {"kana": "the Japanese fonts of 'kana'", "fashion_mnist": "the Fashion-MNIST files of 'fashion_mnist'"}


@dataclass(frozen=True)
class Targets:
    """The sets of the two halves, and why.

    Attributes:
        few_shot: ``"kana"`` or ``"animal_mnist"``.
        zero_shot: ``"fashion_mnist"`` or ``"animal_mnist"``.
        reason: one line that names both sets and, for a fallback, what is missing and how to install it.
    """

    few_shot: str
    zero_shot: str
    reason: str


def choose_targets() -> Targets:
    """The preferred sets where they are available (:func:`~tlworkbench.data.missing_datasets`), else
    :data:`FALLBACK` for that half.

    Example:
        >>> targets = choose_targets()  # doctest: +SKIP
        >>> print(targets.reason)  # doctest: +SKIP
        Few-shot set: kana (available); zero-shot set: fashion_mnist (available).
    """
    missing = missing_datasets((FEW_SHOT_SETS[0], ZERO_SHOT_SETS[0]))
    parts, names = [], []
    for half, (preferred, _) in (("few-shot", FEW_SHOT_SETS), ("zero-shot", ZERO_SHOT_SETS)):
        if preferred not in missing:
            names.append(preferred)
            parts.append(f"{half} set: {preferred} (available)")
        else:
            names.append(FALLBACK)
            parts.append(f"{half} set: {FALLBACK}, because {_WHAT[preferred]} are not found "
                         f"(to use {preferred}: {missing[preferred]}; or, without root, "
                         f"{_without_root(preferred)})")
    reason = "; ".join(parts) + "."
    return Targets(names[0], names[1], reason[0].upper() + reason[1:])


def _without_root(name: str) -> str:
    if name == "kana":
        return f"copy Japanese font files into {font_folder()}"
    return f"copy its four IDX files into {data_home() / 'fashion_mnist'}"


def embed_animals(profile: str | Profile | None = None, *, progress: bool | None = None) -> dict[str, Any]:
    """animal_mnist's test split, embedded as :func:`~.episodes.embed_kana` embeds the kana.

    Copies of one silhouette are kept once, so that an episode cannot hold the same image in its
    support and its queries. ``"val"`` holds :data:`ANIMAL_VAL_CLASSES`, ``"test"`` the other five
    (labels renumbered from 0 in each); neither has fonts (``"fonts"`` is ``None``).

    Returns:
        The structure of :func:`~.episodes.embed_kana`, ``"font_names"`` ``None``.
    """
    prof = get_profile(profile)
    inet = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    pretrain_source(SMALL_MODEL, SOURCE, profile=prof, progress=progress)
    letters = load_model(SMALL_MODEL, weights=f"tlw:{SOURCE}", num_classes=46, image_size=SMALL_SIZE, profile=prof)
    source_images = load_dataset(SOURCE, split="train", profile=prof).images.numpy()
    # loaded as the zero-shot half loads it, so the feature cache serves both halves
    data = load_dataset(FALLBACK, split="test", transform=inet, profile=prof)
    feats, labels = extract_features(inet, data, cache=feature_cache(), progress=progress)
    small = data.with_transform(letters)
    lfeats, _ = extract_features(letters, small, cache=False, progress=progress)
    inputs = small.get_batch(torch.arange(len(small)))[0]
    images, y = data.images.numpy(), labels.numpy()
    _, first = np.unique(np.array(image_keys(images), dtype=object), return_index=True)
    keep = np.zeros(len(y), dtype=bool)
    keep[first] = True
    out: dict[str, Any] = {"shared": int(shared_images(source_images, images[keep])["shared"]), "font_names": None}
    val_classes = sorted(data.classes.index(c) for c in ANIMAL_VAL_CLASSES)
    test_classes = [c for c in range(len(data.classes)) if c not in val_classes]
    for key, classes in (("val", val_classes), ("test", test_classes)):
        idx = np.flatnonzero(keep & np.isin(y, classes))
        out[key] = {"labels": np.searchsorted(classes, y[idx]).astype(np.int64), "fonts": None,
                    "pixels": images[idx].reshape(len(idx), -1) / 255.0, "imagenet": feats.numpy()[idx],
                    "letters": lfeats.numpy()[idx], "inputs": inputs[idx], "images": images[idx],
                    "classes": [data.classes[c] for c in classes]}
    return out


def embed_few_shot(name: str, profile: str | Profile | None = None, *,
                   progress: bool | None = None) -> dict[str, Any]:
    """The few-shot set ``name`` (one of :data:`FEW_SHOT_SETS`), embedded once."""
    name = check_choice(name, "name", "embed_few_shot", FEW_SHOT_SETS)
    return embed_kana(profile, progress=progress) if name == "kana" else embed_animals(profile, progress=progress)


def few_shot_examples(data: dict[str, Any], *, per_class: int = 1) -> dict[str, Any]:
    """A few test images for the notebook's figure, and a caption: for kana, one glyph of every
    fifth class in each font (a row per glyph); else ``per_class`` images of each test class."""
    test = data["test"]
    n_classes = len(test["classes"])
    if data["font_names"]:
        pick = np.concatenate([np.flatnonzero((test["labels"] == c) & (test["fonts"] == f))[:1]
                               for c in range(0, n_classes, 5) for f in range(len(data["font_names"]))])
        ncols, caption = len(data["font_names"]), "fonts (columns): " + ", ".join(data["font_names"])
    else:
        pick = np.concatenate([np.flatnonzero(test["labels"] == c)[:per_class] for c in range(n_classes)])
        ncols, caption = len(pick), "test classes: " + ", ".join(test["classes"])
    return {"images": test["images"][pick], "labels": test["labels"][pick],
            "fonts": None if test["fonts"] is None else test["fonts"][pick], "font_names": data["font_names"],
            "classes": test["classes"], "ncols": ncols, "caption": caption}
