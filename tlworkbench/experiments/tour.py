"""Notebook 00, the tour: real photos through ImageNet weights, the head change, a first probe beside
a small CNN trained from scratch on the same labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .._validate import check_int, param_error
from ..config import Profile, get_profile
from ..data import ImageDataset, load_dataset, subsample, validation_split
from ..diagnostics import PairedDifference, paired_difference
from ..evaluation import Evaluation, evaluate, evaluate_features
from ..features import extract_features
from ..freezing import count_parameters, freeze
from ..training import LR_GRID, GridChoice
from ..training.probe import probe_linear
from ..zoo import TransferModel, load_model
from ._memo import memoized
from .feature_extraction import BACKBONE, VAL_FRACTION, feature_cache, tune_probe, tune_scratch

__all__ = ["TOUR_SEEDS", "photos", "classify_photos", "head_change", "tour_probe", "ProbeResult", "run_tour"]

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


#: The tour's seeds: five pairs, the fewest for which the paired interval is not flagged as fragile.
TOUR_SEEDS = (0, 1, 2, 3, 4)


@dataclass
class ProbeResult:
    """The tour's first probe beside a small CNN trained from scratch on the same labels.

    Attributes:
        runs: one row per seed and arm: ``seed``, ``arm``, ``n_train``, ``n_val``, ``knob`` and
            the ``value`` chosen on validation, ``val_accuracy``, ``accuracy`` (test).
        comparison: probe minus scratch in points, paired by seed, with its 95% t-interval.
        evaluation: the first seed's probe on the test set.
        summary: one row per arm.
        conclusion: the sentence that states it, computed from the above.
    """

    runs: pd.DataFrame
    comparison: PairedDifference
    evaluation: Evaluation
    summary: pd.DataFrame
    conclusion: str


def tour_probe(model: TransferModel, train: ImageDataset, val: ImageDataset, test: ImageDataset, *,
               seed: int = 0) -> tuple[Evaluation, GridChoice]:
    """Train only the new head of ``model`` (a linear probe on its frozen features) on ``train``,
    its penalty chosen on ``val`` from :data:`~tlworkbench.training.WEIGHT_DECAY_GRID`.

    The chosen probe becomes the model's head, and is evaluated on ``test``.

    Returns:
        ``(evaluation, choice)``: the test evaluation and the penalty choice (its table).
    """
    store = feature_cache()
    xy = [extract_features(model, data, cache=store, progress=False) for data in (train, val, test)]
    choice = tune_probe(xy[0], xy[1], num_classes=len(train.classes), seed=seed)
    head = probe_linear(model.head)
    if head is None:
        raise param_error("model", "tour_probe", "a model whose head is one linear layer", model.name)
    head.load_state_dict(choice.output.state_dict())
    model.eval()
    return evaluate_features(model.head, *xy[2], classes=test.classes, name=test.name), choice


def _conclusion(target: str, runs: pd.DataFrame, diff: PairedDifference, head: int, total: int, chance: float) -> str:
    mean = runs.groupby("arm")["accuracy"].mean()
    first = runs.iloc[0]
    said = {"a better": "the probe is ahead", "b better": "scratch is ahead",
            "inconclusive": "neither arm is shown to be ahead"}[diff.verdict]
    lesson = {"a better": "The ImageNet features were never trained on silhouettes: what transferred is a general "
                          "vocabulary of edges, shapes and parts, worth more than what a small network learns "
                          "from the same labels.",
              "b better": "Here the ImageNet features are worth less than what a small network learns from the "
                          "same labels.",
              "inconclusive": "With these labels the ImageNet features and a small network trained on them do "
                              "about as well."}[diff.verdict]
    return (f"Training only the new head ({head:,} of {total:,} parameters) on {int(first['n_train'])} labelled "
            f"{target} images, its penalty chosen on {int(first['n_val'])} more, reached {mean['probe']:.1%} "
            f"test accuracy (mean of {diff.n} seeds; chance {chance:.0%}). A small CNN trained from scratch on the "
            f"same images, its learning rate and epoch chosen on the same validation images, reached "
            f"{mean['scratch']:.1%}. Probe minus scratch: {diff}: {said}. {lesson}")


@memoized
def run_tour(*, target: str = "animal_mnist", per_class: int = 20, seeds: Sequence[int] = TOUR_SEEDS,
             profile: str | Profile | None = None) -> ProbeResult:
    """The tour's probe against a small CNN from scratch on ``per_class`` labels per class.

    For each seed: ``per_class`` labelled images per class are drawn, a fifth of them set aside
    for validation (:func:`~tlworkbench.data.validation_split`). The probe (EfficientNet-Lite0's
    ImageNet backbone frozen, a new head) chooses its penalty there, the small CNN its learning
    rate (:data:`~tlworkbench.training.LR_GRID`) and epoch; both train on the rest only, and the
    chosen runs are scored on the target's test split. Choices are made per seed.
    """
    func = "run_tour"
    per_class = check_int(per_class, "per_class", func, minimum=2)
    seeds = tuple(check_int(s, "seeds", func) for s in seeds)
    prof = get_profile(profile)
    data = {}
    rows, evaluations = [], {}
    for seed in seeds:
        model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size, seed=seed)
        if not data:
            data = {split: load_dataset(target, split=split, transform=model, profile=prof) for split in ("train", "test")}
        train, val = validation_split(subsample(data["train"], per_class=per_class, seed=seed), fraction=VAL_FRACTION,
                                      seed=seed)
        freeze(model)
        evaluations[seed], choice = tour_probe(model, train, val, data["test"], seed=seed)
        scratch = tune_scratch(train, val, per_class=per_class, seed=seed, grid=LR_GRID)
        scratch_accuracy = evaluate(scratch.output, data["test"].with_transform(scratch.output)).accuracy
        for arm, knob, c, acc in (("probe", "weight_decay", choice, evaluations[seed].accuracy),
                                  ("scratch", "lr", scratch, scratch_accuracy)):
            rows.append({"seed": seed, "arm": arm, "n_train": len(train), "n_val": len(val), "knob": knob,
                         "value": c.best, "val_accuracy": c.score, "accuracy": acc})
    runs = pd.DataFrame(rows)
    acc = runs.pivot(index="seed", columns="arm", values="accuracy").loc[list(seeds)]
    diff = paired_difference(100 * acc["probe"], 100 * acc["scratch"], unit="points")
    head = sum(p.numel() for p in model.head.parameters())
    total = sum(p.numel() for p in model.parameters())
    small = sum(p.numel() for p in scratch.output.parameters())
    chance = 1 / len(data["test"].classes)
    summary = runs.groupby("arm", sort=False).agg(n=("accuracy", "size"), accuracy=("accuracy", "mean"),
                                                  sd=("accuracy", "std")).round(3)
    summary.insert(0, "trained params", [head, small])
    summary.insert(0, "test images", len(data["test"]))
    summary.insert(0, "train / val images", f"{len(train)} / {len(val)}")
    summary["chance"] = round(chance, 3)
    return ProbeResult(runs, diff, evaluations[seeds[0]], summary,
                       _conclusion(target, runs, diff, head, total, chance))
