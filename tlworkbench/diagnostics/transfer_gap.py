"""The negative-transfer gap: transfer minus scratch error over seeds, with an interval
(Wang et al., "Characterizing and avoiding negative transfer", CVPR 2019).

:func:`negative_transfer_gap` pairs the two arms by seed when both ran on the same seeds (a
t-interval or a BCa bootstrap interval of the paired differences, as
:func:`~tlworkbench.diagnostics.statistics.paired_difference`), and otherwise compares them
unpaired (Welch's t-interval or a percentile bootstrap).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from .._validate import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_optional,
)
from ..errors import DataError, InvalidParameterError
from ._arrays import as_per_seed
from .statistics import MIN_QUIET_PAIRS, _decimals, paired_difference

__all__ = ["TransferGap", "negative_transfer_gap"]


@dataclass(frozen=True)
class TransferGap:
    """Outcome of :func:`negative_transfer_gap`.

    Attributes:
        gap: mean error with transfer minus mean error from scratch; positive means transfer hurt.
        low: lower end of the confidence interval of ``gap``.
        high: upper end of the confidence interval of ``gap``.
        significant: ``"negative transfer"`` when the whole interval lies above 0,
            ``"positive transfer"`` when it lies below 0, ``"not significant"`` otherwise.
        paired: whether the runs were paired on their seed.
        level: confidence level of the interval.
        method: ``"t"``, ``"bca"`` or ``"percentile"``.
        n_transfer: runs with transfer.
        n_scratch: runs from scratch (equal to ``n_transfer`` when paired).
    """

    gap: float
    low: float
    high: float
    significant: Literal["negative transfer", "positive transfer", "not significant"]
    paired: bool
    level: float
    method: Literal["t", "bca", "percentile"] = "t"
    n_transfer: int = 0
    n_scratch: int = 0

    def __str__(self) -> str:
        places = _decimals(self.high - self.low, self.gap)

        def signed(value: float) -> str:
            return f"{value:+.{places}f}".replace("-", "\N{MINUS SIGN}")

        n = f"n = {self.n_transfer}" if self.paired else f"n = {self.n_transfer} and {self.n_scratch}"
        kind = {"t": "t-interval" if self.paired else "Welch t-interval",
                "bca": "BCa bootstrap interval", "percentile": "percentile bootstrap interval"}[self.method]
        return (f"NTG {signed(self.gap)} [{signed(self.low)}, {signed(self.high)}], "
                f"{100 * self.level:g}% {kind}, {n}: {self.significant}")


_GAP_METHODS = ("t", "bca", "percentile")


def _unpaired_interval(t: np.ndarray, s: np.ndarray, method: str, level: float, n_boot: int,
                       rng: np.random.Generator) -> tuple[float, float]:
    gap = float(t.mean() - s.mean())
    if method == "t":  # Welch: unequal variances, Welch-Satterthwaite degrees of freedom
        vt, vs = t.var(ddof=1) / len(t), s.var(ddof=1) / len(s)
        if vt + vs == 0:
            return gap, gap
        df = (vt + vs) ** 2 / (vt ** 2 / (len(t) - 1) + vs ** 2 / (len(s) - 1))
        low, high = stats.t.interval(level, df=df, loc=gap, scale=math.sqrt(vt + vs))
        return float(low), float(high)
    if method == "bca":
        if np.ptp(t) == 0 and np.ptp(s) == 0:
            return gap, gap
        result = stats.bootstrap((t, s), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), method="BCa",
                                 confidence_level=level, n_resamples=n_boot, rng=rng)
        return float(result.confidence_interval.low), float(result.confidence_interval.high)
    boots = (t[rng.integers(0, len(t), size=(n_boot, len(t)))].mean(axis=1)
             - s[rng.integers(0, len(s), size=(n_boot, len(s)))].mean(axis=1))
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(boots, [tail, 1.0 - tail])
    return float(low), float(high)


def negative_transfer_gap(
    transfer_errors: Any,
    scratch_errors: Any,
    *,
    method: Literal["t", "bca", "percentile"] = "t",
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    paired: bool | None = None,
) -> TransferGap:
    """Negative transfer gap with a confidence interval over seeds.

    ``NTG = mean(transfer_errors) - mean(scratch_errors)``: the target error of the model
    trained with the source minus the error of the same algorithm run on the target alone
    (Wang et al., 2019). A positive gap is negative transfer; a gap whose interval covers 0 is
    ``"not significant"``.

    Paired runs (the i-th entries share a seed and its labelled examples) get the interval of
    :func:`paired_difference` on the per-seed differences: ``"t"`` (Student) or ``"bca"``.
    Unpaired runs get Welch's t-interval or a two-sample BCa bootstrap. ``"percentile"`` is the
    plain percentile bootstrap; with a handful of seeds it is about the range of the differences
    and far too narrow, so it is not the default (Efron and Tibshirani, 1993, Section 13.3).

    References:
        Z. Wang, Z. Dai, B. Póczos, J. Carbonell. "Characterizing and Avoiding Negative
        Transfer." CVPR 2019. B. Efron, R. J. Tibshirani. "An Introduction to the Bootstrap."
        1993.

    Args:
        transfer_errors: target errors with transfer, one per seed.
        scratch_errors: target errors without the source, one per seed.
        method: ``"t"``, ``"bca"`` or ``"percentile"``.
        n_boot: bootstrap resamples for ``"bca"`` and ``"percentile"`` (>= 100).
        seed: seed of the bootstrap (>= 0).
        level: confidence level in ``(0, 1)``.
        paired: pair the runs by position; ``None`` pairs them when both arrays have the same
            length.

    Returns:
        A :class:`TransferGap`; ``str()`` of it reads like
        ``NTG +0.11 [+0.09, +0.12], 95% t-interval, n = 5: negative transfer``.

    Raises:
        DataError: fewer than 2 errors or non-finite errors in an array, or ``paired=True`` with
            arrays of different lengths.
        InvalidParameterError: a bad ``method``, ``n_boot``, ``seed``, ``level`` or ``paired``.

    Warns:
        UserWarning: fewer than 5 runs in an arm.

    Example:
        >>> gap = negative_transfer_gap([0.30, 0.32, 0.31, 0.33, 0.30], [0.20, 0.21, 0.22, 0.20, 0.21])
        >>> gap.significant
        'negative transfer'
    """
    func = "negative_transfer_gap"
    t = as_per_seed(transfer_errors, "transfer_errors", func)
    s = as_per_seed(scratch_errors, "scratch_errors", func)
    method = check_choice(method, "method", func, _GAP_METHODS, error=InvalidParameterError)
    n_boot = check_int(n_boot, "n_boot", func, minimum=100)
    seed = check_int(seed, "seed", func, minimum=0)
    level = check_fraction(level, "level", func)
    paired = check_optional(paired, check_bool, "paired", func)
    if paired is None:
        paired = len(t) == len(s)
    elif paired and len(t) != len(s):
        raise DataError(
            f"The 'transfer_errors' and 'scratch_errors' parameters of {func} must have the same "
            f"length when paired=True; got {len(t)} and {len(s)}. Pass one error per seed in "
            "both, in the same seed order, or use paired=False."
        )
    gap = float(t.mean() - s.mean())
    rng = np.random.default_rng(seed)
    if paired and method != "percentile":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # warned below, once, in this function's name
            diff = paired_difference(t, s, level=level, method=method, n_resamples=n_boot, seed=seed)
        low, high = diff.low, diff.high
    elif paired:
        d = t - s
        boots = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
        tail = (1.0 - level) / 2.0
        low, high = (float(v) for v in np.quantile(boots, [tail, 1.0 - tail]))
    else:
        low, high = _unpaired_interval(t, s, method, level, n_boot, rng)
    if min(len(t), len(s)) < MIN_QUIET_PAIRS:
        warnings.warn(
            f"{func} got {min(len(t), len(s))} runs in an arm; with fewer than {MIN_QUIET_PAIRS} seeds "
            "the interval is wide and its coverage cannot be checked. Run more seeds.", UserWarning, stacklevel=2)
    verdict: Literal["negative transfer", "positive transfer", "not significant"]
    if low > 0:
        verdict = "negative transfer"
    elif high < 0:
        verdict = "positive transfer"
    else:
        verdict = "not significant"
    return TransferGap(gap=gap, low=low, high=high, significant=verdict, paired=bool(paired), level=level,
                       method=method, n_transfer=len(t), n_scratch=len(s))
