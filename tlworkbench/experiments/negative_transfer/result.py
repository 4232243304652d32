"""Notebook 04's result: the tables, the conclusion written from them, and the whole run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...config import Profile, get_profile, resolve_progress
from .grid import TARGET, gap_table, gaps, transfer_grid
from .scores import pre_training_scores, source_ranking

__all__ = ["NegativeTransferResult", "conclude", "run_negative_transfer"]

_CLOSE = 0.02  # mean-NTG differences below this are not told apart by three seeds


@dataclass
class NegativeTransferResult:
    """Everything notebook 04 shows.

    Attributes:
        grid: every run (:func:`~.grid.transfer_grid`).
        gaps: NTG per source, budget and depth (:func:`~.grid.gaps`).
        scores: pre-training measures per source (:func:`~.scores.pre_training_scores`).
        ranking: sources by harm next to those measures (:func:`~.scores.source_ranking`).
    """

    grid: pd.DataFrame
    gaps: pd.DataFrame
    scores: pd.DataFrame
    ranking: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """NTG with its 95% interval per source, depth and budget (:func:`~.grid.gap_table`)."""
        return gap_table(self.gaps)

    @property
    def conclusion(self) -> str:
        """The conclusion, written from the measured tables."""
        return conclude(self.gaps, self.ranking)


def _fmt(row: pd.Series) -> str:
    return f"{row['ntg']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def _order(values: pd.Series, *, ascending: bool) -> str:
    return ", ".join(f"{k} ({v:.3f})" for k, v in values.sort_values(ascending=ascending).items())


def conclude(gap_frame: pd.DataFrame, ranking: pd.DataFrame) -> str:
    """The notebook's conclusion, written from the gaps and the ranking."""
    g = gap_frame
    budgets = sorted(g["per_class"].unique())
    depths = sorted(g["depth"].unique())
    lo_b, hi_b, lo_d, hi_d = budgets[0], budgets[-1], depths[0], depths[-1]
    label = dict(zip(g["depth"], g["frozen"]))
    seeds = int(g["seeds"].max())
    neg = g[g["verdict"] == "negative transfer"]
    pos = g[g["verdict"] == "positive transfer"]
    worst, best = g.loc[g["ntg"].idxmax()], g.loc[g["ntg"].idxmin()]
    lines = [
        f"Negative transfer: {len(neg)} of {len(g)} settings have an NTG interval above 0 (95%, {seeds} seeds). "
        f"The worst is {worst['source']} at {worst['per_class']}/class, {worst['frozen']}: NTG {_fmt(worst)}, "
        f"{100 * worst['transfer_error']:.1f}% error against {100 * worst['scratch_error']:.1f}% from scratch.",
        f"Positive transfer: {len(pos)} settings have an interval below 0"
        + (f", from {', '.join(pd.unique(pos['source']))}" if len(pos) else "")
        + f". The best is {best['source']} at {best['per_class']}/class, {best['frozen']}: NTG {_fmt(best)}.",
    ]
    by_depth = g.groupby(["source", "depth"], sort=False)["ntg"].mean()
    rising = [src for src in pd.unique(g["source"]) if (np.diff(by_depth[src].to_numpy()) > 0).all()]
    lines.append("NTG by depth, mean over budgets: " + "; ".join(
        f"{src} " + " -> ".join(f"{by_depth[(src, d)]:+.3f}" for d in depths) for src in pd.unique(g["source"]))
        + f" ({' -> '.join(label[d] for d in depths)}). "
        + (f"It rises with every group frozen for {', '.join(rising)}." if rising else
           "It does not rise steadily with depth for any source."))
    for source in pd.unique(g["source"]):
        s = g[g["source"] == source].set_index(["per_class", "depth"])["ntg"]
        lines.append(f"{source}: from {lo_b} to {hi_b} labels per class, NTG goes {s[(lo_b, lo_d)]:+.3f} -> "
                     f"{s[(hi_b, lo_d)]:+.3f} with {label[lo_d]} and {s[(lo_b, hi_d)]:+.3f} -> {s[(hi_b, hi_d)]:+.3f} "
                     f"with {label[hi_d]}.")
    r = ranking.set_index("source")
    harmful, runner_up = ranking["source"].iloc[-1], ranking["source"].iloc[-2]
    margin = r.loc[harmful, "mean_ntg"] - r.loc[runner_up, "mean_ntg"]
    lines.append("From least to most harmful (mean NTG over the grid): "
                 + ", ".join(f"{src} ({r.loc[src, 'mean_ntg']:+.3f})" for src in r.index)
                 + f"; the last two are {margin:.3f} apart"
                 # three runs of the quick profile put them 0.003 to 0.015 apart, in the same order
                 + (", too close to call with these seeds." if margin < _CLOSE else "."))
    lines.append(f"Before any training, LEEP orders them {_order(r['leep'], ascending=False)} and ranks {harmful} "
                 f"{r.loc[harmful, 'leep_rank']} of {len(r)}; LogME orders them "
                 f"{_order(r['logme'], ascending=False)}; the pixel distance puts {harmful} "
                 f"{r.loc[harmful, 'pixel_distance_rank']} of {len(r)} from the target "
                 f"(nearest first: {_order(r['pixel_distance'], ascending=True)}).")
    return "\n".join(lines)


def run_negative_transfer(*, profile: str | Profile | None = None, seed: int = 0, target: str = TARGET,
                          sources: Sequence[str] | None = None, budgets: Sequence[int] | None = None,
                          depths: Sequence[int] | None = None, seeds: Sequence[int] | None = None,
                          progress: bool | None = None) -> NegativeTransferResult:
    """Run every part of notebook 04 and return the tables.

    Args:
        profile: run profile; its sources, budgets, depths and seeds are the defaults.
        seed: seed of the examples the pre-training scores see, and of the bootstrap.
        target: the target data set.
        sources: workbench source keys.
        budgets: labelled target examples per class.
        depths: ``freeze_to`` depths.
        seeds: seeds of the runs.
        progress: progress bars; ``None``: on in Jupyter only.

    Returns:
        A :class:`NegativeTransferResult`.

    Example:
        >>> result = run_negative_transfer(profile="quick")   # doctest: +SKIP
        >>> print(result.conclusion)                          # doctest: +SKIP
    """
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    scores = pre_training_scores(target, sources=sources, per_class=max(budgets) if budgets else None, seed=seed,
                                 profile=prof, progress=progress)
    grid = transfer_grid(target, sources=sources, budgets=budgets, depths=depths, seeds=seeds, profile=prof,
                         progress=progress)
    gap_frame = gaps(grid, seed=seed)
    return NegativeTransferResult(grid=grid, gaps=gap_frame, scores=scores, ranking=source_ranking(gap_frame, scores))
