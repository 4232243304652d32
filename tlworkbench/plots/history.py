"""Learning curves from a training history: one colour per run, solid train and dashed val."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._validate import param_error
from ._common import check_ax, check_column, check_frame, require_column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_history"]

_SPLIT_STYLES = {"train": "-", "val": "--"}


def _history_frame(history: Any, func: str) -> pd.DataFrame:
    frame = getattr(history, "frame", history)
    if not isinstance(frame, pd.DataFrame):
        raise param_error("history", func, "a DataFrame, an object with a DataFrame '.frame' "
                          "attribute, or a dict of those", history)
    return check_frame(frame, "history", func)


def plot_history(
    history: Any,
    *,
    metric: str = "loss",
    ax: Axes | None = None,
    label: str | None = None,
) -> Axes:
    """Draw learning curves: one colour per run, solid for train and dashed for val.

    Args:
        history: a DataFrame with columns ``epoch``, ``split`` (``"train"``/``"val"``) and one
            column per metric; an object whose ``.frame`` is such a DataFrame (a ``History``);
            or a dict ``{run_name: history}`` to draw several runs on one Axes. Several rows
            for the same epoch and split are averaged. A frame without ``split`` is one curve.
        metric: the metric column to draw.
        ax: Axes to draw on; a new figure is made when None.
        label: legend prefix for a single history (the dict keys name the runs otherwise).

    Returns:
        The Axes drawn on.

    Raises:
        InvalidParameterError: if a history is not a DataFrame, lacks ``epoch`` or ``metric``,
            or ``label`` is given together with a dict of runs.

    Example:
        >>> ax = plot_history({"fine-tune": ft.frame, "scratch": sc.frame}, metric="accuracy")
    """
    func = "plot_history"
    if isinstance(history, Mapping):
        if not history:
            raise param_error("history", func, "a non-empty dict of runs", history)
        if label is not None:
            raise param_error("label", func, "None when 'history' is a dict of runs (its keys "
                              "name the runs)", label)
        runs = [(str(name), _history_frame(h, func)) for name, h in history.items()]
    else:
        runs = [(label, _history_frame(history, func))]
    for _, frame in runs:
        require_column(frame, "epoch", "history", func, numeric=True)
        check_column(frame, metric, "metric", func, numeric=True)

    ax = check_ax(ax, func)
    for name, frame in runs:
        frame = frame.dropna(subset=[metric])
        if "split" in frame.columns:
            present = list(pd.unique(frame["split"]))
            splits = [s for s in _SPLIT_STYLES if s in present]
            splits += [s for s in present if s not in _SPLIT_STYLES]
        else:
            splits = [None]
        color = None
        for split in splits:
            part = frame if split is None else frame[frame["split"] == split]
            curve = part.groupby("epoch", sort=True)[metric].mean()
            tag = "train" if split is None else str(split)
            text = tag if name is None else f"{name} ({tag})"
            (line,) = ax.plot(
                curve.index.to_numpy(), curve.to_numpy(), color=color, label=text,
                linestyle=_SPLIT_STYLES.get(tag, ":"), marker="o" if len(curve) < 15 else None,
                markersize=3,
            )
            color = line.get_color()  # one colour per run, whatever the split
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend()
    return ax
