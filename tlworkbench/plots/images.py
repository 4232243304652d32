"""Grids of images: samples titled "true / pred", the worst mistakes, and domains side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validate import check_int, param_error
from ._common import Described, class_name, to_numpy, to_vector

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["SampleGridDisplay", "plot_domain_pairs", "plot_samples", "plot_worst"]

_RIGHT_COLOR = "tab:green"
_WRONG_COLOR = "tab:red"


def _prepare_images(images: Any, param: str, func: str) -> list[np.ndarray]:
    """Return images as float arrays in [0, 1], shaped (H, W) or (H, W, 3)."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise param_error(param, func, "a non-empty batch of images", images)
        batch = np.stack([to_numpy(im) for im in images])
    else:
        batch = to_numpy(images)
    shape = batch.shape
    if batch.ndim == 4 and shape[1] in (1, 3) and shape[-1] not in (1, 3):
        batch = np.moveaxis(batch, 1, -1)
    if batch.ndim == 4 and batch.shape[-1] == 1:
        batch = batch[..., 0]
    if not (batch.ndim == 3 or (batch.ndim == 4 and batch.shape[-1] == 3)) or len(batch) == 0:
        raise param_error(param, func, "a batch shaped (N, H, W), (N, 1, H, W), (N, 3, H, W) or "
                          "(N, H, W, 3)", Described(f"shape {shape}"))
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
    labels: Any, predictions: Any, classes: Sequence[str] | None, n: int, func: str
) -> tuple[list[str | None], list[str | None], np.ndarray | None]:
    true = None if labels is None else to_vector(labels, "labels", func)
    pred = None if predictions is None else to_vector(predictions, "predictions", func)
    for param, arr in (("labels", true), ("predictions", pred)):
        if arr is not None and len(arr) < n:
            raise param_error(param, func, f"one entry per image ({n})",
                              Described(f"{len(arr)} entries"))
    titles: list[str | None] = [None] * n
    colors: list[str | None] = [None] * n
    correct = None
    if true is not None and pred is not None:
        correct = true[:n] == pred[:n]
        for i in range(n):
            titles[i] = (f"{class_name(true[i], classes, 'labels', func)} / "
                         f"{class_name(pred[i], classes, 'predictions', func)}")
            colors[i] = _RIGHT_COLOR if correct[i] else _WRONG_COLOR
    elif true is not None:
        titles = [class_name(true[i], classes, "labels", func) for i in range(n)]
    elif pred is not None:
        titles = [class_name(pred[i], classes, "predictions", func) for i in range(n)]
    return titles, colors, correct


class SampleGridDisplay:
    """A grid of images with optional titles and row labels.

    ``plot_samples``, ``plot_worst`` and ``plot_domain_pairs`` prepare the images and titles
    and return this display, drawn; build one directly from prepared images to lay out a grid
    of your own, then call :meth:`plot`.

    Args:
        images: images in row-major order, each a float array in [0, 1] shaped (H, W) or
            (H, W, 3); None leaves a cell empty.
        ncols: number of columns.
        titles: one title per image (None for no title).
        title_colors: one colour per title (None for the default).
        row_labels: one label per row, written left of the row.

    Attributes:
        correct: bool array, whether each prediction matched its label (set by
            ``plot_samples`` given both), else None.
        figure_: the Figure (or SubFigure) drawn on.
        axes_: ndarray of Axes, shaped (nrows, ncols) when the display made them, else as
            given to :meth:`plot`.
        bounding_ax_: the single Axes whose area the grid fills, when one was given, else None.
        images_: the AxesImage of each image drawn, in order.

    Example:
        >>> disp = plot_samples(x[:16], labels=y[:16], predictions=p[:16], classes=ds.classes)
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
        self.ncols = check_int(ncols, "ncols", func, minimum=1)
        self.images = list(images)
        if not self.images:
            raise param_error("images", func, "a non-empty sequence of images", images)
        n = len(self.images)
        self.titles = list(titles) if titles is not None else [None] * n
        self.title_colors = list(title_colors) if title_colors is not None else [None] * n
        for param, given in (("titles", self.titles), ("title_colors", self.title_colors)):
            if len(given) != n:
                raise param_error(param, func, f"one entry per image ({n})",
                                  Described(f"{len(given)} entries"))
        self.nrows = math.ceil(n / self.ncols)
        self.row_labels = list(row_labels) if row_labels is not None else None
        if self.row_labels is not None and len(self.row_labels) != self.nrows:
            raise param_error("row_labels", func, f"one label per row ({self.nrows})",
                              Described(f"{len(self.row_labels)} labels"))
        self.correct: np.ndarray | None = None

    def _grid(self, ax: Any, figure: Figure | SubFigure | None) -> np.ndarray:
        """The Axes to draw in, one per cell, made as ``ax`` and ``figure`` ask."""
        from matplotlib.axes import Axes

        func = "SampleGridDisplay.plot"
        self.bounding_ax_ = None
        if ax is not None and figure is not None:
            raise param_error("figure", func, "None when 'ax' is given", figure)
        if ax is None:
            if figure is None:
                import matplotlib.pyplot as plt

                figure = plt.figure(figsize=(1.4 * self.ncols, 1.6 * self.nrows),
                                    layout="constrained")
            return figure.subplots(self.nrows, self.ncols, squeeze=False)
        if isinstance(ax, Axes) and len(self.images) > 1:
            spec = ax.get_subplotspec()
            if spec is None:
                raise param_error("ax", func, "an Axes made by subplots (its area holds the "
                                  "grid) or one Axes per image", ax)
            ax.set_axis_off()  # the grid takes its place, as scikit-learn's multi-panel displays do
            self.bounding_ax_ = ax
            return spec.subgridspec(self.nrows, self.ncols).subplots(squeeze=False)
        grid = np.asarray(ax, dtype=object)
        if grid.ndim == 0:
            grid = grid.reshape(1)
        if grid.size < len(self.images) or not all(isinstance(a, Axes) for a in grid.flat):
            raise param_error("ax", func, f"one matplotlib Axes, or at least {len(self.images)} "
                              "of them", Described(f"{grid.size} objects"))
        return grid

    def plot(
        self,
        ax: Axes | Any = None,
        *,
        figure: Figure | SubFigure | None = None,
        cmap: Any = "gray",
    ) -> SampleGridDisplay:
        """Draw the grid.

        Args:
            ax: where to draw: None makes the Axes; one Axes made by ``subplots`` is divided
                into the grid; an array-like of Axes gets one image per Axes in row-major order.
            figure: a Figure or SubFigure to add the grid to, when ``ax`` is None; None
                makes a new figure sized to the grid.
            cmap: colormap for single-channel images.

        Returns:
            self, with ``figure_``, ``axes_``, ``bounding_ax_`` and ``images_`` set.

        Raises:
            InvalidParameterError: if both ``ax`` and ``figure`` are given, or there are too
                few Axes.
        """
        grid = self._grid(ax, figure)
        self.images_ = []
        cells = list(grid.flat)
        for i, cell in enumerate(cells):
            image = self.images[i] if i < len(self.images) else None
            cell.set_xticks([])
            cell.set_yticks([])
            for spine in cell.spines.values():
                spine.set_visible(False)
            if image is not None:
                self.images_.append(cell.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0))
            if i < len(self.titles) and self.titles[i] is not None:
                color = self.title_colors[i]
                cell.set_title(self.titles[i], fontsize="small",
                               **({"color": color} if color is not None else {}))
            row = i // self.ncols
            if self.row_labels is not None and i % self.ncols == 0 and row < len(self.row_labels):
                cell.set_ylabel(self.row_labels[row])
        self.axes_ = grid
        self.figure_ = cells[0].figure
        return self


def plot_samples(
    images: Any,
    *,
    labels: Any = None,
    predictions: Any = None,
    classes: Sequence[str] | None = None,
    ncols: int = 8,
    max_images: int = 64,
    ax: Any = None,
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
        classes: names of integer classes, ``classes[i]`` for class ``i``.
        ncols: number of columns (fewer when there are fewer images).
        max_images: only the first ``max_images`` images are drawn.
        ax: None makes a figure; one Axes is divided into the grid; an array of Axes gets one
            image each.
        figure: a Figure or SubFigure to draw the grid into, when ``ax`` is None.
        cmap: colormap for single-channel images.

    Returns:
        A drawn :class:`SampleGridDisplay` (``.figure_``, ``.axes_``, ``.images_``,
        ``.correct``).

    Raises:
        InvalidParameterError: on an image batch of another shape, or labels of the wrong
            length.
    """
    func = "plot_samples"
    ncols = check_int(ncols, "ncols", func, minimum=1)
    max_images = check_int(max_images, "max_images", func, minimum=1)
    prepared = _prepare_images(images, "images", func)[:max_images]
    titles, colors, correct = _titles(labels, predictions, classes, len(prepared), func)
    display = SampleGridDisplay(prepared, ncols=min(ncols, len(prepared)), titles=titles,
                                title_colors=colors)
    display.correct = correct
    return display.plot(ax, figure=figure, cmap=cmap)


def plot_worst(
    evaluation: Any,
    images: Any,
    *,
    k: int = 16,
    ncols: int = 8,
    ax: Any = None,
    figure: Figure | SubFigure | None = None,
    cmap: Any = "gray",
) -> SampleGridDisplay:
    """Draw the ``k`` test images with the highest loss, titled "true / pred" and the loss.

    The examples a model gets most confidently wrong show what it has not learned (or a wrong
    label in the data).

    Args:
        evaluation: an ``Evaluation`` (from ``tlw.evaluate``): it has ``y_true``, ``classes``
            and ``worst(k)``.
        images: the evaluated data set's images, in the order evaluated (``data.images``).
        k: how many examples, highest loss first.
        ncols: number of columns.
        ax: None makes a figure; one Axes is divided into the grid; an array of Axes gets one
            image each.
        figure: a Figure or SubFigure to draw the grid into, when ``ax`` is None.
        cmap: colormap for single-channel images.

    Returns:
        A drawn :class:`SampleGridDisplay`; ``.correct`` says which of them were right.

    Raises:
        InvalidParameterError: if ``evaluation`` has no ``worst`` method, or ``images`` has
            another length.
    """
    func = "plot_worst"
    if not callable(getattr(evaluation, "worst", None)):
        raise param_error("evaluation", func, "an Evaluation from tlw.evaluate",
                          Described(f"an object of type {type(evaluation).__name__}"))
    k = check_int(k, "k", func, minimum=1)
    n = len(evaluation.y_true)
    if len(images) != n:
        raise param_error("images", func, f"the {n} evaluated images, in order",
                          Described(f"{len(images)} images"))
    worst = evaluation.worst(min(k, n))
    picked = [images[int(i)] for i in worst["index"]]
    display = plot_samples(
        picked, labels=worst["y_true"].to_numpy(), predictions=worst["y_pred"].to_numpy(),
        classes=list(evaluation.classes), ncols=ncols, ax=ax, figure=figure, cmap=cmap,
    )
    for cell, loss in zip(display.axes_.ravel(), worst["loss"]):
        cell.set_title(f"{cell.get_title()}\nloss {loss:.2f}", fontsize=8,
                       color=cell.title.get_color())
    return display


def plot_domain_pairs(
    domains: Mapping[str, Any],
    *,
    n: int = 8,
    labels: Mapping[str, Any] | None = None,
    classes: Sequence[str] | None = None,
    ax: Any = None,
    figure: Figure | SubFigure | None = None,
    cmap: Any = "gray",
) -> SampleGridDisplay:
    """Draw the first ``n`` images of each domain, one row per domain, to compare them.

    Args:
        domains: ``{domain_name: images}``, each batch shaped as for :func:`plot_samples`;
            domains may differ in image size and channels.
        n: images per row; a domain with fewer leaves its remaining cells empty.
        labels: optional ``{domain_name: labels}`` written as titles.
        classes: names of integer classes.
        ax: None makes a figure; one Axes is divided into the grid; an array of
            ``len(domains) * n`` Axes gets one cell each.
        figure: a Figure or SubFigure to draw the grid into, when ``ax`` is None.
        cmap: colormap for single-channel images.

    Returns:
        A drawn :class:`SampleGridDisplay`; the domain names are the y labels of the first
        column.

    Raises:
        InvalidParameterError: if ``domains`` is not a non-empty dict or holds a batch of
            another shape.
    """
    func = "plot_domain_pairs"
    if not isinstance(domains, Mapping) or not domains:
        raise param_error("domains", func, "a non-empty dict {name: images}", domains)
    n = check_int(n, "n", func, minimum=1)
    images: list[np.ndarray | None] = []
    titles: list[str | None] = []
    for name, batch in domains.items():
        prepared = _prepare_images(batch, f"domains[{name!r}]", func)[:n]
        row_labels = None if labels is None else labels.get(name)
        row_titles, _, _ = _titles(row_labels, None, classes, len(prepared), func)
        pad = n - len(prepared)
        images += prepared + [None] * pad
        titles += row_titles + [None] * pad
    display = SampleGridDisplay(images, ncols=n, titles=titles,
                                row_labels=[str(k) for k in domains])
    return display.plot(ax, figure=figure, cmap=cmap)
