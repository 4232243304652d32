"""Domain-shift measures, transferability scores and statistics over repeated runs.

Everything here works on plain arrays: features as ``(n, d)`` float arrays, labels as 1-D integer
arrays, a source model's predicted probabilities as ``(n, C_source)`` arrays, and one result per
seed for the statistics.

* :mod:`~tlworkbench.diagnostics.shift`: how far a target domain is from the source
  (:func:`proxy_a_distance`, :func:`coral_distance`, :func:`ot_distance`, :func:`shift_report`);
  :mod:`~tlworkbench.diagnostics.mmd`: the maximum mean discrepancy (:func:`mmd2`) and its
  permutation test (:func:`mmd_test`).
* :mod:`~tlworkbench.diagnostics.transferability`: how well a pretrained model suits a labelled
  target task before fine-tuning (:func:`logme`, :func:`leep`, :func:`nce`, :func:`h_score`).
* :mod:`~tlworkbench.diagnostics.statistics`: paired intervals over seeds
  (:func:`paired_difference`) and how well scores rank models by accuracy
  (:func:`score_correlation`); :mod:`~tlworkbench.diagnostics.transfer_gap`: the negative-transfer
  gap (:func:`negative_transfer_gap`).
* :mod:`~tlworkbench.diagnostics.gains`: every arm's gain over a baseline, paired by seed, with
  n and an interval (:func:`gain_table`).
"""

from __future__ import annotations

from .gains import gain_table
from .mmd import MMDTestResult, mmd2, mmd_test
from .shift import coral_distance, ot_distance, proxy_a_distance, shift_report
from .statistics import PairedDifference, paired_difference, score_correlation
from .transfer_gap import TransferGap, negative_transfer_gap
from .transferability import h_score, leep, logme, nce

__all__ = [
    "MMDTestResult",
    "PairedDifference",
    "TransferGap",
    "mmd2",
    "mmd_test",
    "proxy_a_distance",
    "coral_distance",
    "ot_distance",
    "shift_report",
    "logme",
    "leep",
    "nce",
    "h_score",
    "negative_transfer_gap",
    "gain_table",
    "paired_difference",
    "score_correlation",
]
