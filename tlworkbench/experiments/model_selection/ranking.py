"""How well a ranking of candidates agrees with the ground truth, with an interval, against a heuristic.

Kendall's τ-b between a score and the tuned accuracies is computed over the n candidates; its
interval is a percentile bootstrap over the candidates (resample n of them with replacement,
recompute τ), which says how much the value depends on which candidates happen to be in the zoo.
With 6 to 9 candidates that interval is wide, and it should be read as such.

A score is only worth its cost if it beats a ranking that never looks at the target (Singh et
al., "How NOT to benchmark your SITE metric", 2025): here the candidates' parameter counts, the
"bigger is better" rule. Each score's τ is compared with the heuristic's on the same bootstrap
resamples (a paired difference); an interval that covers zero is inconclusive.

:func:`kendall_tau_b` is written here because it is computed for thousands of bootstrap resamples
at once (broadcast over leading axes); :func:`scipy.stats.kendalltau` takes one pair of vectors
per call. tests/test_selection.py checks that both agree, ties included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["kendall_tau_b", "bootstrap_taus", "ranking_table"]


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's τ-b of the last axis of ``x`` and ``y`` (broadcast over leading axes); NaN where
    one side is constant.

    Example:
        >>> round(float(kendall_tau_b(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.3, 0.2]))), 3)
        0.333
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.shape[-1]
    iu = np.triu_indices(n, k=1)
    dx = np.sign(x[..., :, None] - x[..., None, :])[..., iu[0], iu[1]]
    dy = np.sign(y[..., :, None] - y[..., None, :])[..., iu[0], iu[1]]
    s = (dx * dy).sum(-1)
    nx, ny = (dx != 0).sum(-1), (dy != 0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((nx > 0) & (ny > 0), s / np.sqrt(nx * ny.astype(float)), np.nan)


def bootstrap_taus(table: pd.DataFrame, columns: Sequence[str], *, accuracy: str = "accuracy",
                   n_resamples: int = 4000, seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    """τ-b of each column with ``accuracy``: on the table, and on the same candidate resamples.

    Returns:
        ``(tau, boot)``: the observed τ per column, and one row per resample, one column per
        score (NaN where a resample leaves a side constant).
    """
    rng = np.random.default_rng(seed)
    n = len(table)
    idx = rng.integers(0, n, size=(n_resamples, n))
    y = table[accuracy].to_numpy(dtype=float)
    tau, boot = {}, {}
    for c in columns:
        x = table[c].to_numpy(dtype=float)
        tau[c] = float(kendall_tau_b(x, y))
        boot[c] = kendall_tau_b(x[idx], y[idx])
    return pd.Series(tau), pd.DataFrame(boot)


def ranking_table(table: pd.DataFrame, scores: Sequence[str], heuristic: str, *, accuracy: str = "accuracy",
                  level: float = 0.95, n_resamples: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Each score's Kendall's τ with the ground truth and its difference from the heuristic's.

    Args:
        table: one row per candidate with the score columns, ``heuristic`` and ``accuracy``.
        scores: the score columns (larger is better).
        heuristic: the column of the dataset-agnostic ranking (larger is better).
        accuracy: the ground-truth column.
        level: the confidence level of the percentile intervals.
        n_resamples: bootstrap resamples of the candidates.
        seed: seeds the resampling.

    Returns:
        One row per score and one for the heuristic: ``score``, ``n`` (candidates),
        ``kendall_tau``, ``tau_low``, ``tau_high``, ``picked`` (the candidate it ranks first),
        ``picked_accuracy``, ``regret`` (best accuracy minus the picked one's), ``vs_heuristic``
        (τ minus the heuristic's τ), ``diff_low``, ``diff_high`` and ``verdict``
        (``"beats the heuristic"``, ``"worse than the heuristic"`` or ``"inconclusive"``).
    """
    columns = [*scores, heuristic]
    tau, boot = bootstrap_taus(table, columns, accuracy=accuracy, n_resamples=n_resamples, seed=seed)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    best = float(table[accuracy].max())
    rows = []
    for c in columns:
        b = boot[c].to_numpy()
        d = b - boot[heuristic].to_numpy()
        values = table[c].to_numpy(dtype=float)
        i = int(np.nanargmax(values))
        row = {"score": c, "n": len(table), "kendall_tau": tau[c],
               "tau_low": float(np.nanquantile(b, lo_q)), "tau_high": float(np.nanquantile(b, hi_q)),
               "picked": table["label"].iloc[i], "picked_accuracy": float(table[accuracy].iloc[i]),
               "regret": best - float(table[accuracy].iloc[i])}
        if c == heuristic:
            row.update(vs_heuristic=0.0, diff_low=np.nan, diff_high=np.nan, verdict="(the heuristic)")
        else:
            lo, hi = float(np.nanquantile(d, lo_q)), float(np.nanquantile(d, hi_q))
            verdict = "beats the heuristic" if lo > 0 else "worse than the heuristic" if hi < 0 else "inconclusive"
            row.update(vs_heuristic=tau[c] - tau[heuristic], diff_low=lo, diff_high=hi, verdict=verdict)
        rows.append(row)
    return pd.DataFrame(rows)
