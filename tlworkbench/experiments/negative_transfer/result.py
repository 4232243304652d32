"""Notebook 04's result: the tables, the conclusion written from them, and the whole run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...config import Profile, get_profile, resolve_progress
from .._memo import memoized
from .gaps import COMPARISONS, gap_cell, gap_table, gaps
from .grid import NO_SOURCE, TARGET, transfer_grid
from .scores import pre_training_scores, source_overlap, source_ranking

__all__ = ["NegativeTransferResult", "conclude", "headline", "run_negative_transfer"]


@dataclass
class NegativeTransferResult:
    """Everything notebook 04 shows.

    Attributes:
        runs: every run (:func:`~.grid.transfer_grid`).
        choices: every value of every grid on the first seed's validation split.
        gaps: NTG per comparison, source, budget and depth (:func:`~.gaps.gaps`).
        scores: pre-training measures per source (:func:`~.scores.pre_training_scores`).
        ranking: sources by harm next to those measures (:func:`~.scores.source_ranking`).
        overlap: target images each source saw (:func:`~.scores.source_overlap`).
    """

    runs: pd.DataFrame
    choices: pd.DataFrame
    gaps: pd.DataFrame
    scores: pd.DataFrame
    ranking: pd.DataFrame
    overlap: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """NTG with its 95% paired t-interval and n, per source and depth (:func:`~.gaps.gap_table`)."""
        return gap_table(self.gaps)

    @property
    def accuracy(self) -> pd.DataFrame:
        """Mean test accuracy per arm and budget, with the chosen learning rate or penalty."""
        table = self.runs.groupby(["source", "depth", "frozen", "per_class"], sort=False).agg(
            accuracy=("accuracy", "mean"), sd=("accuracy", "std"), n=("seed", "size"), hyper=("hyper", "first"),
            value=("value", "first"))
        return table.reset_index()

    @property
    def headline(self) -> str:
        """One sentence per comparison: how many settings are negative, positive or inconclusive."""
        return headline(self.gaps)

    @property
    def conclusion(self) -> str:
        """The conclusion, written from the measured tables."""
        return conclude(self.gaps, self.ranking)


_AGAINST = {COMPARISONS[0]: "the no-source twin (the same layers frozen, random weights)",
            COMPARISONS[1]: "the tuned scratch network"}


def _count(frame: pd.DataFrame) -> str:
    counts = frame["verdict"].value_counts()
    return (f"{counts.get('negative transfer', 0)} negative transfer, {counts.get('positive transfer', 0)} "
            f"positive, {counts.get('inconclusive', 0)} inconclusive")


def _setting(row: pd.Series) -> str:
    source = "" if row["source"] == NO_SOURCE else f"{row['source']} "
    return f"{source}{row['frozen']} at {row['per_class']}/class: {gap_cell(row)}"


def _listing(frame: pd.DataFrame) -> str:
    return "; ".join(_setting(row) for _, row in frame.iterrows()) if len(frame) else "no setting"


def headline(gap_frame: pd.DataFrame) -> str:
    """How many source settings each comparison calls negative, positive or inconclusive."""
    g = gap_frame[gap_frame["source"] != NO_SOURCE]
    n = int(g["n"].min())
    parts = []
    for comparison in COMPARISONS:
        rows = g[g["comparison"] == comparison]
        parts.append(f"against {_AGAINST[comparison]}, {_count(rows)} of {len(rows)} settings")
    return (f"NTG (95% paired t-intervals, n = {n} seeds): " + "; ".join(parts) + ".")


def conclude(gap_frame: pd.DataFrame, ranking: pd.DataFrame) -> str:
    """The notebook's conclusion, written from the gaps and the ranking.

    Every sentence is computed from the tables: counts of verdicts, the settings behind them, the
    cost of freezing random layers against scratch, and the order of the sources.
    """
    g = gap_frame
    sources = g[g["source"] != NO_SOURCE]
    twin = sources[sources["comparison"] == COMPARISONS[0]]
    scratch = sources[sources["comparison"] == COMPARISONS[1]]
    freezing = g[(g["source"] == NO_SOURCE) & (g["comparison"] == COMPARISONS[1])]
    shallowest = int(g["depth"].min())
    lines = [headline(g)]
    lines.append("What the source itself did (against the same freezing on random layers): negative in "
                 + _listing(twin[twin["verdict"] == "negative transfer"]) + ".")
    neg_scratch = scratch[scratch["verdict"] == "negative transfer"]
    frozen_neg = neg_scratch[neg_scratch["depth"] > shallowest]
    keys = ["source", "per_class", "depth"]
    twin_verdict = twin.set_index(keys)["verdict"]
    not_harm = [k for k in frozen_neg.set_index(keys).index if twin_verdict.get(k) != "negative transfer"]
    lines.append(f"Against the tuned scratch network, {len(neg_scratch)} settings are negative transfer; "
                 f"{len(frozen_neg)} of them freeze layers, and in {len(not_harm)} of those the source did not "
                 f"hurt its no-source twin: they measure the cost of freezing. Frozen random layers alone cost "
                 + _listing(freezing) + ".")
    fine = scratch[scratch["depth"] == shallowest]
    lines.append("Fine-tuning every layer (each arm's learning rate chosen on validation), against scratch: "
                 + _listing(fine) + ".")
    best = scratch.loc[scratch["ntg"].idxmin()]
    lines.append(f"The best transfer arm against scratch is {_setting(best)}.")
    r = ranking.set_index("source")
    order = list(ranking["source"])
    by_leep = list(r["leep"].sort_values(ascending=False).index)
    lines.append("From least to most harmful (mean NTG against the twin over the grid, points of error): "
                 + ", ".join(f"{s} ({100 * r.loc[s, 'mean_ntg']:+.1f})" for s in order) + ". "
                 + f"Before any training, LEEP orders them {', '.join(by_leep)}"
                 + (" (the same order)" if by_leep == order else " (another order)")
                 + "; the pixel distance puts them, nearest first, "
                 + ", ".join(f"{s} ({r.loc[s, 'pixel_distance']:.2f})"
                             for s in r["pixel_distance"].sort_values().index) + ".")
    return "\n".join(lines)


@memoized
def run_negative_transfer(*, profile: str | Profile | None = None, seed: int = 0, target: str = TARGET,
                          sources: Sequence[str] | None = None, budgets: Sequence[int] | None = None,
                          depths: Sequence[int] | None = None, seeds: Sequence[int] | None = None,
                          progress: bool | None = None, executor: Any = None,
                          folder: str | os.PathLike | None = None) -> NegativeTransferResult:
    """Run every part of notebook 04 and return the tables.

    Args:
        profile: run profile; its sources, budgets, depths and seeds are the defaults.
        seed: seed of the examples the pre-training scores see.
        target: the target data set.
        sources: workbench source keys (default: the profile's that are installed,
            :func:`~.grid.available_sources`).
        budgets: labelled target examples per class (validation included).
        depths: ``freeze_to`` depths.
        seeds: seeds of the runs (the first chooses every learning rate and penalty).
        progress: progress bars; ``None``: on in Jupyter only.
        executor: a :class:`concurrent.futures.Executor` that runs the grid's cells (a Dask
            client's ``get_executor()``, a ``ProcessPoolExecutor``); ``None``: here, in order.
        folder: keep every finished cell of the grid there, and read back those already kept.

    Returns:
        A :class:`NegativeTransferResult`.

    Example:
        >>> result = run_negative_transfer(profile="quick")   # doctest: +SKIP
        >>> print(result.conclusion)                          # doctest: +SKIP
    """
    prof = get_profile(profile)
    progress = resolve_progress(progress)
    overlap = source_overlap(target, sources=sources, profile=prof)
    scores = pre_training_scores(target, sources=sources, per_class=max(budgets) if budgets else None, seed=seed,
                                 profile=prof, progress=progress)
    runs, choices = transfer_grid(target, sources=sources, budgets=budgets, depths=depths, seeds=seeds, profile=prof,
                                  progress=progress, executor=executor, folder=folder)
    gap_frame = gaps(runs)
    return NegativeTransferResult(runs=runs, choices=choices, gaps=gap_frame, scores=scores,
                                  ranking=source_ranking(gap_frame, scores), overlap=overlap)
