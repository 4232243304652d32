"""Notebook 01's result: its tables, the conclusion computed from them, and the one call that runs it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...config import Profile, get_profile
from ...diagnostics import gain_table
from .._memo import memoized
from .arms import budgets_for, targets_for
from .depth import layer_probe
from .efficiency import PROBE, efficiency_gains, efficiency_runs, verdicts
from .extras import probe_timing, resolution_probe, target_distance

__all__ = ["FeatureExtractionResult", "resolution_gain", "conclude", "run_feature_extraction"]


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "\N{MINUS SIGN}")


def _interval(row: pd.Series) -> str:
    return f"{_signed(row['gain'])} [{_signed(row['low'])}, {_signed(row['high'])}]"


def _budgets(values: Sequence[int]) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def resolution_gain(runs: pd.DataFrame) -> pd.DataFrame:
    """The larger input size against the profile's, paired by seed (points, 95% t-interval)."""
    sizes = sorted(runs["size"].unique())
    names = {s: runs.loc[runs["size"] == s, "strategy"].iloc[0] for s in sizes}
    table = gain_table(runs, arm_column="strategy", arms=names[sizes[-1]], baseline=names[sizes[0]],
                       by=("target", "per_class"), interval="t")
    return pd.DataFrame({"target": table["target"], "per_class": table["per_class"], "n": table["n"],
                         f"{sizes[0]} px": table["baseline_mean"], f"{sizes[-1]} px": table["mean"],
                         "gain": 100 * table["gain"], "low": 100 * table["low"], "high": 100 * table["high"],
                         "verdict": table["verdict"].map({"arm better": f"{sizes[-1]} px ahead",
                                                          "baseline better": f"{sizes[0]} px ahead",
                                                          "inconclusive": "inconclusive"})})


@dataclass
class FeatureExtractionResult:
    """Everything notebook 01 shows.

    Attributes:
        efficiency: one row per arm, target, label budget and seed (:func:`data_efficiency`).
        grids: the validation score of every value where a choice was made.
        gains: probe minus scratch per target and budget, with intervals (:func:`efficiency_gains`).
        layers: the probe per depth, chosen on validation (:func:`layer_probe`).
        distance: how far each target is from ImageNet (:func:`target_distance`).
        timing: a probe without and with the feature cache (:func:`probe_timing`).
        resolution: the probe at two input sizes (:func:`resolution_probe`).
        image_size: the input size of every probe but the resolution point's larger one.
    """

    efficiency: pd.DataFrame
    grids: pd.DataFrame
    gains: pd.DataFrame
    layers: pd.DataFrame
    distance: pd.DataFrame
    timing: pd.DataFrame
    resolution: pd.DataFrame
    image_size: int

    @property
    def resolution_gain(self) -> pd.DataFrame:
        """The resolution point's paired gain (:func:`resolution_gain`)."""
        return resolution_gain(self.resolution)

    @property
    def summary(self) -> pd.DataFrame:
        """Per target and budget: n, both arms' mean accuracy, the gain with its interval, the verdict."""
        g = self.gains
        return pd.DataFrame({"target": g["target"], "labels per class": g["per_class"], "n": g["n"],
                             "probe": g[PROBE].round(3), "scratch": g["scratch"].round(3),
                             "probe - scratch (points, 95% t-interval)": g.apply(_interval, axis=1),
                             "verdict": g["verdict"]})

    @property
    def conclusion(self) -> str:
        return conclude(self)


def conclude(result: FeatureExtractionResult) -> str:
    """The notebook's conclusion, written from the measured tables."""
    g = result.gains
    n = sorted(g["n"].unique())
    lines = [f"Probe minus scratch in test accuracy points, the mean over n = {_budgets(n)} paired seeds with "
             "its 95% t-interval, per label budget:"]
    for target, part in g.groupby("target", sort=False):
        lines.append(f"  {target}: " + "; ".join(f"{_interval(r)} at {r['per_class']}" for _, r in part.iterrows()))
    for target, v in verdicts(g).items():
        said = [f"the probe is ahead at {_budgets(v['probe ahead'])}" if v["probe ahead"] else "",
                f"scratch is ahead at {_budgets(v['scratch ahead'])}" if v["scratch ahead"] else "",
                f"the interval covers 0 at {_budgets(v['inconclusive'])} (inconclusive)" if v["inconclusive"] else ""]
        lines.append(f"On {target}, " + ", ".join(s for s in said if s) + " labels per class.")
    shown = int((g["verdict"] != "inconclusive").sum())
    lines.append(f"{shown} of {len(g)} differences are shown at 95%; with {_budgets(n)} seeds the others may be "
                 "real differences too small for so few seeds, not evidence of no difference.")
    large = int(g["per_class"].max())
    d = result.distance.set_index("target")
    order = d["knn_gain"].sort_values(ascending=False)
    at_large = g[g["per_class"] == large].set_index("target")["gain"]
    lines.append("Before any training, ImageNet features change 5-NN accuracy against raw pixels by "
                 + ", ".join(f"{_signed(v)} points on {t}" for t, v in order.items())
                 + f"; the probe's mean gain at {large} labels per class, in the same order: "
                 + ", ".join(_signed(at_large[t]) for t in order.index if t in at_large.index) + ".")
    layers = result.layers
    best = layers[layers["chosen"]].iloc[0]
    top = layers.iloc[-1]
    lines.append(f"Depth, chosen on {int(best['n_val'])} validation images: {best['group']} (group "
                 f"{int(best['depth'])} of {len(layers)}, validation accuracy {best['val_accuracy']:.3f}; the last "
                 f"group {top['group']}: {top['val_accuracy']:.3f}); its test accuracy {best['test_accuracy']:.3f} on "
                 f"{int(best['n_test'])} images (one seed).")
    r = result.resolution_gain.iloc[0]
    small, big = [c for c in result.resolution_gain.columns if c.endswith(" px")]
    lines.append(f"Input size: EfficientNet-Lite0 was trained on 224 px photos and reads the 28 px targets "
                 f"upsampled to {result.image_size} px. At {big} instead of {small} the probe changes by "
                 f"{_interval(r)} points on {r['target']} at {r['per_class']} labels per class (n = {r['n']}): "
                 f"{r['verdict']}.")
    t = result.timing["seconds"].to_numpy()
    lines.append(f"The cached probe took {t[1]:.1f} s against {t[0]:.1f} s uncached "
                 f"({t[0] / max(t[1], 1e-9):.0f}x).")
    return "\n".join(lines)


@memoized
def run_feature_extraction(*, targets: Sequence[str] | None = None, per_class: Sequence[int] | None = None,
                           seeds: Sequence[int] | None = None, profile: str | Profile | None = None,
                           progress: bool | None = None, executor: Any = None,
                           folder: str | os.PathLike | None = None) -> FeatureExtractionResult:
    """Run every part of notebook 01 but the embedding, and return the tables.

    Args:
        targets: the target data sets (default: the profile's, :func:`~.arms.targets_for`); the
            first one's largest budget is probed at every depth and timed.
        per_class: the label budgets (default: the profile's, :func:`~.arms.budgets_for`).
        seeds: seeds (default: the profile's).
        profile: run profile.
        progress: progress bars (``None``: in Jupyter only).
        executor: any :class:`concurrent.futures.Executor` that runs the comparison's runs (every
            target, arm, budget and seed) and the two input sizes of the resolution point:
            ``client.get_executor()`` of a Dask client, a
            ``ProcessPoolExecutor``. ``None``: one after another, here. The tables are the same
            either way, but for the seconds of the timing.
        folder: keep every finished run of those grids there; a run with the same folder reads
            them back and computes only the rest (:func:`~tlworkbench.distributed.run_grid`).
    """
    prof = get_profile(profile)
    targets = tuple(targets_for(prof) if targets is None else targets)
    budgets = tuple(sorted(set(budgets_for(prof) if per_class is None else per_class)))
    seeds = tuple(prof.seeds if seeds is None else seeds)
    runs, grids = zip(*efficiency_runs(targets, per_class=budgets, seeds=seeds, profile=prof, progress=progress,
                                       executor=executor, folder=folder))
    efficiency = pd.concat(runs, ignore_index=True)
    return FeatureExtractionResult(
        efficiency=efficiency, grids=pd.concat(grids, ignore_index=True), gains=efficiency_gains(efficiency),
        layers=layer_probe(targets[0], per_class=max(budgets), seed=seeds[0], profile=prof, progress=progress),
        distance=target_distance(targets, per_class=budgets, profile=prof, progress=progress),
        timing=probe_timing(targets[0], per_class=max(budgets), budgets=budgets, profile=prof),
        resolution=resolution_probe(seeds=seeds, budgets=budgets, profile=prof, progress=progress, executor=executor,
                                    folder=folder),
        image_size=prof.image_size)

