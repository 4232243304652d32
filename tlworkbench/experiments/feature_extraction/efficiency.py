"""Labels saved: the probe against scratch at every label budget and seed, paired, with intervals.

The protocol, the same for both arms. Each label budget (``per_class`` examples of every class,
drawn with the seed) is split into a training part and a validation part (a fifth, at least one
example per class). Each arm's hyper-parameter (the probe's penalty, the small CNN's learning
rate) is chosen on the first seed's validation part and reused for the other seeds; the small
CNN's epoch is chosen on each seed's own validation part. The chosen run, trained on the training
part only (no refit on training plus validation), is the one scored on test. One label per class
leaves nothing to validate on: both arms then take the values chosen at the next larger budget.

Every run is a cell of a grid (:mod:`.cells`): with ``executor`` the runs go to other processes or
a cluster, with ``folder`` the finished ones are kept on disk; the table is the same either way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...config import Profile, get_profile, resolve_progress
from ...diagnostics import gain_table
from ...training import WEIGHT_DECAY_GRID, GridChoice, probe_accuracy
from ...zoo import list_models
from .arms import FALLBACK, N_TEST, PROBE, SCRATCH, budgets_for, fixed_probe, pool_size, tune_probe
from .cells import efficiency_grid

__all__ = ["PROBE", "SCRATCH", "FALLBACK", "pool_size", "extra_backbones", "probe_runs", "data_efficiency",
           "efficiency_runs", "efficiency_gains", "verdicts"]

_VERDICTS = {"arm better": "probe ahead", "baseline better": "scratch ahead", "inconclusive": "inconclusive"}

Splits = dict[tuple[int, int], tuple[np.ndarray, "np.ndarray | None"]]


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


def _run_arm(splits: Splits, budgets: Sequence[int], seeds: Sequence[int], *, knob: str,
             tune: Callable[[int, np.ndarray, np.ndarray, int], GridChoice],
             fixed: Callable[[int, np.ndarray, "np.ndarray | None", Any, int], tuple[float, Any]],
             score: Callable[[Any], float]) -> tuple[list[dict[str, Any]], list[pd.DataFrame]]:
    """Every budget and seed of one arm under the protocol of this module."""
    chosen: dict[int, Any] = {}
    rows, grids = [], []
    first = seeds[0]
    for n in sorted(budgets, reverse=True):  # a budget without validation takes a larger budget's choice
        for seed in seeds:
            train, val = splits[(n, seed)]
            if val is None:
                larger = [b for b in chosen if b > n]
                value = chosen[min(larger)] if larger else FALLBACK[knob]
                source = f"val at {min(larger)}/class, seed {first}" if larger else "default (no validation)"
                val_score, out = fixed(n, train, val, value, seed)
            elif seed == first:
                choice = tune(n, train, val, seed)
                value, source, val_score, out = choice.best, "val", choice.score, choice.output
                chosen[n] = value
                grids.append(choice.table.rename(columns={knob: "value"}).assign(knob=knob, per_class=n, seed=seed))
            else:
                value, source = chosen[n], f"val, seed {first}"
                val_score, out = fixed(n, train, val, value, seed)
            rows.append({"per_class": n, "seed": seed, "n_train": len(train), "n_val": 0 if val is None else len(val),
                         "knob": knob, "value": value, "chosen_on": source, "val_accuracy": val_score,
                         "accuracy": score(out)})
    return rows, grids


def probe_runs(features: torch.Tensor, labels: torch.Tensor, test: tuple[torch.Tensor, torch.Tensor], splits: Splits,
               *, budgets: Sequence[int], seeds: Sequence[int],
               grid: Sequence[float] = WEIGHT_DECAY_GRID) -> tuple[list[dict[str, Any]], list[pd.DataFrame]]:
    """The probe arm on a pool's features (rows indexed by the splits' pool indices)."""
    num_classes = int(max(int(labels.max()), int(test[1].max())) + 1)

    def tune(n: int, train: np.ndarray, val: np.ndarray, seed: int) -> GridChoice:
        return tune_probe((features[train], labels[train]), (features[val], labels[val]), num_classes=num_classes,
                          seed=seed, grid=grid)

    def fixed(n: int, train: np.ndarray, val: np.ndarray | None, value: float, seed: int) -> tuple[float, Any]:
        probe = fixed_probe(features[train], labels[train], weight_decay=value, num_classes=num_classes, seed=seed)
        return (math.nan if val is None else probe_accuracy(probe, features[val], labels[val])), probe

    return _run_arm(splits, budgets, seeds, knob="weight_decay", tune=tune, fixed=fixed,
                    score=lambda probe: probe_accuracy(probe, *test))


def data_efficiency(target: str, *, per_class: Sequence[int] | None = None, seeds: Sequence[int] | None = None,
                    profile: str | Profile | None = None, n_test: int = N_TEST, backbones: Sequence[str] | None = None,
                    progress: bool | None = None, executor: Any = None,
                    folder: str | os.PathLike | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The probe on ImageNet features against the small CNN from scratch, per label budget and seed.

    Args:
        target: the target data set.
        per_class: the label budgets, in labels per class (default: the profile's,
            :func:`~.arms.budgets_for`).
        seeds: seeds (default: the profile's); the first one's validation part makes the choices.
        profile: run profile.
        n_test: test images (a stratified subset).
        backbones: more ImageNet backbones to probe beside :data:`BACKBONE` (default:
            :func:`extra_backbones`, none in the quick profile); their rows have the strategy
            ``"linear_probe (<name>)"``.
        progress: a bar of the runs done (``None``: in Jupyter only).
        executor: any :class:`concurrent.futures.Executor` the runs go to (a Dask client's
            ``get_executor()``, a ``ProcessPoolExecutor``); ``None``: one after another, here.
            The table is the same either way.
        folder: keep every finished run there, and read back the runs already kept
            (:func:`~tlworkbench.distributed.run_grid`).

    Returns:
        ``(runs, grids)``: one row per arm, budget and seed (``target``, ``model``, ``strategy``,
        ``per_class``, ``seed``, ``n_train``, ``n_val``, ``knob``, ``value``, ``chosen_on``,
        ``val_accuracy``, ``accuracy``), and the validation score of every grid value where a
        choice was made.
    """
    return efficiency_runs((target,), per_class=per_class, seeds=seeds, profile=profile, n_test=n_test,
                           backbones=backbones, progress=progress, executor=executor, folder=folder)[0]


def efficiency_runs(targets: Sequence[str], *, per_class: Sequence[int] | None = None,
                    seeds: Sequence[int] | None = None, profile: str | Profile | None = None, n_test: int = N_TEST,
                    backbones: Sequence[str] | None = None, progress: bool | None = None, executor: Any = None,
                    folder: str | os.PathLike | None = None) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """:func:`data_efficiency` of several targets as one grid (every cell can run at once), in order."""
    prof = get_profile(profile)
    budgets = tuple(sorted(set(budgets_for(prof) if per_class is None else per_class)))
    seeds = tuple(prof.seeds if seeds is None else seeds)
    extra = tuple(extra_backbones(prof) if backbones is None else backbones)
    return efficiency_grid(tuple(targets), budgets=budgets, seeds=seeds, profile=prof, n_test=n_test,
                           backbones=extra, executor=executor, folder=folder, progress=resolve_progress(progress))


def efficiency_gains(runs: pd.DataFrame, *, transfer: str = PROBE, baseline: str = SCRATCH,
                     level: float = 0.95) -> pd.DataFrame:
    """Probe minus scratch per target and budget, paired by seed, with a t-interval (in points).

    Returns:
        One row per target and budget: ``n`` (pairs), the mean accuracy of each arm, ``gain``,
        ``low`` and ``high`` (the interval, in points), ``wins`` (seeds where the probe did
        better) and ``verdict``: ``"probe ahead"`` or ``"scratch ahead"`` when the interval
        excludes 0, otherwise ``"inconclusive"``.
    """
    table = gain_table(runs, arm_column="strategy", arms=transfer, baseline=baseline, by=("target", "per_class"),
                       interval="t", level=level)
    out = pd.DataFrame({"target": table["target"], "per_class": table["per_class"], "n": table["n"],
                        transfer: table["mean"], baseline: table["baseline_mean"], "gain": 100 * table["gain"],
                        "low": 100 * table["low"], "high": 100 * table["high"], "wins": table["wins"],
                        "verdict": table["verdict"].map(_VERDICTS)})
    return out.sort_values(["target", "per_class"], kind="stable").reset_index(drop=True)


def verdicts(gains: pd.DataFrame) -> dict[str, dict[str, list[int]]]:
    """Per target, the budgets at which the probe is ahead, scratch is ahead, or neither is shown."""
    out: dict[str, dict[str, list[int]]] = {}
    for target, part in gains.groupby("target", sort=False):
        out[target] = {v: [int(b) for b in part.loc[part["verdict"] == v, "per_class"]]
                       for v in ("probe ahead", "scratch ahead", "inconclusive")}
    return out
