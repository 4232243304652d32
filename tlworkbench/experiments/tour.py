"""Notebook 00, the tour: real photos through ImageNet weights, the head change, a first probe."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .._validate import check_int, param_error
from ..config import Profile, get_profile
from ..data import load_dataset, subsample
from ..evaluation import Evaluation, evaluate
from ..freezing import count_parameters
from ..training import fit
from ..zoo import TransferModel

__all__ = ["photos", "classify_photos", "head_change", "tour_probe", "ProbeResult"]

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "immunohistochemistry")


def photos(names: Sequence[str] = PHOTOS, *, size: int = 224) -> dict[str, np.ndarray]:
    """Real photographs shipped with scikit-image, centre-cropped square and resized.

    Returns:
        ``{name: uint8 array (size, size, 3)}``.
    """
    from skimage import data as skdata
    from skimage.transform import resize

    out = {}
    for name in names:
        img = getattr(skdata, name)()
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        h, w = img.shape[:2]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        img = img[top:top + s, left:left + s, :3]
        out[name] = (resize(img, (size, size), anti_aliasing=True) * 255).round().astype(np.uint8)
    return out


@torch.no_grad()
def classify_photos(model: TransferModel, images: dict[str, np.ndarray], *, k: int = 3) -> pd.DataFrame:
    """Top-``k`` predictions of a classifier for each photo.

    Returns:
        One row per photo and rank: photo, rank, class, probability.

    Raises:
        InvalidParameterError: a model whose head has no class names, or a bad ``k``.
    """
    func = "classify_photos"
    if not model.classes:
        raise param_error("model", func, "a model whose head has class names", model.name,
                          hint="Load it without num_classes to keep the ImageNet head.")
    k = check_int(k, "k", func, minimum=1, maximum=len(model.classes))
    model.eval()
    batch = torch.stack([torch.from_numpy(img).permute(2, 0, 1) for img in images.values()])
    probs = model(model.transforms(batch)).softmax(dim=1)
    top = probs.topk(k, dim=1)
    rows = []
    for i, name in enumerate(images):
        for r in range(k):
            rows.append({"photo": name, "rank": r + 1, "class": model.classes[int(top.indices[i, r])],
                         "probability": round(float(top.values[i, r]), 3)})
    return pd.DataFrame(rows)


def head_change(before: TransferModel, after: TransferModel) -> pd.DataFrame:
    """Parameters of the backbone and head before and after the head was replaced."""
    rows = []
    for label, model in (("before", before), ("after", after)):
        trainable, total = count_parameters(model)
        rows.append({"model": label, "outputs": model.num_classes,
                     "backbone params": sum(p.numel() for p in model.backbone.parameters()),
                     "head params": sum(p.numel() for p in model.head.parameters()),
                     "trainable params": trainable, "total params": total})
    return pd.DataFrame(rows).set_index("model")


@dataclass
class ProbeResult:
    """A first linear probe: its evaluation, a one-row summary and the sentence that states it."""

    evaluation: Evaluation
    summary: pd.DataFrame
    conclusion: str


def tour_probe(model: TransferModel, *, target: str = "animal_mnist", per_class: int = 20, seed: int = 0,
               profile: str | Profile | None = None) -> ProbeResult:
    """Train only the (new) head of ``model`` on ``per_class`` labels per class of ``target`` and
    test it on the target's test split."""
    prof = get_profile(profile)
    train = subsample(load_dataset(target, split="train", transform=model, profile=prof), per_class=per_class,
                      seed=seed)
    test = load_dataset(target, split="test", transform=model, profile=prof)
    start = time.perf_counter()
    fit(model, train, strategy="linear_probe", seed=seed, progress=False)
    seconds = time.perf_counter() - start
    ev = evaluate(model, test)
    trainable = sum(p.numel() for p in model.head.parameters())
    total = sum(p.numel() for p in model.parameters())
    chance = 1 / len(test.classes)
    summary = pd.DataFrame([{"target": target, "labels per class": per_class, "train images": len(train),
                             "test images": len(test), "accuracy": round(ev.accuracy, 3), "chance": round(chance, 3),
                             "head params": trainable, "all params": total, "seconds": round(seconds, 1)}])
    conclusion = (f"Training only the new head ({trainable:,} of {total:,} parameters) on {len(train)} labelled "
                  f"{target} images took {seconds:.1f} s and reached {ev.accuracy:.1%} accuracy on {len(test)} "
                  f"unseen images (chance: {chance:.0%}). The ImageNet features were never trained on "
                  "silhouettes: what transferred is a general vocabulary of edges, shapes and parts.")
    return ProbeResult(ev, summary, conclusion)
