"""Intervals over seeds: what negative_transfer_gap and gain_table report, and when they say so."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tlworkbench.diagnostics import gain_table, negative_transfer_gap, paired_difference
from tlworkbench.errors import DataError, InvalidParameterError

SCRATCH = np.array([0.20, 0.24, 0.22, 0.27, 0.21])
TRANSFER = SCRATCH + np.array([0.03, -0.01, 0.05, 0.02, 0.00])


def test_the_paired_gap_uses_the_t_interval_of_the_differences():
    gap = negative_transfer_gap(TRANSFER, SCRATCH)
    d = TRANSFER - SCRATCH
    low, high = stats.t.interval(0.95, df=4, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(5))
    assert (gap.method, gap.paired, gap.n_transfer) == ("t", True, 5)
    assert gap.gap == pytest.approx(d.mean())
    assert (gap.low, gap.high) == (pytest.approx(low), pytest.approx(high))
    assert gap.significant == "not significant"  # -0.01 and 0.00 among the seeds
    assert str(gap).startswith("NTG +0.018 [") and str(gap).endswith("95% t-interval, n = 5: not significant")
    same = paired_difference(TRANSFER, SCRATCH)
    assert (same.low, same.high) == (pytest.approx(gap.low), pytest.approx(gap.high))


def test_the_percentile_bootstrap_over_three_seeds_is_about_their_range_and_warns():
    transfer, scratch = TRANSFER[[0, 2, 3]], SCRATCH[[0, 2, 3]]  # +0.03, +0.05, +0.02
    d = transfer - scratch
    with pytest.warns(UserWarning, match="3 runs in an arm"):
        narrow = negative_transfer_gap(transfer, scratch, method="percentile")
    with pytest.warns(UserWarning):
        honest = negative_transfer_gap(transfer, scratch)
    assert d.min() - 1e-12 <= narrow.low and narrow.high <= d.max() + 1e-12
    assert narrow.significant == "negative transfer"  # three agreeing seeds: the range excludes 0
    assert honest.significant == "not significant" and honest.high - honest.low > 2 * (narrow.high - narrow.low)


def test_unpaired_runs_get_welchs_interval():
    transfer = np.array([0.10, 0.12, 0.11, 0.13, 0.12])
    scratch = np.array([0.30, 0.29, 0.31, 0.32, 0.30, 0.28])
    gap = negative_transfer_gap(transfer, scratch)
    welch = stats.ttest_ind(transfer, scratch, equal_var=False).confidence_interval(0.95)
    assert not gap.paired and (gap.n_transfer, gap.n_scratch) == (5, 6)
    assert (gap.low, gap.high) == (pytest.approx(welch.low), pytest.approx(welch.high))
    assert gap.significant == "positive transfer"
    assert "Welch t-interval, n = 5 and 6" in str(gap)
    bca = negative_transfer_gap(transfer, scratch, method="bca", n_boot=500)
    assert bca.high < 0 and bca.method == "bca"


def test_negative_transfer_gap_refuses_an_unknown_method():
    with pytest.raises(InvalidParameterError, match="'method' parameter of negative_transfer_gap"):
        negative_transfer_gap(TRANSFER, SCRATCH, method="range")


RUNS = pd.DataFrame({
    "budget": [10] * 10 + [50] * 10,
    "arm": (["probe"] * 5 + ["scratch"] * 5) * 2,
    "seed": list(range(5)) * 4,
    "accuracy": [.80, .82, .79, .85, .81, .70, .74, .69, .73, .71,
                 .90, .88, .91, .87, .89, .90, .89, .90, .88, .91],
})


def test_gain_table_pairs_each_budget_on_its_seeds():
    table = gain_table(RUNS, arm_column="arm", baseline="scratch", by="budget", interval="t")
    assert table["budget"].tolist() == [10, 50] and (table["n"] == 5).all()
    small, large = table.iloc[0], table.iloc[1]
    assert small["gain"] == pytest.approx(0.814 - 0.714) and small["wins"] == 5
    assert small["verdict"] == "arm better"
    expected = paired_difference(RUNS["accuracy"][:5].to_numpy(), RUNS["accuracy"][5:10].to_numpy())
    assert (small["low"], small["high"]) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert large["verdict"] == "inconclusive" and large["low"] < 0 < large["high"]


def test_gain_table_without_pairing_uses_welch_and_still_names_the_verdict():
    table = gain_table(RUNS, arm_column="arm", baseline="scratch", by="budget", pair_on=None, interval="t")
    assert "wins" not in table.columns
    assert table["verdict"].tolist() == ["arm better", "inconclusive"]


def test_gain_table_says_what_is_missing():
    with pytest.raises(DataError, match="no 'scratch' run"):
        gain_table(RUNS.drop(index=7), arm_column="arm", baseline="scratch", by="budget")
    with pytest.raises(DataError, match="'acc'"):
        gain_table(RUNS, arm_column="arm", baseline="scratch", value="acc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gain_table(RUNS, arm_column="arm", baseline="scratch", by="budget", interval="t")  # n = 5: no warning


def test_paired_difference_names_the_arms_in_its_verdict():
    d = paired_difference(TRANSFER + 0.1, SCRATCH, names=("with source", "scratch"), unit="points")
    assert d.verdict == "a better" and str(d).endswith("n = 5: with source better")
    with pytest.raises(InvalidParameterError, match="'names' parameter of paired_difference"):
        paired_difference(TRANSFER, SCRATCH, names=("one",))
