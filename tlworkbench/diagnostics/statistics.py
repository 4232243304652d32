"""Statistics over repeated runs: paired intervals, the negative-transfer gap and rank correlations.

* :func:`paired_difference`: the mean difference of two arms measured on the same seeds, with a
  t-interval or a BCa bootstrap interval and a verdict that calls a difference whose interval
  covers 0 inconclusive. Every comparison over seeds goes through it.
* :func:`~tlworkbench.diagnostics.transfer_gap.negative_transfer_gap` (its own module): transfer
  minus scratch error with a t-interval (paired or Welch's) or a bootstrap interval.
* :func:`score_correlation`: the one correlation table (Kendall's τ, Spearman's ρ, Pearson's r)
  between scores or measures and an outcome such as accuracy.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_sequence,
    check_type,
    param_error,
)
from ..errors import DataError, InvalidParameterError
from ._arrays import as_per_seed

__all__ = [
    "CORRELATION_COLUMNS",
    "PairedDifference",
    "paired_difference",
    "score_correlation",
]

#: Fewest pairs for which :func:`paired_difference` stays quiet; below it the interval is fragile.
MIN_QUIET_PAIRS = 5

#: Columns of :func:`score_correlation`, after ``score``.
CORRELATION_COLUMNS = ("kendall_tau", "kendall_p", "spearman_rho", "spearman_p", "pearson_r", "pearson_p", "n")

_METHOD_NAMES = {"t": "t-interval", "bca": "BCa bootstrap interval"}


def _decimals(width: float, mean: float) -> int:
    """Decimals that show two significant digits of the interval's width (or of the mean)."""
    scale = width if width > 0 else abs(mean)
    if scale == 0 or not math.isfinite(scale):
        return 1
    return int(min(max(1 - math.floor(math.log10(scale)), 0), 6))


@dataclass(frozen=True)
class PairedDifference:
    """Outcome of :func:`paired_difference`: ``mean(a - b)`` with its confidence interval.

    Attributes:
        mean: mean of the per-seed differences ``a - b``.
        low: lower end of the interval.
        high: upper end of the interval.
        n: number of pairs (seeds).
        level: confidence level of the interval.
        method: ``"t"`` or ``"bca"``.
        verdict: ``"a better"`` or ``"b better"`` when the interval excludes 0, otherwise
            ``"inconclusive"``.
        unit: printed after the mean (for example ``"points"``); empty for none.
        names: what ``str()`` calls the two arms in its verdict (``"a"`` and ``"b"`` unless given).
    """

    mean: float
    low: float
    high: float
    n: int
    level: float
    method: Literal["t", "bca"]
    verdict: Literal["a better", "b better", "inconclusive"]
    unit: str = ""
    names: tuple[str, str] = ("a", "b")

    def __str__(self) -> str:
        places = _decimals(self.high - self.low, self.mean)

        def signed(value: float) -> str:
            return f"{value:+.{places}f}".replace("-", "\N{MINUS SIGN}")

        unit = f" {self.unit}" if self.unit else ""
        verdict = {"a better": f"{self.names[0]} better", "b better": f"{self.names[1]} better"}.get(
            self.verdict, self.verdict)
        return (f"{signed(self.mean)}{unit} [{signed(self.low)}, {signed(self.high)}], "
                f"{100 * self.level:g}% {_METHOD_NAMES[self.method]}, n = {self.n}: {verdict}")


def paired_difference(
    a: Any,
    b: Any,
    *,
    level: float = 0.95,
    method: Literal["t", "bca"] = "t",
    higher_is_better: bool = True,
    unit: str = "",
    names: tuple[str, str] = ("a", "b"),
    n_resamples: int = 9999,
    seed: int = 0,
) -> PairedDifference:
    """Mean difference of two arms run on the same seeds, with an interval and a verdict.

    ``a[i]`` and ``b[i]`` are the results of the two arms on seed ``i``; the interval is that of
    the mean of ``d = a - b``. ``method="t"`` gives the Student t-interval
    ``mean ± t_{n-1} s / √n`` (:data:`scipy.stats.t`), exact when the differences are normal;
    ``method="bca"`` gives the bias-corrected and accelerated bootstrap interval of
    :func:`scipy.stats.bootstrap`, which needs no normality but more seeds to be reliable.
    A difference whose interval covers 0 is ``"inconclusive"``.

    References:
        B. Efron, R. J. Tibshirani. "An Introduction to the Bootstrap." 1993, Chapter 14.

    Args:
        a: results of the first arm, one per seed.
        b: results of the second arm on the same seeds, in the same order.
        level: confidence level in ``(0, 1)``.
        method: ``"t"`` or ``"bca"`` (any case).
        higher_is_better: whether larger results are better (accuracy) or worse (error); it
            only decides which arm the verdict names.
        unit: printed after the mean by ``str()``, e.g. ``"points"``.
        names: the two arms' names, for the verdict ``str()`` prints (``"ImageNet better"``); the
            ``verdict`` attribute keeps ``"a better"`` and ``"b better"``.
        n_resamples: bootstrap resamples for ``method="bca"`` (>= 100).
        seed: seed of the bootstrap (>= 0).

    Returns:
        A :class:`PairedDifference`; ``str()`` of it reads like
        ``+3.1 points [−0.4, +6.6], 95% t-interval, n = 3: inconclusive``.

    Raises:
        DataError: fewer than 2 pairs, non-finite results, or ``a`` and ``b`` of different
            lengths.
        InvalidParameterError: a bad ``level``, ``method``, ``n_resamples`` or ``seed``.

    Warns:
        UserWarning: fewer than 5 pairs: the interval is wide and rests on assumptions that so
            few seeds cannot check.

    Example:
        >>> str(paired_difference([80.0, 83.0, 86.0], [78.0, 80.0, 85.0], unit="points"))
        '+2.0 points [−0.5, +4.5], 95% t-interval, n = 3: inconclusive'
    """
    func = "paired_difference"
    x = as_per_seed(a, "a", func)
    y = as_per_seed(b, "b", func)
    if len(x) != len(y):
        raise DataError(
            f"The 'a' and 'b' parameters of {func} must have one result per seed each, in the same "
            f"seed order; got {len(x)} and {len(y)}. Run both arms on the same seeds."
        )
    level = check_fraction(level, "level", func)
    # "BCa" is how the method is usually written (scipy spells it so too)
    method = check_choice(method.lower() if isinstance(method, str) else method, "method", func,
                          tuple(_METHOD_NAMES), error=InvalidParameterError)
    higher_is_better = check_bool(higher_is_better, "higher_is_better", func)
    unit = check_type(unit, "unit", func, str, "a string")
    names = check_sequence(names, "names", func, check_type, str, "a string")
    if len(names) != 2:
        raise param_error("names", func, "two names, one per arm", names)
    n_resamples = check_int(n_resamples, "n_resamples", func, minimum=100)
    seed = check_int(seed, "seed", func, minimum=0)
    diff = x - y
    n = len(diff)
    if n < MIN_QUIET_PAIRS:
        warnings.warn(
            f"{func} got n = {n} pairs; with fewer than {MIN_QUIET_PAIRS} seeds the interval is "
            "wide and its coverage cannot be checked. Run more seeds.", UserWarning, stacklevel=2)
    mean = float(diff.mean())
    if np.ptp(diff) == 0:  # every seed gives the same difference: the interval is that point
        low = high = mean
    elif method == "t":
        sem = float(diff.std(ddof=1)) / math.sqrt(n)
        low, high = (float(v) for v in stats.t.interval(level, df=n - 1, loc=mean, scale=sem))
    else:
        result = stats.bootstrap((diff,), np.mean, confidence_level=level, method="BCa",
                                 n_resamples=n_resamples, rng=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    verdict: Literal["a better", "b better", "inconclusive"]
    if low > 0:
        verdict = "a better" if higher_is_better else "b better"
    elif high < 0:
        verdict = "b better" if higher_is_better else "a better"
    else:
        verdict = "inconclusive"
    return PairedDifference(mean=mean, low=low, high=high, n=n, level=level, method=method,
                            verdict=verdict, unit=unit, names=(names[0], names[1]))


def _correlate(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Kendall, Spearman and Pearson statistics with p-values; NaN where either side is flat."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return (math.nan,) * 6
    tau, rho, r = stats.kendalltau(x, y), stats.spearmanr(x, y), stats.pearsonr(x, y)
    return (float(tau.statistic), float(tau.pvalue), float(rho.statistic), float(rho.pvalue),
            float(r.statistic), float(r.pvalue))


def score_correlation(scores: pd.DataFrame, *, accuracy: str = "accuracy") -> pd.DataFrame:
    """How well each score (or shift measure) ranks the rows by an outcome such as accuracy.

    For every numeric column other than ``accuracy`` (one row per candidate model, layer or
    target domain), Kendall's τ (the measure used by You et al., 2021 and Nguyen et al., 2020),
    Spearman's ρ and Pearson's r are computed with :mod:`scipy.stats` over the rows where both
    values are finite. Non-numeric columns (such as a model name) are ignored. A constant column,
    or fewer than 3 finite rows, gives NaN: it ranks nothing.

    References:
        M. G. Kendall. "A New Measure of Rank Correlation." Biometrika 30, 1938.

    Args:
        scores: a DataFrame with one column per score and an outcome column.
        accuracy: name of the outcome column.

    Returns:
        A DataFrame with columns ``score``, ``kendall_tau``, ``kendall_p``, ``spearman_rho``,
        ``spearman_p``, ``pearson_r``, ``pearson_p`` and ``n`` (rows used), one row per score
        column.

    Raises:
        InvalidParameterError: ``scores`` is not a DataFrame.
        DataError: ``scores`` has no ``accuracy`` column, no numeric score column, or fewer
            than 3 rows.

    Example:
        >>> table = pd.DataFrame({"logme": [1.0, 2.0, 3.0], "accuracy": [0.5, 0.6, 0.9]})
        >>> score_correlation(table)["kendall_tau"].item()
        1.0
    """
    func = "score_correlation"
    check_type(scores, "scores", func, pd.DataFrame,
               "a pandas DataFrame with one column per score and an accuracy column")
    check_choice(accuracy, "accuracy", func, list(scores.columns), error=DataError,
                 what="a column of 'scores':")
    if len(scores) < 3:
        raise DataError(
            f"The 'scores' parameter of {func} must have at least 3 rows (models) to correlate; "
            f"got {len(scores)}. Score more candidate models."
        )
    score_columns = [
        c for c in scores.columns
        if c != accuracy and pd.api.types.is_numeric_dtype(scores[c])
        and not pd.api.types.is_bool_dtype(scores[c])
    ]
    if not score_columns:
        raise DataError(
            f"The 'scores' parameter of {func} must have at least one numeric score column "
            f"besides {accuracy!r}; got columns {list(scores.columns)}."
        )
    acc = pd.to_numeric(scores[accuracy], errors="coerce").to_numpy(dtype=np.float64)
    rows = []
    for column in score_columns:
        values = scores[column].to_numpy(dtype=np.float64)
        keep = np.isfinite(values) & np.isfinite(acc)
        rows.append((column, *_correlate(values[keep], acc[keep]), int(keep.sum())))
    return pd.DataFrame(rows, columns=["score", *CORRELATION_COLUMNS])
