"""Plots over the workbench's arrays, tidy tables and training histories.

Every function here is a view: it takes numpy arrays (or torch tensors), pandas DataFrames or a
History-like object, draws, and returns what it drew on. Plain functions take ``ax=None``, make a
figure only when no Axes is given, and return the Axes. Display classes follow scikit-learn's
pattern: a ``from_...`` classmethod computes and draws, ``.plot()`` draws again, and both set
``ax_`` (or ``axes_``) and ``figure_``. Nothing here calls ``plt.show()`` or touches rcParams.

Example:
    >>> import tlworkbench as tlw
    >>> ax = tlw.plots.plot_history({"fine-tune": h1, "linear probe": h2}, metric="accuracy")
    >>> disp = tlw.plots.ConfusionDisplay.from_predictions(y_true, y_pred, normalize="true")
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = [
    "plot_history",
    "ConfusionDisplay",
    "plot_confusion",
    "plot_per_class",
    "plot_data_efficiency",
    "plot_transfer_gap",
    "plot_embedding",
    "SampleGridDisplay",
    "plot_samples",
    "plot_worst",
    "plot_domain_pairs",
    "plot_layer_transfer",
    "plot_trainable",
    "plot_frozen_fraction",
    "plot_shift",
]

Band = Literal["sd", "ci"] | None

_RIGHT_COLOR = "tab:green"
_WRONG_COLOR = "tab:red"
_NEGATIVE_COLOR = "tab:red"
_FROZEN_COLOR = "0.75"
_SPLIT_STYLES = {"train": "-", "val": "--"}
_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*", "<", ">")


# --------------------------------------------------------------------------------------------
# Validation helpers


def _got(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    return f"an object of type {type(value).__name__}"


def _did_you_mean(name: Any, choices: Sequence[Any]) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_ax(ax: Any, func: str) -> Axes:
    """Return ``ax``, or the Axes of a new figure when ``ax`` is None."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        _, ax = plt.subplots()
        return ax
    if not isinstance(ax, Axes):
        raise ValueError(
            f"The 'ax' parameter of {func} must be a matplotlib Axes or None. "
            f"Got {_got(ax)} instead."
        )
    return ax


def _check_frame(frame: Any, param: str, func: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"The '{param}' parameter of {func} must be a pandas DataFrame. "
            f"Got {_got(frame)} instead."
        )
    if frame.empty:
        raise ValueError(f"The '{param}' parameter of {func} must not be an empty DataFrame.")
    return frame


def _check_column(
    frame: pd.DataFrame,
    column: Any,
    param: str,
    func: str,
    *,
    numeric: bool = False,
    fixed: bool = False,
) -> None:
    """Check that ``column`` is a column of ``frame``.

    ``param`` names the argument that chose the column, or, with ``fixed``, the frame itself
    (whose column names are part of the contract).
    """
    columns = list(frame.columns)
    if column not in columns and fixed:
        hint = _did_you_mean(column, columns)
        raise ValueError(
            f"The '{param}' parameter of {func} must have a column {column!r}. Got the columns "
            f"{columns} instead." + (f"{hint} Rename it to {column!r}." if hint else "")
        )
    if column not in columns:
        raise ValueError(
            f"The '{param}' parameter of {func} must name a column of the frame "
            f"(one of {columns}). Got {column!r} instead.{_did_you_mean(column, columns)}"
        )
    if numeric and not pd.api.types.is_numeric_dtype(frame[column]):
        raise ValueError(
            f"The column {column!r} given as '{param}' to {func} must be numeric. "
            f"Got dtype {frame[column].dtype} instead."
        )


def _check_choice(value: Any, choices: Sequence[Any], param: str, func: str) -> None:
    if value not in choices:
        raise ValueError(
            f"The '{param}' parameter of {func} must be one of {list(choices)}. "
            f"Got {_got(value)} instead."
        )


def _check_positive_int(value: Any, param: str, func: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a positive int. Got {_got(value)} instead."
        )
    return int(value)


def _to_numpy(x: Any) -> np.ndarray:
    """Convert an array-like or a torch tensor (on any device) to a numpy array."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        try:
            return x.numpy()
        except TypeError:  # bfloat16 and friends have no numpy dtype
            return x.float().numpy()
    return np.asarray(x)


def _to_vector(x: Any, param: str, func: str) -> np.ndarray:
    arr = _to_numpy(x)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a non-empty 1-D array. "
            f"Got shape {arr.shape} instead."
        )
    return arr


def _class_name(label: Any, class_names: Sequence[str] | None, func: str) -> str:
    if class_names is None:
        return str(label)
    try:
        index = int(label)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"With 'class_names' given, the labels passed to {func} must be integer class "
            f"indices. Got {label!r} instead."
        ) from err
    if not 0 <= index < len(class_names):
        raise ValueError(
            f"Label {index} passed to {func} is out of range for the {len(class_names)} "
            f"entries of 'class_names'."
        )
    return str(class_names[index])


# --------------------------------------------------------------------------------------------
# Shared drawing helpers


def _summarise(frame: pd.DataFrame, x: str, y: str, band: Band) -> pd.DataFrame:
    """Mean of ``y`` per ``x`` with a band over the rows sharing an ``x`` (replicates, seeds)."""
    stats = frame.groupby(x, sort=True)[y].agg(["mean", "std", "count"])
    spread = stats["std"].fillna(0.0)
    if band == "ci":
        from scipy import stats as scipy_stats

        dof = (stats["count"] - 1).clip(lower=1)
        spread = spread * scipy_stats.t.ppf(0.975, dof) / np.sqrt(stats["count"])
    out = pd.DataFrame(
        {
            x: stats.index.to_numpy(),
            "mean": stats["mean"].to_numpy(),
            "lower": (stats["mean"] - spread).to_numpy(),
            "upper": (stats["mean"] + spread).to_numpy(),
            "count": stats["count"].to_numpy(),
        }
    )
    return out


def _draw_mean_line(
    ax: Axes, summary: pd.DataFrame, x: str, band: Band, *, label: str | None, **line_kw: Any
) -> None:
    (line,) = ax.plot(summary[x], summary["mean"], label=label, **line_kw)
    if band is not None and (summary["count"] > 1).any():
        ax.fill_between(
            summary[x], summary["lower"], summary["upper"], color=line.get_color(), alpha=0.2,
            linewidth=0,
        )


def _hue_groups(frame: pd.DataFrame, hue: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    if hue is None:
        return [(None, frame)]
    return [(str(value), frame[frame[hue] == value]) for value in pd.unique(frame[hue])]


def _maybe_log_x(ax: Axes, values: Any) -> None:
    """Use a log x axis when positive values span more than a factor of ten."""
    from matplotlib.ticker import NullLocator

    values = np.unique(np.asarray(values, dtype=float))
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 10:
        ax.set_xscale("log")
        if values.size <= 12:
            ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.xaxis.set_minor_locator(NullLocator())


def _check_band(band: Any, func: str) -> None:
    _check_choice(band, ["sd", "ci", None], "band", func)


# --------------------------------------------------------------------------------------------
# Learning curves


def _history_frame(history: Any, func: str) -> pd.DataFrame:
    frame = getattr(history, "frame", history)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(
            f"The 'history' parameter of {func} must be a DataFrame, an object with a "
            f"DataFrame '.frame' attribute, or a dict of those. Got {_got(history)} instead."
        )
    return _check_frame(frame, "history", func)


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
        ValueError: if a history is not a DataFrame, lacks ``epoch`` or ``metric``, or
            ``label`` is given together with a dict of runs.

    Example:
        >>> ax = plot_history({"fine-tune": ft.frame, "scratch": sc.frame}, metric="accuracy")
    """
    func = "plot_history"
    if isinstance(history, Mapping):
        if not history:
            raise ValueError(f"The 'history' parameter of {func} must not be an empty dict.")
        if label is not None:
            raise ValueError(
                f"The 'label' parameter of {func} is only used with a single history; with a "
                f"dict of runs the keys are the labels. Got label={label!r} with a dict."
            )
        runs = [(str(name), _history_frame(h, func)) for name, h in history.items()]
    else:
        runs = [(label, _history_frame(history, func))]
    for _, frame in runs:
        _check_column(frame, "epoch", "history", func, numeric=True, fixed=True)
        _check_column(frame, metric, "metric", func, numeric=True)

    ax = _check_ax(ax, func)
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


# --------------------------------------------------------------------------------------------
# Confusion matrix and per-class accuracy


class ConfusionDisplay:
    """A confusion matrix drawn as an image with the counts (or rates) written in the cells.

    Build it with :meth:`from_predictions`, or from a matrix you already have.

    Args:
        confusion_matrix: square array, rows are true classes and columns predictions.
        class_names: names shown on the ticks, one per row; ``0..K-1`` when None.

    Attributes:
        confusion_matrix: the matrix drawn.
        class_names: the tick labels.
        im_: the AxesImage, set by :meth:`plot`.
        text_: ndarray of the cell Text objects, or None when values are not drawn.
        ax_: the Axes drawn on.
        figure_: the Figure of ``ax_``.

    Example:
        >>> disp = ConfusionDisplay.from_predictions(y, p, class_names=ds.classes,
        ...                                          normalize="true")
        >>> disp.ax_.set_title("fine-tuned ResNet-18")
    """

    def __init__(self, confusion_matrix: Any, *, class_names: Sequence[str] | None = None):
        matrix = _to_numpy(confusion_matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
            raise ValueError(
                "The 'confusion_matrix' parameter of ConfusionDisplay must be a non-empty "
                f"square 2-D array. Got shape {matrix.shape} instead."
            )
        if class_names is not None and len(class_names) != matrix.shape[0]:
            raise ValueError(
                "The 'class_names' parameter of ConfusionDisplay must have one name per row "
                f"of the matrix ({matrix.shape[0]}). Got {len(class_names)} names instead."
            )
        self.confusion_matrix = matrix
        self.class_names = (
            [str(c) for c in class_names] if class_names is not None
            else [str(i) for i in range(matrix.shape[0])]
        )

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_pred: Any,
        *,
        labels: Sequence[Any] | None = None,
        class_names: Sequence[str] | None = None,
        normalize: Literal["true", "pred", "all"] | None = None,
        ax: Axes | None = None,
        cmap: Any = "Blues",
        values: bool = True,
        values_format: str | None = None,
        colorbar: bool = True,
    ) -> ConfusionDisplay:
        """Compute the confusion matrix of predictions and draw it.

        Args:
            y_true: true labels, shape (N,), array or tensor.
            y_pred: predicted labels, shape (N,).
            labels: label values that index the rows and columns, in order. When None: the
                integers ``0..len(class_names)-1`` if ``class_names`` is given (so classes
                that never occur still get a row), otherwise the sorted labels present.
            class_names: names for the rows and columns; with integer labels and no
                ``labels``, ``class_names[i]`` names class ``i`` (``dataset.classes``).
            normalize: None for counts; ``"true"`` divides each row by its total (recall),
                ``"pred"`` each column (precision), ``"all"`` the whole matrix.
            ax: Axes to draw on; a new figure is made when None.
            cmap: a matplotlib colormap or its name.
            values: whether to write the value in each cell.
            values_format: format spec for the cell values (``"d"`` for counts, ``".2f"``
                for rates when None).
            colorbar: whether to add a colour bar.

        Returns:
            The display, drawn.

        Raises:
            ValueError: on arrays of different lengths, an unknown ``normalize``, or
                ``class_names`` that do not match the labels.
        """
        from sklearn.metrics import confusion_matrix

        func = "ConfusionDisplay.from_predictions"
        y_true = _to_vector(y_true, "y_true", func)
        y_pred = _to_vector(y_pred, "y_pred", func)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"The 'y_true' and 'y_pred' parameters of {func} must have the same length. "
                f"Got {len(y_true)} and {len(y_pred)} instead."
            )
        _check_choice(normalize, [None, "true", "pred", "all"], "normalize", func)
        if labels is None:
            integer = np.issubdtype(y_true.dtype, np.integer) and np.issubdtype(
                y_pred.dtype, np.integer
            )
            if class_names is not None and integer:
                labels = list(range(len(class_names)))
                seen = np.concatenate([y_true, y_pred])
                if seen.min() < 0 or seen.max() >= len(class_names):
                    raise ValueError(
                        f"The labels passed to {func} must lie in 0..{len(class_names) - 1} "
                        f"to index 'class_names'. Got labels from {seen.min()} to "
                        f"{seen.max()} instead."
                    )
            else:
                labels = list(np.unique(np.concatenate([y_true, y_pred])))
        matrix = confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
        if class_names is None:
            class_names = [str(label) for label in labels]
        elif len(class_names) != len(labels):
            raise ValueError(
                f"The 'class_names' parameter of {func} must have one name per label "
                f"({len(labels)}). Got {len(class_names)} names instead."
            )
        display = cls(matrix, class_names=class_names)
        return display.plot(
            ax=ax, cmap=cmap, values=values, values_format=values_format, colorbar=colorbar
        )

    def plot(
        self,
        ax: Axes | None = None,
        *,
        cmap: Any = "Blues",
        values: bool = True,
        values_format: str | None = None,
        colorbar: bool = True,
    ) -> ConfusionDisplay:
        """Draw the matrix.

        Args:
            ax: Axes to draw on; a new figure is made when None.
            cmap: a matplotlib colormap or its name.
            values: whether to write the value in each cell.
            values_format: format spec for the cell values (``"d"`` for integer matrices,
                ``".2f"`` otherwise, when None).
            colorbar: whether to add a colour bar.

        Returns:
            self, with ``im_``, ``text_``, ``ax_`` and ``figure_`` set.
        """
        ax = _check_ax(ax, "ConfusionDisplay.plot")
        matrix = self.confusion_matrix
        n = matrix.shape[0]
        self.im_ = ax.imshow(matrix, interpolation="nearest", cmap=cmap)
        self.text_ = None
        if values:
            if values_format is None:
                values_format = "d" if np.issubdtype(matrix.dtype, np.integer) else ".2f"
            low, high = self.im_.norm.vmin, self.im_.norm.vmax
            middle = (low + high) / 2.0
            dark, light = self.im_.cmap(1.0), self.im_.cmap(0.0)
            self.text_ = np.empty((n, n), dtype=object)
            for i in range(n):
                for j in range(n):
                    value = matrix[i, j]
                    # text takes the colour of the far end of the map, so it reads on any cell
                    color = light if value > middle else dark
                    self.text_[i, j] = ax.text(
                        j, i, format(value, values_format), ha="center", va="center",
                        color=color,
                    )
        if colorbar:
            ax.figure.colorbar(self.im_, ax=ax)
        rotate = n > 5 and max(len(name) for name in self.class_names) > 3
        ax.set_xticks(np.arange(n), self.class_names, rotation=45 if rotate else 0,
                      ha="right" if rotate else "center")
        ax.set_yticks(np.arange(n), self.class_names)
        ax.set_xlabel("predicted label")
        ax.set_ylabel("true label")
        ax.set_ylim(n - 0.5, -0.5)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def plot_confusion(
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
    ax: Axes | None = None,
    cmap: Any = "Blues",
    values: bool = True,
) -> Axes:
    """Draw the confusion matrix of predictions; see :meth:`ConfusionDisplay.from_predictions`.

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels, shape (N,).
        class_names: names for the classes (``class_names[i]`` names integer class ``i``).
        labels: label values indexing the rows and columns, in order.
        normalize: None, ``"true"``, ``"pred"`` or ``"all"``.
        ax: Axes to draw on; a new figure is made when None.
        cmap: a matplotlib colormap or its name.
        values: whether to write the value in each cell.

    Returns:
        The Axes drawn on.
    """
    display = ConfusionDisplay.from_predictions(
        y_true, y_pred, labels=labels, class_names=class_names, normalize=normalize, ax=ax,
        cmap=cmap, values=values,
    )
    return display.ax_


def plot_per_class(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Draw per-class accuracy as horizontal bars, first class on top.

    Args:
        table: DataFrame with columns ``class`` and ``accuracy`` (in [0, 1]), and optionally
            ``support`` (the number of examples), written beside each bar.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes drawn on.

    Raises:
        ValueError: if ``table`` is not a DataFrame or lacks a column.
    """
    func = "plot_per_class"
    table = _check_frame(table, "table", func)
    _check_column(table, "class", "table", func, fixed=True)
    _check_column(table, "accuracy", "table", func, numeric=True, fixed=True)
    has_support = "support" in table.columns
    ax = _check_ax(ax, func)
    names = [str(c) for c in table["class"]]
    positions = np.arange(len(names))
    accuracy = table["accuracy"].to_numpy(dtype=float)
    bars = ax.barh(positions, accuracy, color="C0")
    if has_support:
        ax.bar_label(bars, labels=[f"n={int(s)}" for s in table["support"]], padding=3,
                     fontsize="small")
    ax.set_yticks(positions, names)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    if np.nanmin(accuracy) >= 0 and np.nanmax(accuracy) <= 1:
        ax.set_xlim(0, 1.15 if has_support else 1.0)
    ax.set_xlabel("accuracy")
    return ax


# --------------------------------------------------------------------------------------------
# Strategies over label budgets


def plot_data_efficiency(
    frame: pd.DataFrame,
    *,
    x: str = "budget",
    y: str = "accuracy",
    hue: str | None = "strategy",
    ax: Axes | None = None,
    band: Band = "sd",
) -> Axes:
    """Draw accuracy against labels per class: one line per strategy, mean over seeds.

    Rows that share a ``hue`` value and an ``x`` value (typically one per ``seed``) are
    averaged; the band spans one standard deviation (``"sd"``) or a 95% t-interval of the mean
    (``"ci"``) over them. The x axis is logarithmic when budgets span more than a factor of 10.

    Args:
        frame: tidy DataFrame, e.g. from ``compare``: columns ``x``, ``y``, ``hue``
            (and ``seed``).
        x: the label-budget column.
        y: the score column.
        hue: the column whose values get one line each; None draws one line.
        ax: Axes to draw on; a new figure is made when None.
        band: ``"sd"``, ``"ci"`` or None for no band.

    Returns:
        The Axes drawn on.

    Raises:
        ValueError: on a missing or non-numeric column, or an unknown ``band``.
    """
    func = "plot_data_efficiency"
    frame = _check_frame(frame, "frame", func)
    _check_column(frame, x, "x", func, numeric=True)
    _check_column(frame, y, "y", func, numeric=True)
    if hue is not None:
        _check_column(frame, hue, "hue", func)
    _check_band(band, func)
    ax = _check_ax(ax, func)
    for name, part in _hue_groups(frame, hue):
        _draw_mean_line(ax, _summarise(part, x, y, band), x, band, label=name, marker="o")
    _maybe_log_x(ax, frame[x])
    ax.set_xlabel("labels per class" if x == "budget" else x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(title=hue)
    return ax


def plot_transfer_gap(
    frame: pd.DataFrame,
    *,
    transfer: str | Sequence[str] = "linear_probe",
    baseline: str = "scratch",
    x: str = "budget",
    y: str = "accuracy",
    hue: str = "strategy",
    ax: Axes | None = None,
    band: Band = "sd",
) -> Axes:
    """Draw transfer minus baseline per budget, with the negative-transfer region shaded.

    With a ``seed`` column the difference is taken seed by seed (paired) and then averaged,
    with a band over seeds; without one, the difference of the means is drawn.

    Args:
        frame: tidy DataFrame with columns ``x``, ``y``, ``hue`` (and ``seed``).
        transfer: the strategy (or strategies, one line each) to compare.
        baseline: the strategy subtracted, usually training from scratch.
        x: the label-budget column.
        y: the score column.
        hue: the column holding strategy names.
        ax: Axes to draw on; a new figure is made when None.
        band: ``"sd"``, ``"ci"`` or None for no band.

    Returns:
        The Axes drawn on. The region below zero is an ``axhspan`` patch with the text
        "negative transfer".

    Raises:
        ValueError: on a missing column, or a strategy that is not in ``frame[hue]``.
    """
    func = "plot_transfer_gap"
    frame = _check_frame(frame, "frame", func)
    _check_column(frame, x, "x", func, numeric=True)
    _check_column(frame, y, "y", func, numeric=True)
    _check_column(frame, hue, "hue", func)
    _check_band(band, func)
    transfers = [transfer] if isinstance(transfer, str) else list(transfer)
    strategies = list(pd.unique(frame[hue]))
    for param, names in (("transfer", transfers), ("baseline", [baseline])):
        for name in names:
            if name not in strategies:
                raise ValueError(
                    f"The '{param}' parameter of {func} must be a value of the {hue!r} column "
                    f"(one of {strategies}). Got {name!r} instead."
                    f"{_did_you_mean(name, strategies)}"
                )
    index = [x, "seed"] if "seed" in frame.columns else [x]
    wide = frame.pivot_table(index=index, columns=hue, values=y, aggfunc="mean")

    ax = _check_ax(ax, func)
    low, high = 0.0, 0.0
    for name in transfers:
        gap = (wide[name] - wide[baseline]).dropna().rename("gap").reset_index()
        if gap.empty:
            raise ValueError(
                f"{func} found no {x!r} value with both {name!r} and {baseline!r} results."
            )
        summary = _summarise(gap, x, "gap", band)
        label = f"{name} - {baseline}"
        _draw_mean_line(ax, summary, x, band, label=label, marker="o")
        bounds = summary[["lower", "upper"]] if band is not None else summary[["mean"]]
        low, high = min(low, float(bounds.min().min())), max(high, float(bounds.max().max()))
    ax.axhline(0.0, color="black", linewidth=1.0)
    pad = 0.1 * (high - low) if high > low else 0.05
    ax.set_ylim(low - pad, high + pad)
    ax.axhspan(low - pad, 0.0, color=_NEGATIVE_COLOR, alpha=0.08, linewidth=0, zorder=0)
    # the shaded region always reaches the bottom of the view, so the label sits there
    ax.text(0.01, 0.02, "negative transfer", transform=ax.transAxes, ha="left", va="bottom",
            color=_NEGATIVE_COLOR, fontsize="small")
    _maybe_log_x(ax, frame[x])
    ax.set_xlabel("labels per class" if x == "budget" else x)
    ax.set_ylabel(f"{y} gap")
    ax.legend()
    return ax


# --------------------------------------------------------------------------------------------
# Embeddings


def plot_embedding(
    features: Any,
    labels: Any,
    *,
    domains: Any = None,
    method: Literal["pca", "tsne"] = "pca",
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    random_state: int = 0,
    max_points: int = 2000,
) -> Axes:
    """Project features to 2-D and scatter them, colour by class and marker by domain.

    Args:
        features: array or tensor shaped (N, D); more dimensions are flattened.
        labels: class of each row, shape (N,): integers (named by ``class_names``) or names.
        domains: domain of each row, shape (N,), e.g. ``"source"``/``"target"``; None for one.
        method: ``"pca"`` (fast, linear) or ``"tsne"`` (slower, keeps neighbourhoods).
        class_names: names of integer classes, ``class_names[i]`` for class ``i``.
        ax: Axes to draw on; a new figure is made when None.
        random_state: seed of the subsample and of t-SNE.
        max_points: at most this many rows are drawn, sampled at random without replacement.

    Returns:
        The Axes drawn on: one scatter collection per domain, a class legend and, when
        ``domains`` is given, a domain legend.

    Raises:
        ValueError: on mismatched lengths, too few rows or columns, or an unknown ``method``.
    """
    func = "plot_embedding"
    _check_choice(method, ["pca", "tsne"], "method", func)
    max_points = _check_positive_int(max_points, "max_points", func)
    feats = _to_numpy(features)
    if feats.ndim < 2:
        raise ValueError(
            f"The 'features' parameter of {func} must be shaped (N, D). "
            f"Got shape {feats.shape} instead."
        )
    feats = feats.reshape(len(feats), -1).astype(float)
    labels = _to_vector(labels, "labels", func)
    doms = None if domains is None else _to_vector(domains, "domains", func)
    for param, arr in (("labels", labels), ("domains", doms)):
        if arr is not None and len(arr) != len(feats):
            raise ValueError(
                f"The '{param}' parameter of {func} must have one entry per row of 'features' "
                f"({len(feats)}). Got {len(arr)} instead."
            )
    if len(feats) < 4 or feats.shape[1] < 2:
        raise ValueError(
            f"The 'features' parameter of {func} needs at least 4 rows and 2 columns. "
            f"Got shape {feats.shape} instead."
        )
    rng = np.random.default_rng(random_state)
    if len(feats) > max_points:
        keep = np.sort(rng.choice(len(feats), size=max_points, replace=False))
        feats, labels = feats[keep], labels[keep]
        doms = None if doms is None else doms[keep]

    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=random_state)
        points = pca.fit_transform(feats)
        ratio = pca.explained_variance_ratio_
        axis_names = [f"PC {i + 1} ({r:.0%})" for i, r in enumerate(ratio)]
    else:
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(feats) - 1) / 3.0)
        points = TSNE(n_components=2, perplexity=perplexity, init="pca",
                      random_state=random_state).fit_transform(feats)
        axis_names = ["t-SNE 1", "t-SNE 2"]

    from matplotlib.lines import Line2D

    ax = _check_ax(ax, func)
    classes = list(pd.unique(labels))
    try:
        classes.sort()
    except TypeError:
        pass
    cmap_name = "tab10" if len(classes) <= 10 else "tab20"
    import matplotlib

    cmap = matplotlib.colormaps[cmap_name]
    color_of = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}
    colors = np.array([color_of[c] for c in labels])
    domain_names = [None] if doms is None else list(pd.unique(doms))
    for k, dom in enumerate(domain_names):
        mask = np.ones(len(points), bool) if dom is None else doms == dom
        ax.scatter(points[mask, 0], points[mask, 1], c=colors[mask],
                   marker=_MARKERS[k % len(_MARKERS)], s=14, alpha=0.8, linewidths=0,
                   label=None if dom is None else str(dom))
    class_handles = [
        Line2D([], [], linestyle="", marker="o", color=color_of[c],
               label=_class_name(c, class_names, func))
        for c in classes
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


# --------------------------------------------------------------------------------------------
# Image grids


def _prepare_images(images: Any, param: str, func: str) -> list[np.ndarray]:
    """Return images as float arrays in [0, 1], shaped (H, W) or (H, W, 3)."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(f"The '{param}' parameter of {func} must not be empty.")
        batch = np.stack([_to_numpy(im) for im in images])
    else:
        batch = _to_numpy(images)
    shape = batch.shape
    if batch.ndim == 4 and shape[1] in (1, 3) and shape[-1] not in (1, 3):
        batch = np.moveaxis(batch, 1, -1)
    if batch.ndim == 4 and batch.shape[-1] == 1:
        batch = batch[..., 0]
    if not (batch.ndim == 3 or (batch.ndim == 4 and batch.shape[-1] == 3)) or len(batch) == 0:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a batch shaped (N, H, W), (N, 1, H, W), "
            f"(N, 3, H, W) or (N, H, W, 3). Got shape {shape} instead."
        )
    if batch.dtype == np.uint8:
        return list(batch.astype(float) / 255.0)
    batch = batch.astype(float)
    out = []
    for image in batch:
        low, high = np.nanmin(image), np.nanmax(image)
        if low < 0 or high > 1:  # normalised tensors: stretch each image back to [0, 1]
            image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        out.append(image)
    return out


def _titles(
    labels: Any, predictions: Any, class_names: Sequence[str] | None, n: int, func: str
) -> tuple[list[str | None], list[str | None], np.ndarray | None]:
    true = None if labels is None else _to_vector(labels, "labels", func)
    pred = None if predictions is None else _to_vector(predictions, "predictions", func)
    for param, arr in (("labels", true), ("predictions", pred)):
        if arr is not None and len(arr) < n:
            raise ValueError(
                f"The '{param}' parameter of {func} must have one entry per image ({n}). "
                f"Got {len(arr)} instead."
            )
    titles: list[str | None] = [None] * n
    colors: list[str | None] = [None] * n
    correct = None
    if true is not None and pred is not None:
        correct = true[:n] == pred[:n]
        for i in range(n):
            titles[i] = (f"{_class_name(true[i], class_names, func)} / "
                         f"{_class_name(pred[i], class_names, func)}")
            colors[i] = _RIGHT_COLOR if correct[i] else _WRONG_COLOR
    elif true is not None or pred is not None:
        only = true if true is not None else pred
        titles = [_class_name(only[i], class_names, func) for i in range(n)]
    return titles, colors, correct


class SampleGridDisplay:
    """A grid of images with optional titles and row labels.

    ``plot_samples`` and ``plot_domain_pairs`` return this display, drawn; build one directly
    from prepared images to lay out a grid of your own.

    Args:
        images: images in row-major order, each a float array in [0, 1] shaped (H, W) or
            (H, W, 3); None leaves a cell empty.
        ncols: number of columns.
        titles: one title per image (None for no title).
        title_colors: one colour per title (None for the default).
        row_labels: one label per row, written left of the row.

    Attributes:
        correct: bool array, whether each prediction matched its label (``from_images`` with
            both), else None.
        figure_: the Figure drawn on.
        axes_: ndarray of Axes, shaped (nrows, ncols) when the display made them, else as
            given to :meth:`plot`.
        images_: the AxesImage of each image drawn, in order.

    Example:
        >>> disp = plot_samples(x[:16], labels=y[:16], predictions=p[:16],
        ...                     class_names=ds.classes)
        >>> disp.figure_.suptitle("mistakes in red")
    """

    def __init__(
        self,
        images: Sequence[np.ndarray | None],
        *,
        ncols: int = 8,
        titles: Sequence[str | None] | None = None,
        title_colors: Sequence[str | None] | None = None,
        row_labels: Sequence[str] | None = None,
    ):
        func = "SampleGridDisplay"
        self.ncols = _check_positive_int(ncols, "ncols", func)
        self.images = list(images)
        if not self.images:
            raise ValueError(f"The 'images' parameter of {func} must not be empty.")
        n = len(self.images)
        self.titles = list(titles) if titles is not None else [None] * n
        self.title_colors = list(title_colors) if title_colors is not None else [None] * n
        if len(self.titles) != n or len(self.title_colors) != n:
            raise ValueError(
                f"The 'titles' and 'title_colors' parameters of {func} must have one entry per "
                f"image ({n}). Got {len(self.titles)} and {len(self.title_colors)} instead."
            )
        self.nrows = math.ceil(n / self.ncols)
        self.row_labels = list(row_labels) if row_labels is not None else None
        if self.row_labels is not None and len(self.row_labels) != self.nrows:
            raise ValueError(
                f"The 'row_labels' parameter of {func} must have one label per row "
                f"({self.nrows}). Got {len(self.row_labels)} instead."
            )
        self.correct: np.ndarray | None = None

    @classmethod
    def from_images(
        cls,
        images: Any,
        *,
        labels: Any = None,
        predictions: Any = None,
        class_names: Sequence[str] | None = None,
        ncols: int = 8,
        max_images: int = 64,
        axes: Any = None,
        figure: Figure | SubFigure | None = None,
        cmap: Any = "gray",
    ) -> SampleGridDisplay:
        """Lay out a batch of images and draw it; see :func:`plot_samples`."""
        func = "SampleGridDisplay.from_images"
        ncols = _check_positive_int(ncols, "ncols", func)
        max_images = _check_positive_int(max_images, "max_images", func)
        prepared = _prepare_images(images, "images", func)[:max_images]
        titles, colors, correct = _titles(labels, predictions, class_names, len(prepared), func)
        display = cls(prepared, ncols=min(ncols, len(prepared)), titles=titles,
                      title_colors=colors)
        display.correct = correct
        return display.plot(axes, figure=figure, cmap=cmap)

    @classmethod
    def from_domains(
        cls,
        domains: Mapping[str, Any],
        *,
        n: int = 8,
        labels: Mapping[str, Any] | None = None,
        class_names: Sequence[str] | None = None,
        axes: Any = None,
        figure: Figure | SubFigure | None = None,
        cmap: Any = "gray",
    ) -> SampleGridDisplay:
        """Lay out the first ``n`` images of each domain, one row each; see
        :func:`plot_domain_pairs`."""
        func = "SampleGridDisplay.from_domains"
        if not isinstance(domains, Mapping) or not domains:
            raise ValueError(
                f"The 'domains' parameter of {func} must be a non-empty dict "
                f"{{name: images}}. Got {_got(domains)} instead."
            )
        n = _check_positive_int(n, "n", func)
        images: list[np.ndarray | None] = []
        titles: list[str | None] = []
        for name, batch in domains.items():
            prepared = _prepare_images(batch, f"domains[{name!r}]", func)[:n]
            row_labels = None if labels is None else labels.get(name)
            row_titles, _, _ = _titles(row_labels, None, class_names, len(prepared), func)
            pad = n - len(prepared)
            images += prepared + [None] * pad
            titles += row_titles + [None] * pad
        display = cls(images, ncols=n, titles=titles, row_labels=[str(k) for k in domains])
        return display.plot(axes, figure=figure, cmap=cmap)

    def plot(
        self,
        axes: Any = None,
        *,
        figure: Figure | SubFigure | None = None,
        cmap: Any = "gray",
    ) -> SampleGridDisplay:
        """Draw the grid.

        Args:
            axes: Axes to draw on, one per cell in row-major order (any array-like with at
                least as many Axes as images); None makes them.
            figure: a Figure or SubFigure to add the grid to, when ``axes`` is None; None
                makes a new figure sized to the grid.
            cmap: colormap for single-channel images.

        Returns:
            self, with ``figure_``, ``axes_`` and ``images_`` set.

        Raises:
            ValueError: if both ``axes`` and ``figure`` are given, or there are too few Axes.
        """
        func = "SampleGridDisplay.plot"
        if axes is not None and figure is not None:
            raise ValueError(f"Pass either 'axes' or 'figure' to {func}, not both.")
        if axes is None:
            if figure is None:
                import matplotlib.pyplot as plt

                figure = plt.figure(figsize=(1.4 * self.ncols, 1.6 * self.nrows),
                                    layout="constrained")
            grid = figure.subplots(self.nrows, self.ncols, squeeze=False)
        else:
            from matplotlib.axes import Axes

            grid = np.asarray(axes, dtype=object)
            if grid.ndim == 0:
                grid = grid.reshape(1)
            if grid.size < len(self.images) or not all(isinstance(a, Axes) for a in grid.flat):
                raise ValueError(
                    f"The 'axes' parameter of {func} must hold at least {len(self.images)} "
                    f"matplotlib Axes. Got {grid.size} objects instead."
                )
        self.images_ = []
        cells = list(grid.flat)
        for i, ax in enumerate(cells):
            image = self.images[i] if i < len(self.images) else None
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if image is not None:
                self.images_.append(ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0))
            if i < len(self.titles) and self.titles[i] is not None:
                color = self.title_colors[i]
                ax.set_title(self.titles[i], fontsize="small",
                             **({"color": color} if color is not None else {}))
            if self.row_labels is not None and i % self.ncols == 0 and i // self.ncols < len(
                self.row_labels
            ):
                ax.set_ylabel(self.row_labels[i // self.ncols])
        self.axes_ = grid
        self.figure_ = cells[0].figure
        return self


def plot_samples(
    images: Any,
    *,
    labels: Any = None,
    predictions: Any = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    max_images: int = 64,
    axes: Any = None,
    figure: Figure | SubFigure | None = None,
    cmap: Any = "gray",
) -> SampleGridDisplay:
    """Draw a grid of images titled "true / pred", green when right and red when wrong.

    Args:
        images: numpy array or torch tensor (or a list of images) shaped (N, H, W),
            (N, 1, H, W), (N, 3, H, W) or (N, H, W, 3); uint8 or float. Float images outside
            [0, 1] (normalised inputs) are min-max scaled per image.
        labels: true classes, shape (N,); titles show them.
        predictions: predicted classes, shape (N,); with ``labels`` the title is
            "true / pred" in green (right) or red (wrong).
        class_names: names of integer classes, ``class_names[i]`` for class ``i``.
        ncols: number of columns (fewer when there are fewer images).
        max_images: only the first ``max_images`` images are drawn.
        axes: Axes to draw on, one per image; None makes a figure.
        figure: a Figure or SubFigure to draw the grid into, when ``axes`` is None.
        cmap: colormap for single-channel images.

    Returns:
        A drawn :class:`SampleGridDisplay` (``.figure_``, ``.axes_``, ``.images_``,
        ``.correct``).

    Raises:
        ValueError: on an image batch of another shape, or labels of the wrong length.
    """
    return SampleGridDisplay.from_images(
        images, labels=labels, predictions=predictions, class_names=class_names, ncols=ncols,
        max_images=max_images, axes=axes, figure=figure, cmap=cmap,
    )


def plot_worst(
    evaluation: Any,
    images: Any,
    *,
    k: int = 16,
    ncols: int = 8,
    figure: Figure | SubFigure | None = None,
    cmap: Any = "gray",
) -> SampleGridDisplay:
    """Draw the ``k`` test images with the highest loss, titled "true / pred" and the loss.

    The examples a model gets most confidently wrong show what it has not learned (or a wrong
    label in the data).

    Args:
        evaluation: an :class:`~tlworkbench.evaluation.Evaluation` (from ``tlw.evaluate``).
        images: the evaluated data set's images, in the order evaluated (``data.images``).
        k: how many examples, highest loss first.
        ncols: number of columns.
        figure: a Figure or SubFigure to draw the grid into.
        cmap: colormap for single-channel images.

    Returns:
        A drawn :class:`SampleGridDisplay`; ``.correct`` says which of them were right.

    Raises:
        ValueError: if ``evaluation`` has no ``worst`` method, or ``images`` has another length.
    """
    func = "plot_worst"
    if not callable(getattr(evaluation, "worst", None)):
        raise ValueError(f"The 'evaluation' parameter of {func} must be an Evaluation from tlw.evaluate. "
                         f"Got {_got(evaluation)} instead.")
    k = _check_positive_int(k, "k", func)
    n = len(evaluation.y_true)
    if len(images) != n:
        raise ValueError(f"The 'images' parameter of {func} must hold the {n} evaluated images, in order. "
                         f"Got {len(images)} instead.")
    worst = evaluation.worst(min(k, n))
    picked = [images[int(i)] for i in worst["index"]]
    display = SampleGridDisplay.from_images(
        picked, labels=worst["y_true"].to_numpy(), predictions=worst["y_pred"].to_numpy(),
        class_names=list(evaluation.classes), ncols=ncols, figure=figure, cmap=cmap,
    )
    for ax, loss in zip(display.axes_.ravel(), worst["loss"]):
        ax.set_title(f"{ax.get_title()}\nloss {loss:.2f}", fontsize=8, color=ax.title.get_color())
    return display


def plot_domain_pairs(
    domains: Mapping[str, Any],
    *,
    n: int = 8,
    labels: Mapping[str, Any] | None = None,
    class_names: Sequence[str] | None = None,
    axes: Any = None,
    figure: Figure | SubFigure | None = None,
    cmap: Any = "gray",
) -> SampleGridDisplay:
    """Draw the first ``n`` images of each domain, one row per domain, to compare them.

    Args:
        domains: ``{domain_name: images}``, each batch shaped as for :func:`plot_samples`;
            domains may differ in image size and channels.
        n: images per row; a domain with fewer leaves its remaining cells empty.
        labels: optional ``{domain_name: labels}`` written as titles.
        class_names: names of integer classes.
        axes: Axes to draw on, ``len(domains) * n`` of them; None makes a figure.
        figure: a Figure or SubFigure to draw the grid into, when ``axes`` is None.
        cmap: colormap for single-channel images.

    Returns:
        A drawn :class:`SampleGridDisplay`; the domain names are the y labels of the first
        column.

    Raises:
        ValueError: if ``domains`` is not a non-empty dict or holds a batch of another shape.
    """
    return SampleGridDisplay.from_domains(
        domains, n=n, labels=labels, class_names=class_names, axes=axes, figure=figure,
        cmap=cmap,
    )


# --------------------------------------------------------------------------------------------
# Layers and freezing


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
        ValueError: on a missing column or an unknown ``band``.
    """
    func = "plot_layer_transfer"
    frame = _check_frame(frame, "frame", func)
    _check_column(frame, x, "x", func)
    _check_column(frame, y, "y", func, numeric=True)
    if hue is not None:
        _check_column(frame, hue, "hue", func)
    _check_band(band, func)
    ticks: dict[float, str] = {}
    if not pd.api.types.is_numeric_dtype(frame[x]):
        order = list(pd.unique(frame[x]))
        ticks = {float(i): str(v) for i, v in enumerate(order)}
        frame = frame.assign(**{x: frame[x].map({v: i for i, v in enumerate(order)})})
    elif "group" in frame.columns:
        for depth, group in frame[[x, "group"]].drop_duplicates(subset=x).itertuples(index=False):
            ticks[float(depth)] = str(group)
    ax = _check_ax(ax, func)
    for name, part in _hue_groups(frame, hue):
        _draw_mean_line(ax, _summarise(part, x, y, band), x, band, label=name, marker="o")
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
    table = _check_frame(table, "table", func)
    _check_column(table, "group", "table", func, fixed=True)
    _check_column(table, "params", "table", func, numeric=True, fixed=True)
    _check_column(table, "trainable", "table", func, numeric=True, fixed=True)
    params = table["params"].to_numpy(dtype=float)
    trainable = table["trainable"].to_numpy()
    # a boolean column means "the whole group is trainable"
    trainable = params * trainable if trainable.dtype == bool else trainable.astype(float)
    if (params < 0).any() or (trainable < 0).any() or (trainable > params).any():
        raise ValueError(
            f"The 'table' parameter of {func} must have 0 <= trainable <= params in every row. "
            f"Got params={params.tolist()} and trainable={trainable.tolist()} instead."
        )
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
        ValueError: on a missing column, or ``trainable`` outside ``0..params``.
    """
    func = "plot_trainable"
    groups, params, trainable = _parameter_counts(table, func)
    ax = _check_ax(ax, func)
    positions = np.arange(len(groups))
    ax.barh(positions, trainable, color="C0", label="trainable")
    ax.barh(positions, params - trainable, left=trainable, color=_FROZEN_COLOR, label="frozen")
    ax.set_yticks(positions, groups)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_xlabel(
        f"parameters (trainable {_count(trainable.sum())} of {_count(params.sum())})"
    )
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
        ValueError: on a missing column, or ``trainable`` outside ``0..params``.
    """
    func = "plot_frozen_fraction"
    groups, params, trainable = _parameter_counts(table, func)
    ax = _check_ax(ax, func)
    with np.errstate(invalid="ignore", divide="ignore"):
        frozen = np.where(params > 0, 1.0 - trainable / params, 0.0)
    positions = np.arange(len(groups))
    ax.bar(positions, frozen, color=_FROZEN_COLOR, edgecolor="0.4")
    ax.set_xticks(positions, groups, rotation=30 if len(groups) > 4 else 0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("frozen fraction")
    return ax


# --------------------------------------------------------------------------------------------
# Domain shift


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
        ValueError: on a missing or non-numeric column.
    """
    func = "plot_shift"
    frame = _check_frame(frame, "frame", func)
    _check_column(frame, x, "x", func, numeric=True)
    _check_column(frame, y, "y", func, numeric=True)
    if label is not None:
        _check_column(frame, label, "label", func)
    ax = _check_ax(ax, func)
    ax.scatter(frame[x], frame[y], color="C0", zorder=3)
    if label is not None:
        for name, xi, yi in zip(frame[label], frame[x], frame[y], strict=True):
            ax.annotate(str(name), (xi, yi), xytext=(4, 4), textcoords="offset points",
                        fontsize="small")
    ax.set_xlabel(x)
    ax.set_ylabel(y.replace("_", " "))
    return ax
