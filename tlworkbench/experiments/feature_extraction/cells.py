"""Notebook 01's comparison as a grid of cells, run here or on any executor, resumable from disk.

One cell is one arm (the probe on a backbone's features, or the small CNN from scratch) on one
target, label budget and seed, given by names and numbers only (the profile by its name), so
that it can run in another process: it builds its model and data where it runs. The protocol of
:mod:`.efficiency` makes the grid two rounds of :func:`~tlworkbench.distributed.run_grid`: first
every budget's choice on the first seed's validation part (one cell per target, arm and budget
that has a validation part), then every other run with the value chosen for it. Each process
keeps the data and the features of a target in a small cache (:func:`functools.lru_cache`), so
a run in one process decodes and extracts them once, as a single loop would.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from ...config import Profile, get_profile
from ...distributed import run_grid
from ...evaluation import evaluate
from ...features import extract_features
from ...training import WEIGHT_DECAY_GRID, probe_accuracy
from ...zoo import TransferModel, load_model
from .arms import (BACKBONE, FALLBACK, PROBE, SCRATCH, SCRATCH_IMAGE_SIZE, SCRATCH_MODEL, budget_indices,
                   feature_cache, fixed_probe, lr_grid_for, pool_size, target_data, train_scratch, tune_probe,
                   tune_scratch)

__all__ = ["profile_argument", "arm_cell", "efficiency_grid"]

_ORDER = ["target", "model", "strategy", "per_class", "seed", "n_train", "n_val", "knob", "value", "chosen_on",
          "val_accuracy", "accuracy"]
_GRID_ORDER = ["target", "model", "strategy", "per_class", "seed", "knob", "value", "val_score", "chosen"]


def profile_argument(profile: str | Profile | None) -> str | Profile:
    """The profile as a cell carries it: its name when it is a named profile, else the profile itself."""
    prof = get_profile(profile)
    try:
        return prof.name if get_profile(prof.name) == prof else prof
    except ValueError:  # a profile of one's own under a new name
        return prof


@functools.lru_cache(maxsize=4)
def _model(name: str, image_size: int) -> TransferModel:
    return load_model(name, num_classes=10, image_size=image_size)


@functools.lru_cache(maxsize=8)
def _data(target: str, profile: str | Profile, pool: int, n_test: int) -> tuple[Any, Any]:
    """A target's pool and test set, read through the backbone's transforms (once per process)."""
    prof = get_profile(profile)
    return target_data(target, _model(BACKBONE, prof.image_size), pool=pool, n_test=n_test, profile=prof)


@functools.lru_cache(maxsize=8)
def _features(target: str, backbone: str, profile: str | Profile, pool: int,
              n_test: int) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """A backbone's features of a target's pool and test set (cached on disk, and here once per process)."""
    train, test = _data(target, profile, pool, n_test)
    model = _model(backbone, get_profile(profile).image_size)
    feats, labels = extract_features(model, train.with_transform(model), cache=feature_cache(), progress=False)
    test_xy = extract_features(model, test.with_transform(model), cache=feature_cache(), progress=False)
    return feats, labels, test_xy


def arm_cell(*, target: str, arm: str, per_class: int, seed: int, profile: str | Profile, budgets: Sequence[int],
             n_test: int, value: float | None = None) -> dict[str, Any]:
    """One run of notebook 01's comparison: ``arm`` (a backbone's name for the probe, or
    :data:`~.arms.SCRATCH_MODEL`) at ``per_class`` labels per class and ``seed``.

    Without ``value``, the arm's hyper-parameter is chosen on the budget's validation part and the
    validation score of every value tried comes back as ``grid``; with it, the arm trains at that
    value.

    Returns:
        ``n_train``, ``n_val``, ``value``, ``val_accuracy`` (NaN without a validation part),
        ``accuracy`` on the test set and ``grid`` (a list of rows, empty when nothing was chosen).
    """
    prof = get_profile(profile)
    pool, test = _data(target, profile, pool_size(budgets), n_test)
    train, val = budget_indices(pool.targets.numpy(), pool.classes, per_class=per_class, seed=seed)
    if arm == SCRATCH_MODEL:
        knob = "lr"
        small = load_model(SCRATCH_MODEL, num_classes=10, image_size=SCRATCH_IMAGE_SIZE)
        pool, test = pool.with_transform(small), test.with_transform(small)
        if value is None:
            choice = tune_scratch(pool.subset(train), pool.subset(val), per_class=per_class, seed=seed,
                                  grid=lr_grid_for(prof))
        else:
            score, out = train_scratch(pool.subset(train), None if val is None else pool.subset(val),
                                       per_class=per_class, lr=value, seed=seed)
        score_of = lambda model: evaluate(model, test.with_transform(model)).accuracy  # noqa: E731
    else:
        knob = "weight_decay"
        feats, labels, test_xy = _features(target, arm, profile, pool_size(budgets), n_test)
        num_classes = int(max(int(labels.max()), int(test_xy[1].max())) + 1)
        if value is None:
            choice = tune_probe((feats[train], labels[train]), (feats[val], labels[val]), num_classes=num_classes,
                                seed=seed, grid=WEIGHT_DECAY_GRID)
        else:
            out = fixed_probe(feats[train], labels[train], weight_decay=value, num_classes=num_classes, seed=seed)
            score = math.nan if val is None else probe_accuracy(out, feats[val], labels[val])
        score_of = lambda probe: probe_accuracy(probe, *test_xy)  # noqa: E731
    grid: list[dict[str, Any]] = []
    if value is None:
        value, score, out = choice.best, choice.score, choice.output
        grid = choice.table.rename(columns={knob: "value"}).assign(knob=knob, per_class=per_class,
                                                                   seed=seed).to_dict("records")
    return {"n_train": len(train), "n_val": 0 if val is None else len(val), "value": value, "val_accuracy": score,
            "accuracy": score_of(out), "grid": grid}


def efficiency_grid(targets: Sequence[str], *, budgets: Sequence[int], seeds: Sequence[int],
                    profile: str | Profile | None, n_test: int, backbones: Sequence[str] = (),
                    executor: Any = None, folder: str | os.PathLike | None = None,
                    progress: bool | None = None) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Every target's ``(runs, grids)`` of :func:`~.efficiency.data_efficiency`, through two rounds of cells.

    Args:
        targets, budgets, seeds, profile, n_test, backbones: as :func:`~.efficiency.data_efficiency`.
        executor: any :class:`concurrent.futures.Executor` (``client.get_executor()`` of a Dask
            client, a ``ProcessPoolExecutor``); ``None`` runs the cells here, one after another.
        folder: keep every finished cell there; a run with the same folder reads them back.
        progress: a bar of cells done (``None``: in Jupyter only).
    """
    prof = profile_argument(profile)
    budgets = tuple(sorted(set(budgets), reverse=True))  # a budget without validation takes a larger one's choice
    seeds, first = tuple(seeds), seeds[0]
    arms = [(name, PROBE if name == BACKBONE else f"{PROBE} ({name})", "weight_decay")
            for name in (BACKBONE, *backbones)] + [(SCRATCH_MODEL, SCRATCH, "lr")]
    common = {"profile": prof, "budgets": budgets, "n_test": n_test}
    tuned = [{"target": t, "arm": a, "per_class": n, "seed": first, **common}
             for t in targets for a, _, _ in arms for n in budgets if n >= 2]
    done = run_grid(tuned, arm_cell, executor=executor, folder=folder, progress=progress, desc="choices")
    choices = {(c["target"], c["arm"], c["per_class"]): r for c, r in zip(tuned, done.to_dict("records"))}
    rest, how = [], {}
    for t in targets:
        for a, _, knob in arms:
            chosen = {n: r["value"] for (t_, a_, n), r in choices.items() if (t_, a_) == (t, a)}
            for n in budgets:
                for s in seeds:
                    if n >= 2 and s == first:
                        continue
                    if n >= 2:
                        value, source = chosen[n], f"val, seed {first}"
                    else:
                        larger = [b for b in chosen if b > n]
                        value = chosen[min(larger)] if larger else FALLBACK[knob]
                        source = f"val at {min(larger)}/class, seed {first}" if larger else "default (no validation)"
                    how[(t, a, n, s)] = source
                    rest.append({"target": t, "arm": a, "per_class": n, "seed": s, **common, "value": value})
    others = run_grid(rest, arm_cell, executor=executor, folder=folder, progress=progress, desc="runs")
    found = {(c["target"], c["arm"], c["per_class"], c["seed"]): r for c, r in zip(rest, others.to_dict("records"))}
    out = []
    for t in targets:
        runs, grids = [], []
        for a, strategy, knob in arms:
            for n in budgets:
                for s in seeds:
                    tuned_here = n >= 2 and s == first
                    r = choices[(t, a, n)] if tuned_here else found[(t, a, n, s)]
                    runs.append({"target": t, "model": a, "strategy": strategy, "per_class": n, "seed": s,
                                 "n_train": r["n_train"], "n_val": r["n_val"], "knob": knob, "value": r["value"],
                                 "chosen_on": "val" if tuned_here else how[(t, a, n, s)],
                                 "val_accuracy": r["val_accuracy"], "accuracy": r["accuracy"]})
                    if tuned_here:
                        grids.append(pd.DataFrame(r["grid"]).assign(model=a, strategy=strategy))
        frame = pd.DataFrame(runs).sort_values(["strategy", "per_class", "seed"], kind="stable").reset_index(drop=True)
        grid = pd.concat(grids, ignore_index=True)
        grid.insert(0, "target", t)
        out.append((frame[_ORDER], grid[_GRID_ORDER]))
    return out
