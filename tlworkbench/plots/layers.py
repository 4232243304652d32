"""Layers and freezing: accuracy by transferred depth, and trainable parameters per group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validate import param_error
from ._common import check_ax, check_frame, check_xy, label_rows, require_column
from .curves import Band, check_band, draw_mean_lines

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_frozen_fraction", "plot_layer_transfer", "plot_trainable"]

_FROZEN_COLOR = "0.75"


def plot_layer_transfer(
    frame: pd.DataFrame,
    *,
    x: str = "depth",
    y: str = "accuracy",
    hue: str | None = None,
    ax: Axes | None = None,
    band: Band = "sd",
) -> Axes:
    """Draw accuracy when the first layers (up to ``x``) are transferred, as in Yosinski et al.

    Rows sharing a ``hue`` and ``x`` value (one per ``seed``) are averaged, with a band over
    them. With a ``group`` column, the x ticks are labelled by group name; a non-numeric ``x``
    column is placed in order of first appearance.

    Args:
        frame: DataFrame with columns ``x`` and ``y``, optionally ``group``, ``seed``, ``hue``.
        x: the depth column (number of transferred groups).
        y: the score column.
        hue: column whose values get one line each (e.g. frozen vs fine-tuned); None for one.
        ax: Axes to draw on; a new figure is made when None.
        band: ``"sd"``, ``"ci"`` or None for no band.

    Returns:
        The Axes drawn on.

    Raises:
        InvalidParameterError: on a missing column or an unknown ``band``.
    """
    func = "plot_layer_transfer"
    frame = check_xy(frame, func, x=x, y=y, hue=hue, numeric_x=False)
    check_band(band, func)
    ticks: dict[float, str] = {}
    if not pd.api.types.is_numeric_dtype(frame[x]):
        order = list(pd.unique(frame[x]))
        ticks = {float(i): str(v) for i, v in enumerate(order)}
        frame = frame.assign(**{x: frame[x].map({v: i for i, v in enumerate(order)})})
    elif "group" in frame.columns:
        for depth, group in frame[[x, "group"]].drop_duplicates(subset=x).itertuples(index=False):
            ticks[float(depth)] = str(group)
    ax = check_ax(ax, func)
    draw_mean_lines(ax, frame, x, y, hue, band)
    if ticks:
        positions = sorted(ticks)
        ax.set_xticks(positions, [ticks[p] for p in positions],
                      rotation=30 if len(positions) > 4 else 0)
        ax.set_xlabel("transferred up to")
    else:
        ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(title=hue)
    return ax


def _parameter_counts(table: Any, func: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    table = check_frame(table, "table", func)
    require_column(table, "group", "table", func)
    require_column(table, "params", "table", func, numeric=True)
    require_column(table, "trainable", "table", func, numeric=True)
    params = table["params"].to_numpy(dtype=float)
    trainable = table["trainable"].to_numpy()
    # a boolean column means "the whole group is trainable"
    trainable = params * trainable if trainable.dtype == bool else trainable.astype(float)
    if (params < 0).any() or (trainable < 0).any() or (trainable > params).any():
        raise param_error("table", func, "a table with 0 <= trainable <= params in every row",
                          {"params": params.tolist(), "trainable": trainable.tolist()})
    return [str(g) for g in table["group"]], params, trainable


def _count(n: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.1f}{suffix}"
    return f"{n:.0f}"


def plot_trainable(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Draw trainable and frozen parameters per group as horizontal stacked bars.

    Args:
        table: DataFrame with columns ``group``, ``params`` and ``trainable`` (the number of
            trainable parameters; a bool column counts the whole group), e.g. from
            ``trainable_table``. The first group is drawn on top.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes drawn on: one "trainable" and one "frozen" bar per group, the totals in the
        x label.

    Raises:
        InvalidParameterError: on a missing column, or ``trainable`` outside ``0..params``.
    """
    func = "plot_trainable"
    groups, params, trainable = _parameter_counts(table, func)
    ax = check_ax(ax, func)
    positions = np.arange(len(groups))
    ax.barh(positions, trainable, color="C0", label="trainable")
    ax.barh(positions, params - trainable, left=trainable, color=_FROZEN_COLOR, label="frozen")
    label_rows(ax, groups)
    ax.set_xlabel(f"parameters (trainable {_count(trainable.sum())} of {_count(params.sum())})")
    ax.legend(loc="lower right")
    return ax


def plot_frozen_fraction(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Draw the frozen fraction of each group's parameters as bars, in table (depth) order.

    Args:
        table: DataFrame with columns ``group``, ``params`` and ``trainable``, groups from the
            input to the head. A group without parameters is drawn at 0.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes drawn on, one bar per group, y from 0 to 1.

    Raises:
        InvalidParameterError: on a missing column, or ``trainable`` outside ``0..params``.
    """
    func = "plot_frozen_fraction"
    groups, params, trainable = _parameter_counts(table, func)
    ax = check_ax(ax, func)
    with np.errstate(invalid="ignore", divide="ignore"):
        frozen = np.where(params > 0, 1.0 - trainable / params, 0.0)
    positions = np.arange(len(groups))
    ax.bar(positions, frozen, color=_FROZEN_COLOR, edgecolor="0.4")
    ax.set_xticks(positions, groups, rotation=30 if len(groups) > 4 else 0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("frozen fraction")
    return ax
