"""Views of unsupervised results: cluster scores per seed, anomaly-score distributions, and the
most and least anomalous images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validate import check_int, param_error
from ._common import Described, check_ax, check_frame, check_column, require_column, to_numpy, to_vector

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_cluster_scores", "plot_anomaly_scores", "plot_ranked_images"]


def plot_cluster_scores(runs: pd.DataFrame, *, metric: str = "nmi", ax: Axes | None = None) -> Axes:
    """One dot per seed and a bar at the mean, for each clustering method and representation.

    Args:
        runs: a tidy frame with columns ``method``, ``representation`` and ``metric`` (one row
            per seed), as :func:`tlworkbench.experiments.unsupervised.clustering_runs` returns.
        metric: the numeric column to draw (``"nmi"``, ``"ari"``).
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes.

    Example:
        >>> runs = pd.DataFrame({"method": ["kmeans"] * 4, "representation": ["pixels", "pixels", "codes", "codes"],
        ...                      "nmi": [0.3, 0.32, 0.5, 0.52]})
        >>> ax = plot_cluster_scores(runs)
    """
    func = "plot_cluster_scores"
    runs = check_frame(runs, "runs", func)
    for column in ("method", "representation"):
        require_column(runs, column, "runs", func)
    check_column(runs, metric, "metric", func, numeric=True)
    ax = check_ax(ax, func)
    methods = list(dict.fromkeys(runs["method"]))
    reps = list(dict.fromkeys(runs["representation"]))
    width = 0.8 / len(reps)
    for j, rep in enumerate(reps):
        part = runs[runs["representation"] == rep]
        means = [part.loc[part["method"] == m, metric].mean() for m in methods]
        x = np.arange(len(methods)) + (j - (len(reps) - 1) / 2) * width
        bars = ax.bar(x, means, width=width * 0.9, alpha=0.5, label=rep)
        for xi, m in zip(x, methods):
            values = part.loc[part["method"] == m, metric].to_numpy()
            ax.plot(np.full(len(values), xi), values, "o", ms=3, color=bars.patches[0].get_facecolor()[:3])
    ax.set_xticks(np.arange(len(methods)), methods)
    ax.set_ylabel(metric.upper())
    ax.legend(title="representation", fontsize="small")
    return ax


def plot_anomaly_scores(scores: Any, is_anomaly: Any, *, bins: int = 30, ax: Axes | None = None) -> Axes:
    """Histograms of the anomaly scores of normal examples and of anomalies, as densities.

    Args:
        scores: one score per example (higher: more anomalous).
        is_anomaly: True for the anomalies, one per score.
        bins: histogram bins (>= 2).
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes, with one histogram per group, labelled with its size.

    Example:
        >>> ax = plot_anomaly_scores([0.1, 0.2, 0.3, 0.9], [False, False, False, True], bins=5)
    """
    func = "plot_anomaly_scores"
    s = to_vector(scores, "scores", func).astype(float)
    y = to_vector(is_anomaly, "is_anomaly", func)
    if len(y) != len(s):
        raise param_error("is_anomaly", func, f"one entry per score ({len(s)})", Described(f"{len(y)} entries"))
    y = y.astype(bool)
    bins = check_int(bins, "bins", func, minimum=2)
    ax = check_ax(ax, func)
    edges = np.histogram_bin_edges(s, bins=bins)
    for mask, label in ((~y, "normal"), (y, "novel class")):
        if mask.any():
            ax.hist(s[mask], bins=edges, density=True, alpha=0.5, label=f"{label} (n = {int(mask.sum())})")
    ax.set_xlabel("anomaly score")
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return ax


def plot_ranked_images(images: Any, scores: Any, *, k: int = 8, is_anomaly: Any = None, ax: Any = None,
                       figure: Figure | SubFigure | None = None, cmap: Any = "gray") -> Figure | SubFigure:
    """The ``k`` highest-scoring images on the top row, the ``k`` lowest on the bottom row.

    Args:
        images: (N, H, W) or (N, 1, H, W) images.
        scores: one score per image.
        k: images per row (>= 1, at most half of N).
        is_anomaly: optional, True for the true anomalies: their titles are red.
        ax: an Axes (made by ``subplots``) whose area the grid takes, as the other image grids do;
            not together with ``figure``.
        figure: a figure or sub-figure to draw in; a new figure is made when both are None.
        cmap: colour map of the images.

    Returns:
        The figure, with ``2 * k`` Axes titled by score.

    Example:
        >>> fig = plot_ranked_images(np.random.rand(10, 8, 8), np.arange(10), k=3)
    """
    import matplotlib.pyplot as plt

    func = "plot_ranked_images"
    batch = to_numpy(images)
    if batch.ndim == 4 and batch.shape[1] == 1:
        batch = batch[:, 0]
    if batch.ndim != 3:
        raise param_error("images", func, "a batch (N, H, W) or (N, 1, H, W)", Described(f"shape {batch.shape}"))
    s = to_vector(scores, "scores", func).astype(float)
    if len(s) != len(batch):
        raise param_error("scores", func, f"one score per image ({len(batch)})", Described(f"{len(s)} scores"))
    k = check_int(k, "k", func, minimum=1, maximum=max(1, len(s) // 2))
    flags = None if is_anomaly is None else to_vector(is_anomaly, "is_anomaly", func).astype(bool)
    if ax is not None:
        if figure is not None:
            raise param_error("figure", func, "None when 'ax' is given", figure)
        if ax.get_subplotspec() is None:
            raise param_error("ax", func, "an Axes made by subplots (its area is divided into the grid)", ax)
        ax.set_axis_off()
        fig = ax.figure
        axes = ax.get_subplotspec().subgridspec(2, k).subplots(squeeze=False)
    else:
        fig = figure if figure is not None else plt.figure(figsize=(1.3 * k, 3.2), layout="constrained")
        axes = fig.subplots(2, k, squeeze=False)
    order = np.argsort(-s, kind="stable")
    for row, (picks, name) in enumerate(((order[:k], "most anomalous"), (order[::-1][:k], "least anomalous"))):
        for col, i in enumerate(picks):
            ax = axes[row, col]
            ax.imshow(batch[i], cmap=cmap)
            color = "red" if flags is not None and flags[i] else "black"
            ax.set_title(f"{s[i]:.2f}", fontsize="small", color=color)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize="small")
    return fig
