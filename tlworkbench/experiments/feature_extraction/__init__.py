"""Notebook 01, feature extraction: a frozen ImageNet backbone as a feature extractor.

A linear probe on EfficientNet-Lite0's ImageNet features against a small CNN trained from
scratch, over label budgets and seeds, on targets near and far from ImageNet; which depth of the
backbone transfers best; what the input size costs the probe; what the features do to an
embedding; and what caching saves. Both arms choose their hyper-parameter on a validation split
of their label budget, and every comparison is paired on the seed with a t-interval.

* :mod:`.arms`: the budgets, the data, the probe and the small CNN, each tuned on validation;
* :mod:`.efficiency`: the comparison over budgets and seeds, :func:`data_efficiency`, and its
  paired gains, :func:`efficiency_gains`;
* :mod:`.cells`: the comparison's runs as cells of a grid, on any executor (:func:`efficiency_grid`);
* :mod:`.depth`: the probe at every depth, :func:`layer_probe`;
* :mod:`.extras`: :func:`target_distance`, :func:`resolution_probe`, :func:`embeddings`,
  :func:`probe_timing`;
* :mod:`.result`: :class:`FeatureExtractionResult`, :func:`conclude`, :func:`run_feature_extraction`.
"""

from .arms import (BACKBONE, N_TEST, PER_CLASS, QUICK_LR_GRID, QUICK_PER_CLASS, QUICK_TARGETS, SCRATCH_BATCH,
                   SCRATCH_IMAGE_SIZE, SCRATCH_MIN_EPOCHS, SCRATCH_MODEL, TARGETS, VAL_FRACTION, budget_indices,
                   budgets_for, feature_cache, fixed_probe, lr_grid_for, missing_line, missing_sets, missing_targets,
                   scratch_epochs, scratch_steps, target_data, targets_for, train_scratch, tune_probe, tune_scratch)
from .depth import depth_features, layer_probe
from .cells import arm_cell, efficiency_grid
from .efficiency import (FALLBACK, PROBE, SCRATCH, data_efficiency, efficiency_gains, efficiency_runs,
                         extra_backbones, pool_size, probe_runs, verdicts)
from .extras import (RESOLUTION, embeddings, probe_timing, resolution_cell, resolution_for, resolution_probe,
                     target_distance)
from .result import FeatureExtractionResult, conclude, resolution_gain, run_feature_extraction

__all__ = [
    "BACKBONE", "TARGETS", "QUICK_TARGETS", "PER_CLASS", "QUICK_PER_CLASS", "QUICK_LR_GRID", "VAL_FRACTION",
    "N_TEST", "SCRATCH_MODEL", "SCRATCH_BATCH", "SCRATCH_IMAGE_SIZE", "SCRATCH_MIN_EPOCHS", "targets_for",
    "missing_sets", "missing_line", "missing_targets",
    "budgets_for", "lr_grid_for", "feature_cache", "scratch_steps", "scratch_epochs", "target_data",
    "budget_indices", "fixed_probe", "tune_probe", "train_scratch", "tune_scratch",
    "PROBE", "SCRATCH", "FALLBACK", "pool_size", "extra_backbones", "probe_runs", "data_efficiency",
    "efficiency_runs", "arm_cell", "efficiency_grid",
    "efficiency_gains", "verdicts", "depth_features", "layer_probe", "RESOLUTION", "resolution_for", "resolution_cell",
    "target_distance", "resolution_probe", "embeddings", "probe_timing", "FeatureExtractionResult",
    "resolution_gain", "conclude", "run_feature_extraction",
]
