"""Speech plots: a clip's spectrogram, and scores per test condition and representation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validate import check_int, param_error
from ._common import check_ax, check_column, check_frame, require_column

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_spectrogram", "plot_condition_scores"]


def plot_spectrogram(waveform: Any, sample_rate: int, *, title: str | None = None, max_hz: float = 5000.0,
                     ax: Axes | None = None) -> Axes:
    """A clip's spectrogram (power in dB, 23 ms windows), time against frequency.

    Args:
        waveform: 1-d samples.
        sample_rate: samples per second.
        title: drawn above.
        max_hz: the top of the frequency axis.
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes.

    Example:
        >>> ax = plot_spectrogram(np.sin(np.arange(8000) / 3.0), 16000)
    """
    func = "plot_spectrogram"
    wav = np.asarray(waveform, dtype=float)
    if wav.ndim != 1 or len(wav) < 64:
        raise param_error("waveform", func, "a 1-d array of at least 64 samples", getattr(wav, "shape", wav))
    sample_rate = check_int(sample_rate, "sample_rate", func, minimum=1000)
    ax = check_ax(ax, func)
    nfft = 512 if sample_rate > 12000 else 256
    ax.specgram(wav, NFFT=nfft, Fs=sample_rate, noverlap=nfft // 2, cmap="magma")
    ax.set_ylim(0, min(max_hz, sample_rate / 2))
    ax.set_xlabel("seconds")
    ax.set_ylabel("Hz")
    if title is not None:
        ax.set_title(title, fontsize="small")
    return ax


def plot_condition_scores(runs: pd.DataFrame, *, x: str = "condition", y: str = "accuracy",
                          hue: str = "representation", ax: Axes | None = None) -> Axes:
    """One bar at the mean and one dot per seed, for each value of ``x`` and of ``hue``.

    Args:
        runs: a tidy frame, one row per seed, ``x`` and ``hue`` value.
        x: the column of the groups along the axis (the test condition).
        y: the numeric column drawn.
        hue: the column of the bars within a group (the representation).
        ax: Axes to draw on; a new figure is made when None.

    Returns:
        The Axes.

    Example:
        >>> runs = pd.DataFrame({"condition": ["normal", "fast"] * 2, "representation": ["a", "a", "b", "b"],
        ...                      "accuracy": [0.9, 0.7, 0.8, 0.75]})
        >>> ax = plot_condition_scores(runs)
    """
    func = "plot_condition_scores"
    runs = check_frame(runs, "runs", func)
    for column in (x, hue):
        require_column(runs, column, "runs", func)
    check_column(runs, y, "y", func, numeric=True)
    ax = check_ax(ax, func)
    groups = list(dict.fromkeys(runs[x]))
    hues = list(dict.fromkeys(runs[hue]))
    width = 0.8 / len(hues)
    for j, h in enumerate(hues):
        part = runs[runs[hue] == h]
        positions = np.arange(len(groups)) + (j - (len(hues) - 1) / 2) * width
        means = [part.loc[part[x] == g, y].mean() for g in groups]
        bars = ax.bar(positions, means, width=width * 0.9, alpha=0.5, label=str(h))
        for pos, g in zip(positions, groups):
            values = part.loc[part[x] == g, y].to_numpy()
            ax.plot(np.full(len(values), pos), values, "o", ms=3, color=bars.patches[0].get_facecolor()[:3])
    ax.set_xticks(np.arange(len(groups)), [str(g) for g in groups])
    ax.set_ylabel(y)
    ax.legend(title=hue, fontsize="small")
    return ax
