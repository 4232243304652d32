"""The curve of a learning-rate range test: the loss against a logarithmic learning rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validate import check_float, check_optional, param_error
from ._common import Described, check_ax, to_vector

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_lr_find"]


def plot_lr_find(lrs: np.ndarray, losses: np.ndarray, *, suggestion: float | None = None,
                 ax: Axes | None = None) -> Axes:
    """Draw the loss against the learning rate (log scale), with the suggested rate marked.

    Args:
        lrs: the learning rates, positive.
        losses: the (smoothed) loss at each rate.
        suggestion: a rate to mark with a point on the curve and a label (``None``: none).
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes drawn on.

    Raises:
        InvalidParameterError: arrays that are empty, of different lengths, or rates that are
            not positive; a suggestion that is not positive.

    Example:
        >>> found = tlw.lr_find(model, train)                                     # doctest: +SKIP
        >>> ax = plot_lr_find(found.lrs, found.losses, suggestion=found.suggestion)  # doctest: +SKIP
    """
    func = "plot_lr_find"
    x = to_vector(lrs, "lrs", func).astype(float)
    y = to_vector(losses, "losses", func).astype(float)
    if len(x) != len(y):
        raise param_error("losses", func, f"one loss per learning rate ({len(x)})", Described(f"{len(y)} losses"))
    if not np.all(x > 0):
        raise param_error("lrs", func, "positive learning rates (the axis is logarithmic)",
                          Described(f"a minimum of {x.min():g}"))
    suggestion = check_optional(suggestion, check_float, "suggestion", func, minimum=0.0, include_min=False)
    ax = check_ax(ax, func)
    ax.plot(x, y, label="loss")
    ax.set_xscale("log")
    if suggestion is not None:
        order = np.argsort(x)
        at = float(np.interp(np.log10(suggestion), np.log10(x[order]), y[order]))
        ax.plot([suggestion], [at], "o", color="C3", label=f"suggestion {suggestion:.2g}")
        ax.legend()
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (smoothed)")
    return ax
