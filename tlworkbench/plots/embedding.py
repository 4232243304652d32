"""Features projected to 2-D (PCA or t-SNE): colour by class, marker by domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._validate import check_choice, check_int, param_error
from ..errors import InvalidParameterError
from ._common import Described, check_ax, class_name, to_numpy, to_vector

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_embedding"]

_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*", "<", ">")


def _project(feats: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, list[str]]:
    """The 2-D points and the names of their axes."""
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        points = pca.fit_transform(feats)
        return points, [f"PC {i + 1} ({r:.0%})" for i, r in enumerate(pca.explained_variance_ratio_)]
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(feats) - 1) / 3.0)
    points = TSNE(n_components=2, perplexity=perplexity, init="pca",
                  random_state=seed).fit_transform(feats)
    return points, ["t-SNE 1", "t-SNE 2"]


def plot_embedding(
    features: Any,
    labels: Any,
    *,
    domains: Any = None,
    method: Literal["pca", "tsne"] = "pca",
    classes: Sequence[str] | None = None,
    ax: Axes | None = None,
    seed: int = 0,
    max_points: int = 2000,
) -> Axes:
    """Project features to 2-D and scatter them, colour by class and marker by domain.

    Args:
        features: array or tensor shaped (N, D); more dimensions are flattened.
        labels: class of each row, shape (N,): integers (named by ``classes``) or names.
        domains: domain of each row, shape (N,), e.g. ``"source"``/``"target"``; None for one.
        method: ``"pca"`` (fast, linear) or ``"tsne"`` (slower, keeps neighbourhoods).
        classes: names of integer classes, ``classes[i]`` for class ``i``.
        ax: Axes to draw on; a new figure is made when None.
        seed: seed of the subsample and of t-SNE.
        max_points: at most this many rows are drawn, sampled at random without replacement.

    Returns:
        The Axes drawn on: one scatter collection per domain, a class legend and, when
        ``domains`` is given, a domain legend.

    Raises:
        InvalidParameterError: on mismatched lengths, too few rows or columns, or an unknown
            ``method``.
    """
    func = "plot_embedding"
    check_choice(method, "method", func, ["pca", "tsne"], error=InvalidParameterError)
    max_points = check_int(max_points, "max_points", func, minimum=1)
    seed = check_int(seed, "seed", func, minimum=0)
    feats = to_numpy(features)
    if feats.ndim < 2:
        raise param_error("features", func, "shaped (N, D)", Described(f"shape {feats.shape}"))
    feats = feats.reshape(len(feats), -1).astype(float)
    labels = to_vector(labels, "labels", func)
    doms = None if domains is None else to_vector(domains, "domains", func)
    for param, arr in (("labels", labels), ("domains", doms)):
        if arr is not None and len(arr) != len(feats):
            raise param_error(param, func, f"one entry per row of 'features' ({len(feats)})",
                              Described(f"{len(arr)} entries"))
    if len(feats) < 4 or feats.shape[1] < 2:
        raise param_error("features", func, "at least 4 rows and 2 columns",
                          Described(f"shape {feats.shape}"))
    rng = np.random.default_rng(seed)
    if len(feats) > max_points:
        keep = np.sort(rng.choice(len(feats), size=max_points, replace=False))
        feats, labels = feats[keep], labels[keep]
        doms = None if doms is None else doms[keep]
    points, axis_names = _project(feats, method, seed)

    import matplotlib
    from matplotlib.lines import Line2D

    ax = check_ax(ax, func)
    present = list(pd.unique(labels))
    try:
        present.sort()
    except TypeError:
        pass
    cmap = matplotlib.colormaps["tab10" if len(present) <= 10 else "tab20"]
    color_of = {c: cmap(i % cmap.N) for i, c in enumerate(present)}
    colors = np.array([color_of[c] for c in labels])
    domain_names = [None] if doms is None else list(pd.unique(doms))
    for k, dom in enumerate(domain_names):
        mask = np.ones(len(points), bool) if dom is None else doms == dom
        ax.scatter(points[mask, 0], points[mask, 1], c=colors[mask],
                   marker=_MARKERS[k % len(_MARKERS)], s=14, alpha=0.8, linewidths=0,
                   label=None if dom is None else str(dom))
    class_handles = [
        Line2D([], [], linestyle="", marker="o", color=color_of[c],
               label=class_name(c, classes, "labels", func))
        for c in present
    ]
    class_legend = ax.legend(handles=class_handles, title="class", loc="upper left",
                             bbox_to_anchor=(1.02, 1.0), fontsize="small")
    if doms is not None:
        ax.add_artist(class_legend)
        domain_handles = [
            Line2D([], [], linestyle="", marker=_MARKERS[k % len(_MARKERS)], color="0.3",
                   label=str(dom))
            for k, dom in enumerate(domain_names)
        ]
        ax.legend(handles=domain_handles, title="domain", loc="lower left",
                  bbox_to_anchor=(1.02, 0.0), fontsize="small")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    return ax
