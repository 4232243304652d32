"""Notebook 01, feature extraction: a frozen ImageNet backbone as a feature extractor.

A linear probe on EfficientNet-Lite0's ImageNet features against a small CNN trained from
scratch, over label budgets and seeds, on targets near and far from ImageNet; which depth of the
backbone transfers best; what the features do to an embedding; and what caching saves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..comparison import compare
from ..config import Profile, data_home, get_profile
from ..datasets import ImageDataset, load_dataset, stratified_split
from ..diagnostics import h_score, logme
from ..features import FeatureCache, extract_features
from ..training import fit
from ..evaluation import evaluate
from ..zoo import load_model

__all__ = [
    "BACKBONE",
    "TARGETS",
    "BUDGETS",
    "scratch_epochs",
    "data_efficiency",
    "efficiency_gains",
    "layer_probe",
    "embeddings",
    "probe_timing",
    "target_distance",
    "FeatureExtractionResult",
    "run_feature_extraction",
]

BACKBONE = "efficientnet_lite0"
TARGETS = ("animal_mnist", "fashion_mnist", "mnist")
BUDGETS = (1, 5, 10, 50, 100)


def _cache() -> FeatureCache:
    """One feature cache for the notebook and its tests, on disk under ``TLW_DATA/features``."""
    return FeatureCache(data_home() / "features")


SCRATCH_STEPS = 100
SCRATCH_BATCH = 32


def scratch_epochs(per_class: int, num_classes: int = 10) -> int:
    """Epochs for the from-scratch baseline: about 100 optimizer steps of 32 examples, at least 4
    and at most 60 epochs. Counting steps rather than epochs keeps the smallest budgets from
    being starved of updates (a baseline trained too briefly would flatter the transfer)."""
    steps_per_epoch = math.ceil(per_class * num_classes / SCRATCH_BATCH)
    return int(min(60, max(4, math.ceil(SCRATCH_STEPS / steps_per_epoch))))


def _split(target: str, profile: Profile, model) -> tuple[ImageDataset, ImageDataset]:
    return (load_dataset(target, split="train", transform=model, profile=profile),
            load_dataset(target, split="test", transform=model, profile=profile))


def data_efficiency(target: str, *, budgets: Sequence[int] = BUDGETS, seeds: Sequence[int] | None = None,
                    profile: str | Profile | None = None, n_test: int = 500, progress: bool = True) -> pd.DataFrame:
    """Linear probe on ImageNet features against a small CNN from scratch, per budget and seed.

    Returns:
        compare()'s tidy frame for both strategies, with a ``target`` column.
    """
    prof = get_profile(profile)
    seeds = tuple(prof.seeds if seeds is None else seeds)
    probe_model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    train, test = _split(target, prof, probe_model)
    pool = int(max(budgets) * len(train.classes) * 1.5)  # the budgets are drawn from this many
    if len(train) > pool:
        train = train.subset(stratified_split(train.targets.numpy(), pool, seed=0))
    if len(test) > n_test:
        test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=0))
    frames = [compare(BACKBONE, train, test, strategies=("linear_probe",), budgets=budgets, seeds=seeds,
                      image_size=prof.image_size, cache=_cache(), progress=progress)]
    small = load_model("small_cnn", num_classes=10)
    strain, stest = train.with_transform(small), test.with_transform(small)
    for b in budgets:
        frames.append(compare("small_cnn", strain, stest, strategies=("scratch",), budgets=(b,), seeds=seeds,
                              epochs=scratch_epochs(b, len(strain.classes)), lr=3e-3, progress=progress,
                              batch_size=SCRATCH_BATCH))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "target", target)
    return out


def efficiency_gains(frame: pd.DataFrame, *, transfer: str = "linear_probe", baseline: str = "scratch") -> pd.DataFrame:
    """Mean accuracy of transfer and baseline per target and budget, and the gain in points."""
    mean = frame.groupby(["target", "budget", "strategy"])["accuracy"].mean().unstack("strategy")
    out = pd.DataFrame({transfer: mean[transfer], baseline: mean[baseline]})
    out["gain (points)"] = 100 * (out[transfer] - out[baseline])
    return out.round(3).reset_index()


def layer_probe(target: str = "animal_mnist", *, n_train: int = 1000, n_test: int = 500,
                profile: str | Profile | None = None, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Probe accuracy on the pooled features after each group of the backbone.

    Returns:
        One row per group: depth (1 = first group), group, feature dimension, accuracy.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    prof = get_profile(profile)
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    train, test = _split(target, prof, model)
    train = train.subset(stratified_split(train.targets.numpy(), n_train, seed=seed))
    test = test.subset(stratified_split(test.targets.numpy(), n_test, seed=seed))
    rows = []
    for depth, group in enumerate(list(model.groups)[:-1], start=1):
        xtr, ytr = extract_features(model, train, depth=group, cache=_cache(), progress=progress)
        xte, yte = extract_features(model, test, depth=group, cache=_cache(), progress=progress)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1))
        clf.fit(xtr.numpy(), ytr.numpy())
        rows.append({"depth": depth, "group": group, "dim": xtr.shape[1],
                     "accuracy": float(clf.score(xte.numpy(), yte.numpy()))})
    return pd.DataFrame(rows)


def embeddings(target: str = "animal_mnist", *, n: int = 600, profile: str | Profile | None = None,
               seed: int = 0, progress: bool = True) -> dict[str, object]:
    """Raw pixels and ImageNet features of ``n`` test images, and a 5-NN accuracy for each.

    Returns:
        ``{"pixels", "features", "labels", "classes", "knn"}``; ``knn`` is a frame of the
        cross-validated 5-nearest-neighbour accuracy per representation.
    """
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    prof = get_profile(profile)
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    _, test = _split(target, prof, model)
    test = test.subset(stratified_split(test.targets.numpy(), n, seed=seed))
    feats, labels = extract_features(model, test, cache=_cache(), progress=progress)
    pixels = test.images.flatten(1).float().numpy() / 255.0
    y = labels.numpy()
    knn = pd.DataFrame([
        {"representation": name, "5-NN accuracy": float(cross_val_score(KNeighborsClassifier(5), x, y, cv=5).mean())}
        for name, x in (("pixels", pixels), ("ImageNet features", feats.numpy()))
    ])
    return {"pixels": pixels, "features": feats.numpy(), "labels": y, "classes": test.classes, "knn": knn}


def probe_timing(target: str = "animal_mnist", *, per_class: int = 100, epochs: int = 10,
                 profile: str | Profile | None = None, progress: bool = False) -> pd.DataFrame:
    """Seconds of a linear probe without a feature cache against the same probe with one."""
    from ..datasets import subsample

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
                    progress: bool = True) -> pd.DataFrame:
    """How far each target is from ImageNet, measured before any training.

    Columns: ``imagenet_confidence`` (the ImageNet head's mean top-1 probability on the target:
    lower means the images look less like any ImageNet class), ``logme`` and ``h_score`` (how
    well the frozen features separate the target's classes; higher transfers better).
    """
    prof = get_profile(profile)
    model = load_model(BACKBONE, image_size=prof.image_size)  # the ImageNet head kept
    rows = []
    for target in targets:
        train = load_dataset(target, split="train", transform=model, profile=prof)
        train = train.subset(stratified_split(train.targets.numpy(), n, seed=0))
        feats, labels = extract_features(model, train, cache=_cache(), progress=progress)
        probs = model.head(feats).softmax(dim=1)
        rows.append({"target": target, "imagenet_confidence": float(probs.max(dim=1).values.mean()),
                     "logme": logme(feats.numpy(), labels.numpy()), "h_score": h_score(feats.numpy(), labels.numpy())})
    return pd.DataFrame(rows).round(3)


@dataclass
class FeatureExtractionResult:
    """Everything notebook 01 shows."""

    efficiency: pd.DataFrame
    gains: pd.DataFrame
    layers: pd.DataFrame
    distance: pd.DataFrame
    timing: pd.DataFrame
    knn: pd.DataFrame

    @property
    def conclusion(self) -> str:
        return conclude(self.gains, self.layers, self.distance, self.timing, self.knn)


def conclude(gains: pd.DataFrame, layers: pd.DataFrame, distance: pd.DataFrame, timing: pd.DataFrame,
             knn: pd.DataFrame) -> str:
    """The notebook's conclusion, written from the measured tables."""
    g = gains.set_index(["target", "budget"])["gain (points)"]
    budgets = sorted(gains["budget"].unique())
    small, large = (10 if 10 in budgets else budgets[0]), budgets[-1]
    lines = [f"At {small} labels per class the ImageNet probe beats the small CNN from scratch by "
             + ", ".join(f"{g[(t, small)]:+.1f} points on {t}" for t in gains["target"].unique()) + "."]
    lines.append(f"At {large} labels per class the gap is "
                 + ", ".join(f"{g[(t, large)]:+.1f}" for t in gains["target"].unique())
                 + " points: with enough labels a small model trained on the target itself catches up "
                   "where the target is far from ImageNet's photos.")
    d = distance.set_index("target")
    lines.append("Before any training, the ImageNet head's mean confidence on each target is "
                 + ", ".join(f"{t} {d.loc[t, 'imagenet_confidence']:.2f}" for t in d.index)
                 + "; LogME of the frozen features: "
                 + ", ".join(f"{t} {d.loc[t, 'logme']:.2f}" for t in d.index) + ".")
    best = layers.loc[layers["accuracy"].idxmax()]
    lines.append(f"The best single depth is {best['group']} (group {int(best['depth'])} of {len(layers)}, "
                 f"accuracy {best['accuracy']:.3f}); the last group reaches {layers['accuracy'].iloc[-1]:.3f}.")
    k = knn.set_index("representation")["5-NN accuracy"]
    lines.append(f"5-NN accuracy: {k.iloc[0]:.3f} on raw pixels, {k.iloc[1]:.3f} on ImageNet features.")
    t = timing["seconds"].to_numpy()
    lines.append(f"The cached probe took {t[1]:.1f} s against {t[0]:.1f} s uncached ({t[0] / max(t[1], 1e-9):.0f}x).")
    return "\n".join(lines)


def run_feature_extraction(*, targets: Sequence[str] = TARGETS, budgets: Sequence[int] = BUDGETS,
                           seeds: Sequence[int] | None = None, profile: str | Profile | None = None,
                           progress: bool = False) -> FeatureExtractionResult:
    """Run every part of notebook 01 and return the tables."""
    eff = pd.concat([data_efficiency(t, budgets=budgets, seeds=seeds, profile=profile, progress=progress)
                     for t in targets], ignore_index=True)
    emb = embeddings(targets[0], profile=profile, progress=progress)
    return FeatureExtractionResult(
        efficiency=eff, gains=efficiency_gains(eff), layers=layer_probe(targets[0], profile=profile, progress=progress),
        distance=target_distance(targets, profile=profile, progress=progress),
        timing=probe_timing(targets[0], profile=profile), knn=emb["knn"])
