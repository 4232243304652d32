"""Confusion matrices and per-class accuracy.

The confusion matrix is scikit-learn's :class:`~sklearn.metrics.ConfusionMatrixDisplay`; this
module picks its rows from the workbench's ``classes`` (so classes never seen still get a row),
formats rates and rotates long tick labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._validate import check_choice, param_error
from ..errors import InvalidParameterError
from ._common import Described, check_ax, check_frame, label_rows, require_column, to_vector

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from sklearn.metrics import ConfusionMatrixDisplay

__all__ = ["plot_confusion", "plot_per_class"]


def _confusion_labels(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[Any] | None,
                      classes: Sequence[str] | None, func: str) -> list[Any]:
    """The label values that index the rows and columns, in order."""
    if labels is not None:
        return list(labels)
    integer = np.issubdtype(y_true.dtype, np.integer) and np.issubdtype(y_pred.dtype, np.integer)
    if classes is None or not integer:
        return list(np.unique(np.concatenate([y_true, y_pred])))
    seen = np.concatenate([y_true, y_pred])
    if seen.min() < 0 or seen.max() >= len(classes):
        raise param_error("y_true", func, f"labels in 0..{len(classes) - 1} to index 'classes' "
                          "(together with 'y_pred')",
                          Described(f"labels from {seen.min()} to {seen.max()}"))
    return list(range(len(classes)))  # every class gets a row, even one that never occurs


def plot_confusion(
    y_true: Any,
    y_pred: Any,
    *,
    classes: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
    ax: Axes | None = None,
    cmap: Any = "Blues",
    values: bool = True,
    values_format: str | None = None,
    colorbar: bool = True,
    xticks_rotation: Literal["vertical", "horizontal"] | float | None = None,
) -> ConfusionMatrixDisplay:
    """Draw the confusion matrix of predictions with scikit-learn's ``ConfusionMatrixDisplay``.

    Args:
        y_true: true labels, shape (N,), array or tensor.
        y_pred: predicted labels, shape (N,).
        classes: names for the rows and columns; with integer labels and no ``labels``,
            ``classes[i]`` names class ``i`` (``dataset.classes``) and every class gets a row.
        labels: label values that index the rows and columns, in order; when None, the
            integers ``0..len(classes)-1`` if ``classes`` is given, else the sorted labels
            present.
        normalize: None for counts; ``"true"`` divides each row by its total (recall),
            ``"pred"`` each column (precision), ``"all"`` the whole matrix.
        ax: Axes to draw on; a new figure is made when None.
        cmap: a matplotlib colormap or its name.
        values: whether to write the value in each cell.
        values_format: format spec of the cell values; ``"d"`` for counts and ``".2f"`` for
            rates when None.
        colorbar: whether to add a colour bar.
        xticks_rotation: rotation of the column labels; when None, 45 degrees for more than
            five classes with names longer than three characters, else horizontal.

    Returns:
        The drawn ``sklearn.metrics.ConfusionMatrixDisplay`` (``.confusion_matrix``,
        ``.im_``, ``.text_``, ``.ax_``, ``.figure_``).

    Raises:
        InvalidParameterError: on arrays of different lengths, an unknown ``normalize``, or
            ``classes`` that do not match the labels.

    Example:
        >>> disp = plot_confusion(ev.y_true, ev.y_pred, classes=ev.classes, normalize="true")
        >>> disp.ax_.set_title("fine-tuned ResNet-18")
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    func = "plot_confusion"
    y_true = to_vector(y_true, "y_true", func)
    y_pred = to_vector(y_pred, "y_pred", func)
    if len(y_true) != len(y_pred):
        raise param_error("y_pred", func, f"the same length as 'y_true' ({len(y_true)})",
                          Described(f"length {len(y_pred)}"))
    check_choice(normalize, "normalize", func, [None, "true", "pred", "all"],
                 error=InvalidParameterError)
    ax = check_ax(ax, func)
    labels = _confusion_labels(y_true, y_pred, labels, classes, func)
    if classes is not None and len(classes) != len(labels):
        raise param_error("classes", func, f"one name per label ({len(labels)})",
                          Described(f"{len(classes)} names"))
    names = [str(c) for c in (classes if classes is not None else labels)]
    if xticks_rotation is None:
        rotate = len(names) > 5 and max(len(name) for name in names) > 3
        xticks_rotation = 45 if rotate else "horizontal"
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, normalize=normalize, display_labels=names,
        include_values=values, values_format=values_format or ("d" if normalize is None else ".2f"),
        xticks_rotation=xticks_rotation, cmap=cmap, ax=ax, colorbar=colorbar,
    )
    if not isinstance(xticks_rotation, str) and 0 < xticks_rotation < 90:
        for tick in display.ax_.get_xticklabels():  # slanted names end under their column
            tick.set_horizontalalignment("right")
    return display


def plot_per_class(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Draw per-class accuracy as horizontal bars, first class on top.

    Args:
        table: DataFrame with columns ``class`` and ``accuracy`` (in [0, 1]), and optionally
            ``support`` (the number of examples), written beside each bar.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes drawn on.

    Raises:
        InvalidParameterError: if ``table`` is not a DataFrame or lacks a column.
    """
    func = "plot_per_class"
    table = check_frame(table, "table", func)
    require_column(table, "class", "table", func)
    require_column(table, "accuracy", "table", func, numeric=True)
    has_support = "support" in table.columns
    ax = check_ax(ax, func)
    names = [str(c) for c in table["class"]]
    accuracy = table["accuracy"].to_numpy(dtype=float)
    bars = ax.barh(np.arange(len(names)), accuracy, color="C0")
    if has_support:
        ax.bar_label(bars, labels=[f"n={int(s)}" for s in table["support"]], padding=3,
                     fontsize="small")
    label_rows(ax, names)
    if np.nanmin(accuracy) >= 0 and np.nanmax(accuracy) <= 1:
        ax.set_xlim(0, 1.15 if has_support else 1.0)
    ax.set_xlabel("accuracy")
    return ax
