"""Notebook 04, negative transfer: when a pretrained source makes the target worse, and than what.

Small CNNs pretrained by the workbench on sources of different relatedness to one target (digits
rendered from fonts, Fashion-MNIST clothes, or animal silhouettes where Fashion-MNIST is not
installed; the full profile adds more) are transferred at several label budgets and freezing
depths. Every arm, with a source or without one, chooses its learning rate (or a probe its penalty)
from the same grid on a validation split carved from its label budget. The negative-transfer gap
``NTG = error(with the source) - error(baseline)`` is measured against two baselines, with paired
t-intervals over seeds: the same arm without the source (the same layers frozen on random weights;
Wang et al., 2019) and the tuned scratch network. LEEP, LogME, H-score and a pixel-level domain
distance, measured before any training on the target, are set against the harm each source did.

* :mod:`.grid`: the settings, the sources that are installed (:func:`available_sources`) and the
  grid of runs (:func:`transfer_grid`, one cell per arm: :func:`run_arm`);
* :mod:`.gaps`: the two comparisons (:func:`gaps`, :func:`gap_table`);
* :mod:`.scores`: what is measured before training, the check that no source saw the target's
  images, and the sources ranked by harm (:func:`pre_training_scores`, :func:`source_overlap`,
  :func:`source_ranking`);
* :mod:`.result`: :class:`NegativeTransferResult`, :func:`conclude` and
  :func:`run_negative_transfer`.
"""

from .gaps import COMPARISONS, gap_table, gaps
from .grid import (ARCH, BATCH_SIZE, BUDGETS, DEPTHS, LR_GRIDS, MIN_EPOCHS, NO_SOURCE, SOURCES, STAND_INS, STEPS,
                   TARGET, available_sources, depth_label, grid_settings, run_arm, source_note, transfer_grid)
from .result import NegativeTransferResult, conclude, headline, run_negative_transfer
from .scores import RELATEDNESS, pre_training_scores, source_overlap, source_ranking

__all__ = [
    "ARCH",
    "TARGET",
    "NO_SOURCE",
    "SOURCES",
    "STAND_INS",
    "RELATEDNESS",
    "BUDGETS",
    "DEPTHS",
    "LR_GRIDS",
    "STEPS",
    "BATCH_SIZE",
    "MIN_EPOCHS",
    "COMPARISONS",
    "available_sources",
    "source_note",
    "grid_settings",
    "run_arm",
    "depth_label",
    "transfer_grid",
    "gaps",
    "gap_table",
    "pre_training_scores",
    "source_overlap",
    "source_ranking",
    "NegativeTransferResult",
    "conclude",
    "headline",
    "run_negative_transfer",
]
