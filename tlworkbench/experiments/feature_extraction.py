"""Notebook 01, feature extraction: a frozen ImageNet backbone as a feature extractor.

A linear probe on EfficientNet-Lite0's ImageNet features against a small CNN trained from
scratch, over label budgets and seeds, on targets near and far from ImageNet; which depth of the
backbone transfers best; what the features do to an embedding; and what caching saves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .._validate import check_int
from ..comparison import compare
from ..config import Profile, data_home, get_profile, resolve_progress
from ..data import ImageDataset, load_dataset, stratified_split, subsample
from ..diagnostics import gain_table, h_score, logme
from ..evaluation import evaluate
from ..features import FeatureCache, extract_features
from ..training import epochs_for_steps, fit, fit_probe, probe_accuracy
from ..zoo import list_models, load_model

__all__ = [
    "BACKBONE",
    "TARGETS",
    "PER_CLASS",
    "SCRATCH_IMAGE_SIZE",
    "scratch_steps",
    "extra_backbones",
    "data_efficiency",
    "efficiency_gains",
    "layer_probe",
    "embeddings",
    "probe_timing",
    "target_distance",
    "crossover",
    "conclude",
    "FeatureExtractionResult",
    "run_feature_extraction",
]

BACKBONE = "efficientnet_lite0"
TARGETS = ("animal_mnist", "fashion_mnist", "mnist")
PER_CLASS = (1, 5, 10, 50, 100)  # the label budgets, in labelled examples per class


def _cache() -> FeatureCache:
    """One feature cache for the notebook and its tests, on disk under ``TLW_DATA/features``."""
    return FeatureCache(data_home() / "features")


SCRATCH_BATCH = 32
SCRATCH_IMAGE_SIZE = 28  # the targets' own resolution: no upsampling for the small CNN


def scratch_steps(per_class: int) -> int:
    """Optimizer steps for the from-scratch baseline at ``per_class`` labels per class.

    200 steps plus 5 per label per class, at most 450. Measured on ``animal_mnist`` (seed 0,
    32 px): at 10 labels per class a small CNN reaches .65 after 100 steps, .74 after 300 and
    .73 after 600; at 100 labels per class .81, .90 and .93. At 28 px, 450 steps reach .934 and
    600 steps .932. A baseline trained too briefly would flatter the transfer, so the steps
    grow with the budget until the accuracy stops rising; the epochs that give them follow from
    :func:`~tlworkbench.training.epochs_for_steps`.
    """
    return min(450, 200 + 5 * check_int(per_class, "per_class", "scratch_steps", minimum=1))


def _split(target: str, profile: Profile, model) -> tuple[ImageDataset, ImageDataset]:
    return (load_dataset(target, split="train", transform=model, profile=profile),
            load_dataset(target, split="test", transform=model, profile=profile))


def extra_backbones(profile: str | Profile | None = None) -> tuple[str, ...]:
    """The torchvision ImageNet backbones the full profile probes beside :data:`BACKBONE`.

    Only those whose weight files are in the torch hub cache now (``tlw.list_models()``'s
    ``offline`` column): nothing is downloaded. The quick profile probes :data:`BACKBONE` alone.
    """
    if get_profile(profile).name != "full":
        return ()
    zoo = list_models("image")
    imagenet = zoo[zoo["source"].str.startswith("ImageNet") & zoo["offline"]]
    return tuple(n for n in imagenet["name"] if not n.startswith("efficientnet_lite"))


def data_efficiency(target: str, *, per_class: Sequence[int] = PER_CLASS, seeds: Sequence[int] | None = None,
                    profile: str | Profile | None = None, n_test: int = 500,
                    backbones: Sequence[str] | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Linear probe on ImageNet features against a small CNN from scratch, per label budget and seed.

    Args:
        target: the target data set.
        per_class: the label budgets, in labels per class.
        seeds: seeds (default: the profile's).
        profile: run profile.
        n_test: test images (a stratified subset).
        backbones: more ImageNet backbones to probe beside :data:`BACKBONE` (default:
            :func:`extra_backbones`, none in the quick profile); their rows have the strategy
            ``"linear_probe (<name>)"``.
        progress: a progress bar over the scratch budgets (``None``: in Jupyter only).

    Returns:
        compare()'s tidy frame for both strategies, with a ``target`` column.
    """
    prof = get_profile(profile)
    seeds = tuple(prof.seeds if seeds is None else seeds)
    extra = tuple(extra_backbones(prof) if backbones is None else backbones)
    probe_model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    train, test = _split(target, prof, probe_model)
    progress = resolve_progress(progress)
    pool = int(max(per_class) * len(train.classes) * 1.5)  # the label budgets are drawn from this many
    if len(train) > pool:
        train = train.subset(stratified_split(train.targets.numpy(), pool, seed=0))
    if len(test) > n_test:
        test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=0))
    frames = [compare(BACKBONE, train, test, strategies=("linear_probe",), per_class=per_class, seeds=seeds,
                      image_size=prof.image_size, cache=_cache(), progress=False)]
    for name in extra:
        other = load_model(name, num_classes=10, image_size=prof.image_size)
        run = compare(name, train.with_transform(other), test.with_transform(other), strategies=("linear_probe",),
                      per_class=per_class, seeds=seeds, image_size=prof.image_size, cache=_cache(), progress=False)
        frames.append(run.assign(strategy=f"linear_probe ({name})"))
    small = load_model("small_cnn", num_classes=10, image_size=SCRATCH_IMAGE_SIZE)
    strain, stest = train.with_transform(small), test.with_transform(small)
    for n in tqdm(per_class, desc=f"{target}: scratch per label budget", disable=not progress):
        epochs = epochs_for_steps(n * len(strain.classes), steps=scratch_steps(n), batch_size=SCRATCH_BATCH)
        frames.append(compare("small_cnn", strain, stest, strategies=("scratch",), per_class=(n,), seeds=seeds,
                              epochs=epochs, lr=3e-3, progress=False, image_size=SCRATCH_IMAGE_SIZE,
                              batch_size=SCRATCH_BATCH))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "target", target)
    return out


def efficiency_gains(frame: pd.DataFrame, *, transfer: str = "linear_probe", baseline: str = "scratch") -> pd.DataFrame:
    """Mean accuracy of transfer and baseline per target and budget, paired by seed, and the gain in points."""
    table = gain_table(frame, arm_column="strategy", arms=transfer, baseline=baseline, by=("target", "per_class"))
    out = pd.DataFrame({"target": table["target"], "per_class": table["per_class"], transfer: table["mean"],
                        baseline: table["baseline_mean"], "gain (points)": 100 * table["gain"]})
    return out.sort_values(["target", "per_class"]).round(3).reset_index(drop=True)


def layer_probe(target: str = "animal_mnist", *, n_train: int = 1000, n_test: int = 500,
                profile: str | Profile | None = None, seed: int = 0, progress: bool | None = None) -> pd.DataFrame:
    """Probe accuracy (:func:`~tlworkbench.training.fit_probe`) on the pooled features after each
    group of the backbone.

    Returns:
        One row per group: depth (1 = first group), group, feature dimension, accuracy.
    """
    progress = resolve_progress(progress)
    prof = get_profile(profile)
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    train, test = _split(target, prof, model)
    train = train.subset(stratified_split(train.targets.numpy(), n_train, seed=seed))
    test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=seed))
    rows = []
    for depth, group in enumerate(list(model.groups)[:-1], start=1):
        xtr, ytr = extract_features(model, train, depth=group, cache=_cache(), progress=progress)
        xte, yte = extract_features(model, test, depth=group, cache=_cache(), progress=progress)
        probe = fit_probe(xtr, ytr, num_classes=len(train.classes), seed=seed)
        rows.append({"depth": depth, "group": group, "dim": xtr.shape[1],
                     "accuracy": probe_accuracy(probe, xte, yte)})
    return pd.DataFrame(rows)


def embeddings(target: str = "animal_mnist", *, n: int = 600, profile: str | Profile | None = None,
               seed: int = 0, progress: bool | None = None) -> dict[str, object]:
    """Raw pixels and ImageNet features of ``n`` test images of ``target``, for a 2-D embedding.

    Returns:
        ``{"pixels", "features", "labels", "classes"}`` as NumPy arrays (and the class names).
    """
    progress = resolve_progress(progress)
    prof = get_profile(profile)
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    _, test = _split(target, prof, model)
    test = test.subset(stratified_split(test.targets.numpy(), n, seed=seed))
    feats, labels = extract_features(model, test, cache=_cache(), progress=progress)
    pixels = test.images.flatten(1).float().numpy() / 255.0
    return {"pixels": pixels, "features": feats.numpy(), "labels": labels.numpy(), "classes": test.classes}


def probe_timing(target: str = "animal_mnist", *, per_class: int = 100, epochs: int = 10,
                 profile: str | Profile | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Seconds of a linear probe without a feature cache against the same probe with one."""
    progress = resolve_progress(progress)
    prof = get_profile(profile)
    rows = []
    store = FeatureCache()  # in memory and empty: the first probe extracts, the second reuses
    for label in ("uncached (features computed)", "cached (features reused)"):
        model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size, seed=0)
        train, test = _split(target, prof, model)
        train = subsample(train, per_class=per_class, seed=0)
        start = time.perf_counter()
        fit(model, train, strategy="linear_probe", epochs=epochs, cache=store, progress=progress)
        seconds = time.perf_counter() - start
        rows.append({"probe": label, "seconds": round(seconds, 2),
                     "accuracy": round(evaluate(model, test).accuracy, 3)})
    return pd.DataFrame(rows)


@torch.no_grad()
def target_distance(targets: Sequence[str] = TARGETS, *, n: int = 1000, profile: str | Profile | None = None,
                    progress: bool | None = None) -> pd.DataFrame:
    """How well ImageNet's features suit each target, measured before any training on it.

    On ``n`` training images per target (stratified, seed 0):

    * ``imagenet_confidence``: the ImageNet head's mean top-1 probability (lower: the images look
      less like any ImageNet class);
    * ``knn_pixels`` and ``knn_features``: 5-fold cross-validated 5-nearest-neighbour accuracy
      on raw pixels and on the frozen features, and ``knn_gain``, their difference in points:
      whether the features bring images of a class closer together than their pixels do;
    * ``logme`` and ``h_score`` of the frozen features (:mod:`tlworkbench.diagnostics`).
    """
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    progress = resolve_progress(progress)
    prof = get_profile(profile)
    model = load_model(BACKBONE, image_size=prof.image_size)  # the ImageNet head kept
    rows = []
    for target in targets:
        train = load_dataset(target, split="train", transform=model, profile=prof)
        train = train.subset(stratified_split(train.targets.numpy(), n, seed=0))
        feats, labels = extract_features(model, train, cache=_cache(), progress=progress)
        probs = model.head(feats).softmax(dim=1)
        x, y = feats.numpy(), labels.numpy()
        pixels = train.images.flatten(1).float().numpy() / 255.0
        knn = {name: float(cross_val_score(KNeighborsClassifier(5), data, y, cv=5).mean())
               for name, data in (("pixels", pixels), ("features", x))}
        rows.append({"target": target, "imagenet_confidence": float(probs.max(dim=1).values.mean()),
                     "knn_pixels": knn["pixels"], "knn_features": knn["features"],
                     "knn_gain": 100 * (knn["features"] - knn["pixels"]),
                     "logme": logme(x, y), "h_score": h_score(x, y)})
    return pd.DataFrame(rows).round(3)


@dataclass
class FeatureExtractionResult:
    """Everything notebook 01 shows."""

    efficiency: pd.DataFrame
    gains: pd.DataFrame
    layers: pd.DataFrame
    distance: pd.DataFrame
    timing: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """Probe and scratch accuracy (mean over seeds) and the gain, per target and label budget."""
        return self.gains

    @property
    def conclusion(self) -> str:
        return conclude(self.gains, self.layers, self.distance, self.timing)


def crossover(gains: pd.DataFrame) -> dict[str, int | None]:
    """Per target, the smallest ``per_class`` from which scratch is at least as accurate as the probe
    at every larger one (None when the probe stays ahead at the largest)."""
    out: dict[str, int | None] = {}
    for target, part in gains.groupby("target", sort=False):
        part = part.sort_values("per_class")
        ahead = (part["gain (points)"] > 0).to_numpy()
        per_class = part["per_class"].to_numpy()
        last = np.flatnonzero(ahead)
        if len(last) == 0:
            out[target] = int(per_class[0])
        elif last[-1] == len(per_class) - 1:
            out[target] = None
        else:
            out[target] = int(per_class[last[-1] + 1])
    return out


def conclude(gains: pd.DataFrame, layers: pd.DataFrame, distance: pd.DataFrame, timing: pd.DataFrame) -> str:
    """The notebook's conclusion, written from the measured tables."""
    g = gains.set_index(["target", "per_class"])["gain (points)"]
    targets = list(gains["target"].unique())
    budgets = sorted(gains["per_class"].unique())
    small = 10 if 10 in budgets else budgets[len(budgets) // 2]
    first, large = budgets[0], budgets[-1]
    lines = ["The ImageNet probe's lead over a small CNN trained from scratch (mean of the seeds, in points): "
             + "; ".join(f"{t}: {g[(t, first)]:+.1f} at {first}, {g[(t, small)]:+.1f} at {small}, "
                         f"{g[(t, large)]:+.1f} at {large} labels per class" for t in targets) + "."]
    cross = crossover(gains)
    caught = [f"{t} from {b}" for t, b in cross.items() if b is not None]
    ahead = [t for t, b in cross.items() if b is None]
    if caught:
        lines.append("Scratch catches up (and stays level or ahead) on " + ", ".join(caught) + " labels per class.")
    if ahead:
        lines.append("The probe stays ahead at every budget on " + ", ".join(ahead) + ".")
    d = distance.set_index("target")
    order = d["knn_gain"].sort_values(ascending=False)
    lines.append("Before any training, ImageNet features change 5-NN accuracy against raw pixels by "
                 + ", ".join(f"{v:+.1f} points on {t}" for t, v in order.items())
                 + f"; the probe's lead at {large} labels per class, in the same order: "
                 + ", ".join(f"{g[(t, large)]:+.1f}" for t in order.index) + ".")
    best = layers.loc[layers["accuracy"].idxmax()]
    lines.append(f"The best single depth is {best['group']} (group {int(best['depth'])} of {len(layers)}, "
                 f"accuracy {best['accuracy']:.3f}); the last group reaches {layers['accuracy'].iloc[-1]:.3f}.")
    t = timing["seconds"].to_numpy()
    lines.append(f"The cached probe took {t[1]:.1f} s against {t[0]:.1f} s uncached ({t[0] / max(t[1], 1e-9):.0f}x).")
    return "\n".join(lines)


def run_feature_extraction(*, targets: Sequence[str] = TARGETS, per_class: Sequence[int] = PER_CLASS,
                           seeds: Sequence[int] | None = None, profile: str | Profile | None = None,
                           progress: bool | None = None) -> FeatureExtractionResult:
    """Run every part of notebook 01 (except the embedding) and return the tables."""
    eff = pd.concat([data_efficiency(t, per_class=per_class, seeds=seeds, profile=profile, progress=progress)
                     for t in targets], ignore_index=True)
    return FeatureExtractionResult(
        efficiency=eff, gains=efficiency_gains(eff), layers=layer_probe(targets[0], profile=profile, progress=progress),
        distance=target_distance(targets, profile=profile, progress=progress),
        timing=probe_timing(targets[0], profile=profile))
