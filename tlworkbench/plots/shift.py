"""Accuracy drop against a measured domain shift, one labelled point per target domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._common import check_ax, check_column, check_xy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_shift"]


def plot_shift(
    frame: pd.DataFrame,
    *,
    x: str = "shift",
    y: str = "accuracy_drop",
    label: str | None = "target",
    ax: Axes | None = None,
) -> Axes:
    """Scatter the accuracy drop on each target domain against a measured domain shift.

    Args:
        frame: DataFrame with one row per target: columns ``x``, ``y`` and ``label``.
        x: the shift measure (e.g. MMD, A-distance, FID).
        y: the accuracy drop from source to target.
        label: column naming each point, written beside it; None writes nothing.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes drawn on: one scatter collection and one annotation per point.

    Raises:
        InvalidParameterError: on a missing or non-numeric column.
    """
    func = "plot_shift"
    frame = check_xy(frame, func, x=x, y=y)
    if label is not None:
        check_column(frame, label, "label", func)
    ax = check_ax(ax, func)
    ax.scatter(frame[x], frame[y], color="C0", zorder=3)
    if label is not None:
        for name, xi, yi in zip(frame[label], frame[x], frame[y], strict=True):
            ax.annotate(str(name), (xi, yi), xytext=(4, 4), textcoords="offset points",
                        fontsize="small")
    ax.set_xlabel(x)
    ax.set_ylabel(y.replace("_", " "))
    return ax
