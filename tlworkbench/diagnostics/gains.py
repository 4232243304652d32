"""The gain table: every arm of a comparison against its baseline, paired run by run.

"Gain over baseline" is one idea wherever it appears (a probe against scratch, a remedy against
the untouched source model, transfer against scratch as the negative-transfer gap), so it is
computed here once: runs are paired on their seed, the mean gain and n are reported, and the
interval and verdict come from :mod:`tlworkbench.diagnostics.statistics` and :mod:`.transfer_gap`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validate import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_names,
    check_optional,
    check_type,
)
from ..errors import DataError, InvalidParameterError
from .statistics import paired_difference
from .transfer_gap import negative_transfer_gap

__all__ = ["gain_table"]


def _columns(names: str | Sequence[str] | None) -> tuple[str, ...]:
    return () if names is None else (names,) if isinstance(names, str) else tuple(names)


def _groups(frame: pd.DataFrame, columns: tuple[str, ...]) -> Any:
    """``(key tuple, rows)`` per group of ``columns`` in order of appearance; the whole frame for none."""
    return frame.groupby(list(columns), sort=False) if columns else [((), frame)]


def _gain_interval(a: np.ndarray, b: np.ndarray, *, method: str, paired: bool, higher_is_better: bool,
                   level: float, n_boot: int | None, seed: int) -> dict[str, Any]:
    if not len(b):
        return {"low": math.nan, "high": math.nan, "verdict": None}
    boot = {} if n_boot is None else {"n_boot": n_boot}
    if method == "percentile" or not paired:  # unpaired: Welch's t or a two-sample bootstrap
        gap = negative_transfer_gap(a, b, method=method, seed=seed, level=level, paired=paired, **boot)
        low, high = gap.low, gap.high
    else:
        boot = {} if n_boot is None else {"n_resamples": n_boot}
        diff = paired_difference(a, b, level=level, method=method, seed=seed, **boot)
        low, high = diff.low, diff.high
    verdict = ("inconclusive" if low <= 0 <= high
               else "arm better" if (low > 0) == higher_is_better else "baseline better")
    return {"low": low, "high": high, "verdict": verdict}


def gain_table(
    frame: pd.DataFrame,
    *,
    arm_column: str,
    baseline: Any,
    arms: Any = None,
    by: str | Sequence[str] = (),
    split: str | Sequence[str] = (),
    value: str = "accuracy",
    pair_on: str | Sequence[str] | None = "seed",
    interval: Literal["percentile", "t", "bca"] | None = None,
    higher_is_better: bool = True,
    level: float = 0.95,
    n_boot: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Gain of each arm over a baseline, per group, from runs paired on the same seed.

    Each row of ``frame`` is a run and ``frame[arm_column]`` names its arm. Within each group of
    the ``by`` columns (a target, a label budget), every run of an arm is paired with the
    ``baseline`` run that has the same ``pair_on`` values (the seed, which draws the same
    labelled examples for every arm), and the gain is ``mean(arm) - mean(baseline)`` over the
    pairs. ``split`` columns tell runs of one arm apart (a freezing depth) without taking part in
    the pairing. With ``pair_on=None`` nothing is paired: the gain is the arm's mean minus the
    mean of the group's baseline runs, as for a baseline run once against arms run over seeds.

    Intervals come from :mod:`~tlworkbench.diagnostics.statistics` at ``level``: paired,
    ``"t"`` and ``"bca"`` are those of :func:`paired_difference`; unpaired (``pair_on=None``),
    Welch's t-interval and the two-sample BCa bootstrap of :func:`negative_transfer_gap`.
    ``"percentile"`` is the plain percentile bootstrap, about the range of the differences over a
    handful of seeds: prefer ``"t"``. An interval that covers 0 is ``"inconclusive"``.

    Args:
        frame: one row per run.
        arm_column: the column naming each run's arm (strategy, method, source model).
        baseline: the arm the others are compared with.
        arms: the arm or arms to compare, in the table's order; ``None``: every arm but the
            baseline, in order of appearance. Naming the baseline gives it a row of gain 0.
        by: columns whose groups are compared separately.
        split: columns that tell runs of one arm apart but not the baseline's.
        value: the column compared; for an error, pass ``higher_is_better=False``.
        pair_on: the column(s) pairing a run with its baseline run; ``None`` compares means.
        interval: ``None``, ``"percentile"``, ``"t"`` or ``"bca"``.
        higher_is_better: whether a larger ``value`` is better (names the verdict, counts wins).
        level: confidence level of the interval.
        n_boot: bootstrap resamples (default: the helper's own).
        seed: seed of the bootstrap.

    Returns:
        One row per group, arm and split, groups in order of appearance: the ``by`` columns,
        ``arm_column``, the ``split`` columns, ``n`` (runs of the arm), ``mean`` and ``sd`` of
        their ``value`` (``sd`` NaN for one run), ``baseline_mean`` (over their baseline runs),
        ``gain`` (NaN for a group without a baseline run when nothing is paired); when paired,
        ``wins`` (pairs in which the arm did better); with an interval, ``low``, ``high`` and
        ``verdict`` (``"arm better"``, ``"baseline better"`` or ``"inconclusive"``).

    Raises:
        InvalidParameterError: ``frame`` is not a DataFrame; a bad ``interval``, ``level``,
            ``n_boot`` or ``seed``.
        UnknownNameError: an arm that is not in ``frame[arm_column]``.
        DataError: a missing column; a run without a baseline run to pair with; two baseline
            runs with the same ``by`` and ``pair_on`` values.

    Example:
        >>> runs = pd.DataFrame({"strategy": ["probe", "probe", "scratch", "scratch"],
        ...                      "seed": [0, 1, 0, 1], "accuracy": [0.8, 0.9, 0.7, 0.7]})
        >>> gain_table(runs, arm_column="strategy", baseline="scratch")[["n", "gain", "wins"]].round(3)
           n  gain  wins
        0  2  0.15     2
    """
    func = "gain_table"
    check_type(frame, "frame", func, pd.DataFrame, "a pandas DataFrame with one row per run")
    by, split, pairs = _columns(by), _columns(split), _columns(pair_on)
    named = [("value", value), ("arm_column", arm_column), *(("by", c) for c in by),
             *(("split", c) for c in split), *(("pair_on", c) for c in pairs)]
    for param, column in named:
        check_choice(column, param, func, list(frame.columns), error=DataError, what="a column of 'frame':")
    interval = check_optional(interval, check_choice, "interval", func, ("percentile", "t", "bca"),
                              error=InvalidParameterError)
    higher_is_better = check_bool(higher_is_better, "higher_is_better", func)
    level = check_fraction(level, "level", func)
    n_boot = check_optional(n_boot, check_int, "n_boot", func, minimum=100)
    seed = check_int(seed, "seed", func, minimum=0)
    present = list(pd.unique(frame[arm_column]))
    arms = [a for a in present if a != baseline] if arms is None else check_names(arms, "arms", func, present)
    rows = []
    for key, group in _groups(frame, by):
        base = group[group[arm_column] == baseline]
        partner = dict(zip(base[list(pairs)].itertuples(index=False, name=None), base[value]))
        if pairs and len(partner) < len(base):
            raise DataError(f"{func} found two {baseline!r} runs with the same {[*by, *pairs]} in the "
                            f"'frame' parameter; keep one run of the baseline per {list(pairs)}.")
        for arm in arms:
            for sub, part in _groups(group[group[arm_column] == arm], split):
                if pairs:
                    part = part.sort_values(list(pairs), kind="stable")
                    keys = list(part[list(pairs)].itertuples(index=False, name=None))
                    missing = [(*key, *k) for k in keys if k not in partner]
                    if missing:
                        raise DataError(f"{func} found no {baseline!r} run for {[*by, *pairs]} {missing} to "
                                        f"pair with the {arm!r} runs. Run every arm and the baseline on the "
                                        f"same {[*by, *pairs]}.")
                    b = np.array([partner[k] for k in keys], dtype=np.float64)
                else:
                    b = base[value].to_numpy(dtype=np.float64)
                a = part[value].to_numpy(dtype=np.float64)
                if not len(a):
                    continue
                mean = float(a.mean())
                row = {**dict(zip(by, key)), arm_column: arm, **dict(zip(split, sub)), "n": len(a), "mean": mean,
                       "sd": float(a.std(ddof=1)) if len(a) > 1 else math.nan,
                       "baseline_mean": float(b.mean()) if len(b) else math.nan}
                row["gain"] = mean - row["baseline_mean"]
                if pairs:
                    row["wins"] = int(np.sum(a > b if higher_is_better else a < b))
                if interval is not None:
                    row.update(_gain_interval(a, b, method=interval, paired=bool(pairs), level=level, n_boot=n_boot,
                                              higher_is_better=higher_is_better, seed=seed))
                rows.append(row)
    columns = [*by, arm_column, *split, "n", "mean", "sd", "baseline_mean", "gain", *(["wins"] if pairs else []),
               *(["low", "high", "verdict"] if interval is not None else [])]
    return pd.DataFrame(rows, columns=columns)
