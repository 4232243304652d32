"""Scores over label budgets: data efficiency and the transfer gap, with bands over seeds.

:func:`plot_gap_panels` draws the transfer gap once per value of another column (a freezing
depth) on one shared scale.

Rows that share an ``x`` value (one per seed) are summarised by their mean and a band: one
standard deviation (``"sd"``) or a 95% t-interval of the mean (``"ci"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._validate import check_choice
from ..errors import DataError, InvalidParameterError
from ._common import check_ax, check_column, check_xy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "Band",
    "check_band",
    "draw_mean_line",
    "draw_mean_lines",
    "plot_data_efficiency",
    "plot_gap_panels",
    "plot_transfer_gap",
    "summarise",
]

Band = Literal["sd", "ci"] | None

_NEGATIVE_COLOR = "tab:red"


def check_band(band: Any, func: str) -> None:
    """``band`` is ``"sd"``, ``"ci"`` or None."""
    check_choice(band, "band", func, ["sd", "ci", None], error=InvalidParameterError)


def summarise(frame: pd.DataFrame, x: str, y: str, band: Band) -> pd.DataFrame:
    """Mean of ``y`` per ``x`` with a band over the rows sharing an ``x`` (replicates, seeds)."""
    stats = frame.groupby(x, sort=True)[y].agg(["mean", "std", "count"])
    spread = stats["std"].fillna(0.0)
    if band == "ci":
        from scipy import stats as scipy_stats

        dof = (stats["count"] - 1).clip(lower=1)
        spread = spread * scipy_stats.t.ppf(0.975, dof) / np.sqrt(stats["count"])
    return pd.DataFrame(
        {
            x: stats.index.to_numpy(),
            "mean": stats["mean"].to_numpy(),
            "lower": (stats["mean"] - spread).to_numpy(),
            "upper": (stats["mean"] + spread).to_numpy(),
            "count": stats["count"].to_numpy(),
        }
    )


def draw_mean_line(ax: Axes, summary: pd.DataFrame, x: str, band: Band, *, label: str | None,
                   **line_kw: Any) -> None:
    """Draw a :func:`summarise` table: the mean as a line and the band in the line's colour."""
    (line,) = ax.plot(summary[x], summary["mean"], label=label, **line_kw)
    if band is not None and (summary["count"] > 1).any():
        ax.fill_between(summary[x], summary["lower"], summary["upper"], color=line.get_color(),
                        alpha=0.2, linewidth=0)


def draw_mean_lines(ax: Axes, frame: pd.DataFrame, x: str, y: str, hue: str | None,
                    band: Band) -> None:
    """One mean line with its band per value of the ``hue`` column (one line when None)."""
    groups = [(None, frame)] if hue is None else [
        (str(value), frame[frame[hue] == value]) for value in pd.unique(frame[hue])
    ]
    for name, part in groups:
        draw_mean_line(ax, summarise(part, x, y, band), x, band, label=name, marker="o")


def _budget_axis(ax: Axes, values: Any, x: str) -> None:
    """Label the budget axis; use a log scale when positive values span more than a factor of ten."""
    from matplotlib.ticker import NullLocator

    values = np.unique(np.asarray(values, dtype=float))
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 10:
        ax.set_xscale("log")
        if values.size <= 12:
            ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("labels per class" if x == "per_class" else x)


def plot_data_efficiency(
    frame: pd.DataFrame,
    *,
    x: str = "per_class",
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
        InvalidParameterError: on a missing or non-numeric column, or an unknown ``band``.
    """
    func = "plot_data_efficiency"
    frame = check_xy(frame, func, x=x, y=y, hue=hue)
    check_band(band, func)
    ax = check_ax(ax, func)
    draw_mean_lines(ax, frame, x, y, hue, band)
    _budget_axis(ax, frame[x], x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(title=hue)
    return ax


def plot_transfer_gap(
    frame: pd.DataFrame,
    *,
    transfer: str | Sequence[str] = "linear_probe",
    baseline: str = "scratch",
    x: str = "per_class",
    y: str = "accuracy",
    hue: str = "strategy",
    ax: Axes | None = None,
    band: Band = "sd",
    shade_label: str | None = "negative transfer",
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
        shade_label: the text in the shaded region below zero (what a loss to this baseline
            means); ``None`` for none.

    Returns:
        The Axes drawn on. The region below zero is an ``axhspan`` patch with the text
        ``shade_label``.

    Raises:
        InvalidParameterError: on a missing column, or a strategy that is not in
            ``frame[hue]``.
        DataError: if no budget has results of both a transfer strategy and the baseline.
    """
    func = "plot_transfer_gap"
    frame = check_xy(frame, func, x=x, y=y)
    check_column(frame, hue, "hue", func)  # required here: it holds the strategy names
    check_band(band, func)
    transfers = [transfer] if isinstance(transfer, str) else list(transfer)
    strategies = list(pd.unique(frame[hue]))
    for param, names in (("transfer", transfers), ("baseline", [baseline])):
        for name in names:
            check_choice(name, param, func, strategies, error=InvalidParameterError,
                         what=f"a value of the {hue!r} column, one of")
    index = [x, "seed"] if "seed" in frame.columns else [x]
    wide = frame.pivot_table(index=index, columns=hue, values=y, aggfunc="mean")

    ax = check_ax(ax, func)
    low, high = 0.0, 0.0
    for name in transfers:
        gap = (wide[name] - wide[baseline]).dropna().rename("gap").reset_index()
        if gap.empty:
            raise DataError(f"{func} found no {x!r} value with both {name!r} and {baseline!r} "
                            "results.")
        summary = summarise(gap, x, "gap", band)
        draw_mean_line(ax, summary, x, band, label=f"{name} - {baseline}", marker="o")
        bounds = summary[["lower", "upper"]] if band is not None else summary[["mean"]]
        low, high = min(low, float(bounds.min().min())), max(high, float(bounds.max().max()))
    ax.axhline(0.0, color="black", linewidth=1.0)
    pad = 0.1 * (high - low) if high > low else 0.05
    ax.set_ylim(low - pad, high + pad)
    ax.axhspan(low - pad, 0.0, color=_NEGATIVE_COLOR, alpha=0.08, linewidth=0, zorder=0)
    if shade_label:  # the shaded region always reaches the bottom of the view, so the label sits there
        ax.text(0.01, 0.02, shade_label, transform=ax.transAxes, ha="left", va="bottom",
                color=_NEGATIVE_COLOR, fontsize="small")
    _budget_axis(ax, frame[x], x)
    ax.set_ylabel(f"{y} gap")
    ax.legend()
    return ax


def _shared_scale(axes: np.ndarray) -> None:
    """Give every panel the y range of all of them, the shaded negative region following it down."""
    from matplotlib.patches import Rectangle

    low = min(ax.get_ylim()[0] for ax in axes)
    high = max(ax.get_ylim()[1] for ax in axes)
    for ax in axes:
        ax.set_ylim(low, high)
        for patch in ax.patches:
            if isinstance(patch, Rectangle) and np.isclose(patch.get_y() + patch.get_height(), 0.0, atol=1e-12):
                patch.set_y(low)
                patch.set_height(-low)


def _panel_axes(ax: Any, n: int, panel: str, func: str) -> np.ndarray:
    """One Axes per panel: a new row of them, ``ax``'s area divided, or the Axes given."""
    from matplotlib.axes import Axes

    if ax is None:
        import matplotlib.pyplot as plt

        return plt.subplots(1, n, figsize=(4.4 * n, 3.6), squeeze=False, layout="constrained")[1].ravel()
    if isinstance(ax, Axes) and n > 1 and ax.get_subplotspec() is not None:
        ax.set_axis_off()  # the panels take its place, as the image grids do
        return ax.get_subplotspec().subgridspec(1, n).subplots(squeeze=False).ravel()
    axes = np.asarray(ax, dtype=object).ravel()
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise InvalidParameterError(f"The 'ax' parameter of {func} must be None, one Axes made by subplots, or one "
                                    f"Axes per {panel!r} value ({n}). Got {len(axes)} objects instead.")
    return axes


def plot_gap_panels(
    frame: pd.DataFrame,
    *,
    panel: str,
    baseline: str = "scratch",
    hue: str = "strategy",
    x: str = "per_class",
    y: str = "accuracy",
    titles: str | None = None,
    ax: Any = None,
    band: Band = "sd",
    shade_label: str | None = "negative transfer",
) -> np.ndarray:
    """Draw transfer minus baseline per budget, one panel per value of ``panel``, on one y scale.

    Each panel is :func:`plot_transfer_gap` of the rows with one ``panel`` value (a freezing
    depth), one line per arm of ``hue`` that has rows in that panel; the ``baseline`` rows are
    shared by every panel, since the panel's column means nothing for them (no depth is frozen
    when training from scratch).

    Args:
        frame: tidy runs with columns ``x``, ``y``, ``hue`` and ``panel`` (and ``seed``).
        panel: the column whose values (sorted, baseline rows aside) get one panel each.
        baseline: the ``hue`` value subtracted.
        hue: the column naming the arms; one line per arm.
        x: the label-budget column.
        y: the score column.
        titles: a column whose value in a panel's rows is added to its title
            (``"<panel> <value>: <title>"``); ``None``: ``"<panel> <value>"``.
        ax: None makes a row of panels; one Axes made by ``subplots`` is divided into them; an
            array-like of Axes gets one panel each.
        band: ``"sd"``, ``"ci"`` or None for no band.
        shade_label: the text in each panel's shaded region below zero; ``None`` for none.

    Returns:
        The Axes, one per panel, as a numpy array.

    Raises:
        InvalidParameterError: a missing column, an unknown ``baseline`` or ``band``, or Axes
            that do not make one per panel.
    """
    func = "plot_gap_panels"
    frame = check_xy(frame, func, x=x, y=y, hue=hue)
    check_column(frame, panel, "panel", func)
    if titles is not None:
        check_column(frame, titles, "titles", func)
    check_band(band, func)
    check_choice(baseline, "baseline", func, list(pd.unique(frame[hue])), error=InvalidParameterError,
                 what=f"a value of the {hue!r} column, one of")
    shared = frame[frame[hue] == baseline]
    arms = frame[frame[hue] != baseline]
    values = sorted(pd.unique(arms[panel]))
    axes = _panel_axes(ax, len(values), panel, func)
    for ax, value in zip(axes, values):
        rows = arms[arms[panel] == value]
        plot_transfer_gap(pd.concat([rows, shared], ignore_index=True), transfer=list(pd.unique(rows[hue])),
                          baseline=baseline, x=x, y=y, hue=hue, ax=ax, band=band, shade_label=shade_label)
        title = f"{panel} {value}" + (f": {rows[titles].iloc[0]}" if titles is not None else "")
        ax.set_title(title, fontsize="medium")
        for text in ax.get_legend().get_texts():  # one baseline for every line: the arm's name is enough
            text.set_text(text.get_text().removesuffix(f" - {baseline}"))
        ax.set_ylabel("")
    _shared_scale(axes)
    axes[0].set_ylabel(f"{y}: transfer - {baseline}")
    return axes
