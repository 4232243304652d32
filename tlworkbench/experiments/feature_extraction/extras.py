"""The rest of notebook 01: how far each target is from ImageNet, the input-size handicap, an
embedding, and what the feature cache saves."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...config import Profile, get_profile, resolve_progress
from ...data import load_dataset, stratified_split
from ...diagnostics import h_score, logme
from ...distributed import run_grid
from ...evaluation import evaluate_features
from ...features import FeatureCache, extract_features
from ...training import fit
from ...zoo import load_model
from .arms import BACKBONE, N_TEST, budget_indices, budgets_for, feature_cache, target_data, targets_for
from .cells import profile_argument
from .efficiency import PROBE, pool_size, probe_runs

__all__ = ["RESOLUTION", "resolution_for", "target_distance", "resolution_cell", "resolution_probe", "embeddings",
           "probe_timing"]

#: The input-size point of each profile: the probe at a larger input size than the profile's, on
#: one target and budget. EfficientNet-Lite0 was trained on 224 px photos; the targets are 28 px,
#: upsampled to the profile's 64 px (quick) or 128 px (full).
RESOLUTION = {"quick": {"target": "mnist", "per_class": 10, "size": 128},
              "full": {"target": "mnist", "per_class": 100, "size": 224}}


def resolution_for(profile: str | Profile | None = None) -> dict[str, object]:
    """The target, budget and larger input size of the profile's input-size point."""
    return dict(RESOLUTION[get_profile(profile).name])


@torch.no_grad()
def target_distance(targets: Sequence[str] | None = None, *, n: int = 1000, per_class: Sequence[int] | None = None,
                    profile: str | Profile | None = None, progress: bool | None = None) -> pd.DataFrame:
    """How well ImageNet's features suit each target, measured before any training on it.

    On ``n`` images of each target (default: the profile's) from its pool of training images (the pool of
    :func:`data_efficiency` for ``per_class``; a stratified sample, seed 0):

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
    budgets = budgets_for(prof) if per_class is None else per_class
    targets = targets_for(prof) if targets is None else targets
    model = load_model(BACKBONE, image_size=prof.image_size)  # the ImageNet head kept
    rows = []
    for target in targets:
        pool, _ = target_data(target, model, pool=pool_size(budgets), profile=prof)
        feats, labels = extract_features(model, pool, cache=feature_cache(), progress=progress)
        idx = stratified_split(labels.numpy(), n, seed=0)
        feats, labels = feats[idx], labels[idx]
        probs = model.head.eval()(feats).softmax(dim=1)
        x, y = feats.numpy(), labels.numpy()
        pixels = pool.images[idx].flatten(1).float().numpy() / 255.0
        knn = {name: float(cross_val_score(KNeighborsClassifier(5), data, y, cv=5).mean())
               for name, data in (("pixels", pixels), ("features", x))}
        rows.append({"target": target, "n": len(y), "imagenet_confidence": float(probs.max(dim=1).values.mean()),
                     "knn_pixels": knn["pixels"], "knn_features": knn["features"],
                     "knn_gain": 100 * (knn["features"] - knn["pixels"]),
                     "logme": logme(x, y), "h_score": h_score(x, y)})
    return pd.DataFrame(rows)


def resolution_cell(*, target: str, per_class: int, size: int, seeds: Sequence[int], budgets: Sequence[int],
                    profile: str | Profile, n_test: int) -> list[dict[str, object]]:
    """The probe of :func:`resolution_probe` at one input size, every seed (a cell of its grid)."""
    prof = get_profile(profile)
    model = load_model(BACKBONE, num_classes=10, image_size=size)
    pool, test = target_data(target, model, pool=pool_size(budgets), n_test=n_test, profile=prof)
    splits = {(per_class, s): budget_indices(pool.targets.numpy(), pool.classes, per_class=per_class, seed=s)
              for s in seeds}
    need = np.unique(np.concatenate([np.concatenate([t, v if v is not None else t[:0]]) for t, v in splits.values()]))
    part, labels = extract_features(model, pool.subset(need, name=f"{pool.name}[{len(need)}]"), cache=feature_cache(),
                                    progress=False)
    feats = torch.zeros(len(pool), part.shape[1])
    feats[torch.as_tensor(need)] = part
    test_xy = extract_features(model, test, cache=feature_cache(), progress=False)
    rows, _ = probe_runs(feats, pool.targets, test_xy, splits, budgets=(per_class,), seeds=seeds)
    return [dict(r, target=target, strategy=f"{PROBE} ({size} px)", size=size) for r in rows]


def resolution_probe(target: str | None = None, *, per_class: int | None = None, size: int | None = None,
                     seeds: Sequence[int] | None = None, budgets: Sequence[int] | None = None,
                     profile: str | Profile | None = None, n_test: int = N_TEST, progress: bool | None = None,
                     executor: Any = None, folder: str | os.PathLike | None = None) -> pd.DataFrame:
    """The probe at the profile's input size against the same probe at ``size`` px.

    The labelled images, their validation split, the penalty grid and the protocol are those of
    :func:`data_efficiency` (the pool of ``budgets``); only the input size changes. Features at
    ``size`` are computed for the images the runs use and cached on disk. Each input size is one
    cell of a grid (:func:`resolution_cell`): ``executor`` and ``folder`` are those of
    :func:`~tlworkbench.distributed.run_grid`.

    Returns:
        One row per input size and seed, as :func:`data_efficiency`'s runs, with ``strategy``
        ``"linear_probe (<size> px)"`` and a ``size`` column.
    """
    prof = get_profile(profile)
    point = resolution_for(prof)
    target = point["target"] if target is None else target
    per_class = point["per_class"] if per_class is None else per_class
    size = point["size"] if size is None else size
    seeds = tuple(prof.seeds if seeds is None else seeds)
    budgets = tuple(budgets_for(prof) if budgets is None else budgets)
    cells = [{"target": target, "per_class": per_class, "size": px, "seeds": seeds, "budgets": budgets,
              "profile": profile_argument(prof), "n_test": n_test} for px in (prof.image_size, size)]
    return run_grid(cells, resolution_cell, executor=executor, folder=folder, progress=resolve_progress(progress),
                    desc="input sizes")


def embeddings(target: str = "animal_mnist", *, n: int = N_TEST, profile: str | Profile | None = None,
               seed: int = 0, progress: bool | None = None) -> dict[str, object]:
    """Raw pixels and ImageNet features of ``n`` test images of ``target``, for a 2-D embedding.

    With the default ``n`` and ``seed``, the test images of :func:`data_efficiency` (their
    features come from the cache).

    Returns:
        ``{"pixels", "features", "labels", "classes"}`` as NumPy arrays (and the class names).
    """
    progress = resolve_progress(progress)
    prof = get_profile(profile)
    model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size)
    test = load_dataset(target, split="test", transform=model, profile=prof)
    test = test.subset(stratified_split(test.targets.numpy(), n, seed=seed))
    feats, labels = extract_features(model, test, cache=feature_cache(), progress=progress)
    pixels = test.images.flatten(1).float().numpy() / 255.0
    return {"pixels": pixels, "features": feats.numpy(), "labels": labels.numpy(), "classes": test.classes}


def probe_timing(target: str = "animal_mnist", *, per_class: int = 100, epochs: int = 10,
                 budgets: Sequence[int] | None = None, profile: str | Profile | None = None,
                 progress: bool | None = None) -> pd.DataFrame:
    """Seconds of a linear probe (``fit(strategy="linear_probe")``) without a feature cache
    against the same probe with one, on ``per_class`` labels per class (seed 0) of the pool."""
    progress = resolve_progress(progress)
    prof = get_profile(profile)
    budgets = budgets_for(prof) if budgets is None else budgets
    rows = []
    store = FeatureCache()  # in memory and empty: the first probe extracts, the second reuses
    for label in ("uncached (features computed)", "cached (features reused)"):
        model = load_model(BACKBONE, num_classes=10, image_size=prof.image_size, seed=0)
        pool, test = target_data(target, model, pool=pool_size(budgets), profile=prof)
        train_idx, val_idx = budget_indices(pool.targets.numpy(), pool.classes, per_class=per_class, seed=0)
        train = pool.subset(np.sort(np.concatenate([train_idx, val_idx])), name=f"{pool.name}[{per_class}/class]")
        start = time.perf_counter()
        fit(model, train, strategy="linear_probe", epochs=epochs, cache=store, progress=progress)
        seconds = time.perf_counter() - start
        test_x, test_y = extract_features(model, test, cache=feature_cache(), progress=progress)
        rows.append({"probe": label, "seconds": round(seconds, 2),
                     "accuracy": round(evaluate_features(model.head, test_x, test_y).accuracy, 3)})
    return pd.DataFrame(rows)
