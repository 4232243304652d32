"""Notebook 04's gaps: each transfer arm against two baselines, paired seed by seed.

``NTG = error(arm with the source) - error(baseline)``, positive when the source made things
worse. Two baselines answer two questions:

* ``"no-source twin"``: the same arm without the source, the same layers frozen on a random
  initialisation (Wang et al., 2019, "the same algorithm without source data"). This measures
  what the source itself did.
* ``"scratch"``: the tuned network trained from scratch, every layer trained. This measures
  whether the transfer arm was worth choosing over the best model without a source; for a frozen
  arm it also contains the cost of freezing, which the no-source arms against scratch show alone.

At depth 0 (fine-tune all) the twin is the scratch network, so both rows agree there. Intervals
are paired t-intervals over seeds (:func:`~tlworkbench.diagnostics.gain_table`,
``interval="t"``); a gap whose interval covers 0 is ``"inconclusive"``.
"""

from __future__ import annotations

import pandas as pd

from ...diagnostics import gain_table
from .grid import NO_SOURCE

__all__ = ["COMPARISONS", "gaps", "gap_table"]

#: The two baselines, in the order the tables show them.
COMPARISONS = ("no-source twin", "scratch")
_VERDICTS = {"baseline better": "negative transfer", "arm better": "positive transfer",
             "inconclusive": "inconclusive"}
_TAGS = {"negative transfer": "negative", "positive transfer": "positive", "inconclusive": "inconclusive"}


def gaps(runs: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """The negative-transfer gap of every arm, against its no-source twin and against scratch.

    Args:
        runs: the ``runs`` frame of :func:`~.grid.transfer_grid`.
        level: confidence level of the t-intervals.

    Returns:
        One row per comparison, budget, source and depth: ``comparison`` (one of
        :data:`COMPARISONS`), ``source`` (:data:`~.grid.NO_SOURCE` rows: the random-layer arms
        against scratch, the cost of freezing alone), ``per_class``, ``depth``, ``frozen``,
        ``error`` and ``baseline_error`` (means over seeds), ``ntg`` (their paired difference),
        ``low``, ``high`` (the t-interval), ``n`` (pairs) and ``verdict`` (``"negative
        transfer"``, ``"positive transfer"`` or ``"inconclusive"``).

    Raises:
        DataError: an arm without its baseline run for some budget and seed.
    """
    common = {"value": "error", "higher_is_better": False, "interval": "t", "level": level}
    twin = gain_table(runs, arm_column="source", baseline=NO_SOURCE, by=("per_class", "depth"), split="frozen",
                      **common).assign(comparison=COMPARISONS[0])
    scratch = gain_table(runs, arm_column="arm", baseline="scratch", by="per_class", split=("depth", "frozen"),
                         **common).rename(columns={"arm": "source"}).assign(comparison=COMPARISONS[1])
    frame = pd.concat([twin, scratch], ignore_index=True)
    out = pd.DataFrame({"comparison": frame["comparison"], "source": frame["source"],
                        "per_class": frame["per_class"], "depth": frame["depth"], "frozen": frame["frozen"],
                        "error": frame["mean"], "baseline_error": frame["baseline_mean"], "ntg": frame["gain"],
                        "low": frame["low"], "high": frame["high"], "n": frame["n"],
                        "verdict": frame["verdict"].map(_VERDICTS)})
    order = {s: i for i, s in enumerate(pd.unique(runs["source"]))}
    return out.sort_values(["comparison", "source", "depth", "per_class"],
                           key=lambda col: col.map(order) if col.name == "source" else
                           col.map(COMPARISONS.index) if col.name == "comparison" else col,
                           kind="stable").reset_index(drop=True)


def gap_cell(row: pd.Series) -> str:
    """``"+12.3 [+9.8, +14.8] n=5 negative"``: NTG in points of error, its interval, n and verdict."""
    return (f"{100 * row['ntg']:+.1f} [{100 * row['low']:+.1f}, {100 * row['high']:+.1f}] "
            f"n={row['n']} {_TAGS[row['verdict']]}")


def gap_table(gap_frame: pd.DataFrame) -> pd.DataFrame:
    """NTG as text, one row per source and depth, one column per comparison and budget.

    Returns:
        Cells like ``"+12.3 [+9.8, +14.8] n=5 negative"``: NTG in points of error (positive:
        the source hurt), the 95% paired t-interval, the number of seeds and the verdict. A
        no-source arm has no twin (its cell against the twin is empty).
    """
    frame = gap_frame.assign(cell=gap_frame.apply(gap_cell, axis=1),
                             column=[f"vs {c} at {b}/class" for c, b in zip(gap_frame["comparison"],
                                                                            gap_frame["per_class"])])
    columns = list(pd.unique(frame.sort_values(["comparison", "per_class"], key=lambda col: col.map(
        COMPARISONS.index) if col.name == "comparison" else col)["column"]))
    table = frame.pivot_table(index=["source", "depth", "frozen"], columns="column", values="cell", aggfunc="first",
                              sort=False)
    table = table.reindex(columns=columns).fillna("").reset_index()
    order = {s: i for i, s in enumerate(pd.unique(gap_frame["source"]))}
    table = table.sort_values(["source", "depth"], key=lambda col: col.map(order) if col.name == "source" else col)
    table.columns.name = None
    return table.reset_index(drop=True)
