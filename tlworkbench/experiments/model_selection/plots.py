"""Notebook 05's plot: each score against the tuned accuracy, with the scratch reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._validate import param_error

__all__ = ["plot_score_vs_accuracy"]


def plot_score_vs_accuracy(result: Any, *, scores: Sequence[str] | None = None, axes: Any = None) -> np.ndarray:
    """Scatter each score against the accuracy after the tuned fine-tune, one panel per score.

    Args:
        result: from :func:`~.core.run_model_selection`.
        scores: the score columns to draw (default: the scores and the heuristic).
        axes: a sequence of Axes, one per score; ``None`` makes a row of them.

    Returns:
        The array of Axes drawn on; each panel's title carries Kendall's τ and its interval; a
        dashed line marks the small CNN trained from scratch.
    """
    import matplotlib.pyplot as plt

    from .core import HEURISTIC, SCORE_NAMES

    names = list(scores) if scores is not None else [*result.score_columns, HEURISTIC]
    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(3.0 * len(names), 3.2), squeeze=False, layout="constrained")
    axes = np.asarray(axes).ravel()
    if len(axes) < len(names):
        raise param_error("axes", "plot_score_vs_accuracy", f"one Axes per score ({len(names)})", axes)
    r = result.ranking.set_index("score")
    colours: Callable[[int], Any] = plt.get_cmap("tab10")
    for ax, s in zip(axes, names):
        for i, row in enumerate(result.table.itertuples(index=False)):
            ax.scatter(getattr(row, s), row.accuracy, color=colours(i % 10), label=row.label, s=36)
        ax.axhline(result.scratch["accuracy"], color="grey", ls="--", lw=1, label="small CNN from scratch")
        if s == HEURISTIC:
            ax.set_xscale("log")
        ax.set_xlabel(SCORE_NAMES.get(s, s))
        ax.set_title(f"τ = {r.loc[s, 'kendall_tau']:.2f} [{r.loc[s, 'tau_low']:.2f}, {r.loc[s, 'tau_high']:.2f}]",
                     fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy, tuned fine-tune")
    axes[len(names) - 1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return axes[:len(names)]
