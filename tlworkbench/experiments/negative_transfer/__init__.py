"""Notebook 04, negative transfer: when a pretrained source makes the target worse.

Small CNNs pretrained by the workbench on sources of different relatedness to one target (digits
rendered from fonts, Fashion-MNIST clothes, and the target's own images with shuffled labels) are
transferred at several label budgets and freezing depths, against the same network trained from
scratch on the same examples. The negative-transfer gap
``NTG = error(transfer) - error(scratch)`` (Wang et al., 2019) is estimated per source, budget and
depth with a paired bootstrap interval over seeds. LEEP, LogME, H-score and a pixel-level domain
distance, measured before any training on the target, are set against the harm each source did.

* :mod:`.grid`: the settings, the grid of runs and the gaps (:func:`transfer_grid`,
  :func:`gaps`, :func:`gap_table`);
* :mod:`.scores`: what is measured before training, and the sources ranked by harm
  (:func:`pre_training_scores`, :func:`source_ranking`);
* :mod:`.result`: :class:`NegativeTransferResult`, :func:`conclude` and
  :func:`run_negative_transfer`.

The plot of the gaps is :func:`tlworkbench.plots.plot_gap_panels` over the grid.
"""

from .grid import ARCH, BUDGETS, DEPTHS, SOURCES, TARGET, depth_label, gap_table, gaps, grid_settings, transfer_grid
from .result import NegativeTransferResult, conclude, run_negative_transfer
from .scores import RELATEDNESS, pre_training_scores, source_ranking

__all__ = [
    "ARCH",
    "TARGET",
    "SOURCES",
    "RELATEDNESS",
    "BUDGETS",
    "DEPTHS",
    "grid_settings",
    "depth_label",
    "transfer_grid",
    "gaps",
    "gap_table",
    "pre_training_scores",
    "source_ranking",
    "NegativeTransferResult",
    "conclude",
    "run_negative_transfer",
]
