"""The record of a training run: :class:`History`, one row per epoch and split."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["History"]


class History:
    """What happened during :func:`~tlworkbench.training.fit`, one row per epoch and split.

    Attributes:
        frame: columns ``epoch`` (from 1), ``split`` (``"train"``/``"val"``), ``loss``,
            ``accuracy``, the per-batch metrics of a custom training loss (such as ``coral``),
            ``lr`` (mean over the epoch's steps, train rows only), ``lr_<group>`` (when the
            groups' multipliers differ), ``seconds`` and ``trainable_params``.
        strategy: the strategy trained with.
        best_epoch: the epoch whose weights the model holds at the end (best validation
            accuracy; the last complete epoch without validation data).
        best_accuracy: the validation accuracy of that epoch (``None`` without validation data).
        interrupted: training was stopped by a KeyboardInterrupt (Jupyter's stop button).
        stopped_early: training stopped because validation accuracy stopped improving.
    """

    def __init__(self, strategy: str, frame: pd.DataFrame | None = None, *, best_epoch: int | None = None,
                 best_accuracy: float | None = None, interrupted: bool = False, stopped_early: bool = False) -> None:
        self.strategy = strategy
        self.frame = frame if frame is not None else pd.DataFrame(
            columns=["epoch", "split", "loss", "accuracy", "lr", "seconds", "trainable_params"])
        self.best_epoch = best_epoch
        self.best_accuracy = best_accuracy
        self.interrupted = interrupted
        self.stopped_early = stopped_early

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return int(self.frame["epoch"].max()) if len(self.frame) else 0

    def __repr__(self) -> str:
        best = "" if self.best_accuracy is None else f", best_accuracy={self.best_accuracy:.4f}"
        flags = ", interrupted" if self.interrupted else ", stopped early" if self.stopped_early else ""
        return f"History({self.strategy!r}, epochs={self.epochs}, best_epoch={self.best_epoch}{best}{flags})"

    def _repr_html_(self) -> str:
        return f"<p><code>{self!r}</code></p>" + self.frame.to_html(index=False, float_format="{:.4g}".format)

    def plot(self, ax: Any = None, metric: str = "loss") -> Any:
        """Learning curves through :func:`tlworkbench.plots.plot_history`; returns the Axes."""
        from .. import plots  # matplotlib is only needed when a plot is asked for

        return plots.plot_history(self.frame, metric=metric, ax=ax, label=self.strategy)
