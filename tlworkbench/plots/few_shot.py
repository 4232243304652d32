"""Views of few-shot and zero-shot results: accuracy per method and shot count with intervals, and
unseen-class accuracy per split against its controls."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._common import check_ax, check_column, check_frame, require_column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_shot_accuracy", "plot_zero_shot"]


def plot_shot_accuracy(table: pd.DataFrame, *, chance: float | None = None, ax: Axes | None = None) -> Axes:
    """Mean accuracy of each method at each shot count, with its interval as an error bar.

    Args:
        table: one row per shot count and method, with columns ``k_shot``, ``method``,
            ``accuracy``, ``low`` and ``high`` (as the notebook's accuracy table).
        chance: draws a dashed line at chance accuracy when given.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes.

    Example:
        >>> t = pd.DataFrame({"k_shot": [1, 1, 5, 5], "method": ["a", "b", "a", "b"], "accuracy": [.5, .6, .7, .8],
        ...                   "low": [.45, .55, .65, .75], "high": [.55, .65, .75, .85]})
        >>> ax = plot_shot_accuracy(t, chance=0.2)
    """
    func = "plot_shot_accuracy"
    table = check_frame(table, "table", func)
    for column in ("k_shot", "method"):
        require_column(table, column, "table", func)
    for column in ("accuracy", "low", "high"):
        check_column(table, column, "table", func, numeric=True)
    ax = check_ax(ax, func)
    shots = sorted(table["k_shot"].unique())
    methods = list(dict.fromkeys(table["method"]))
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        part = table[table["method"] == method].set_index("k_shot").reindex(shots)
        x = np.arange(len(shots)) + (j - (len(methods) - 1) / 2) * width
        err = np.vstack([part["accuracy"] - part["low"], part["high"] - part["accuracy"]])
        ax.bar(x, part["accuracy"], width=width * 0.9, yerr=err, capsize=2, label=method, alpha=0.8)
    if chance is not None:
        ax.axhline(chance, ls="--", color="grey", lw=1, label="chance")
    ax.set_xticks(np.arange(len(shots)), [f"{k}-shot" for k in shots])
    ax.set_ylabel("query accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_zero_shot(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Unseen-class accuracy of each split against the shuffled-description control and chance.

    Args:
        table: one row per split with columns ``unseen`` (a label), ``unseen_accuracy``,
            ``shuffled_accuracy`` and ``chance``.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes.

    Example:
        >>> t = pd.DataFrame({"unseen": ["a, b", "c, d"], "unseen_accuracy": [.7, .6], "shuffled_accuracy": [.5, .5],
        ...                   "chance": [.5, .5]})
        >>> ax = plot_zero_shot(t)
    """
    func = "plot_zero_shot"
    table = check_frame(table, "table", func)
    require_column(table, "unseen", "table", func)
    for column in ("unseen_accuracy", "shuffled_accuracy", "chance"):
        check_column(table, column, "table", func, numeric=True)
    ax = check_ax(ax, func)
    y = np.arange(len(table))
    ax.hlines(y, table["shuffled_accuracy"], table["unseen_accuracy"], color="lightgrey", zorder=1)
    ax.plot(table["unseen_accuracy"], y, "o", label="descriptions", zorder=2)
    ax.plot(table["shuffled_accuracy"], y, "s", color="grey", label="shuffled descriptions", zorder=2)
    ax.plot(table["chance"], y, "|", color="black", ms=12, label="chance")
    ax.set_yticks(y, [str(u) for u in table["unseen"]], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("unseen-class accuracy")
    ax.legend(fontsize="small", loc="lower right")
    return ax
