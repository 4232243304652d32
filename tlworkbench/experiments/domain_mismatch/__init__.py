"""Notebook 03, domain mismatch: the same digit task in another domain (transductive transfer).

A small CNN pretrained by the workbench on one source (digits rendered from fonts, or MNIST
handwriting) is tested on targets of growing shift: OpenCV's 20 px handwritten digits, printed
digits, 8x8 scans and MNIST under an elastic distortion, blur, colour and inversion. The shift is
measured on the source model's features (MMD with a permutation test, the proxy A-distance)
beside the accuracy drop, and the remedies are compared with the source model left as it is, over
seeds, paired on seed: re-estimating BatchNorm statistics on the target (AdaBN), Deep CORAL, and
fine-tuning on a few target labels, against a model trained from scratch on the same labels with
its learning rate chosen from the same grid on the same validation split.

* :mod:`.shift`: the source models, the domains, the shift against the accuracy drop, and the
  check that no source trained on a target's test images;
* :mod:`.remedy`: the unsupervised remedies and the gains over the source model;
* :mod:`.labels`: fine-tuning against scratch, each arm tuned on validation, and the saturation check;
* :mod:`.result`: :class:`DomainMismatchResult`, the named comparisons, :func:`conclude` and
  :func:`run_domain_mismatch`.
"""

from .labels import BUDGETS, FEW_LABEL_STEPS, FIXED_LR, STRATEGIES, VAL_FRACTION, label_runs, rerun, saturation_runs
from .remedy import (
    CORAL_WEIGHT,
    METHODS,
    PER_CLASS,
    REMEDY_PAIRS,
    UNSUPERVISED,
    remedy_frame,
    remedy_gains,
    unsupervised_remedies,
)
from .result import DomainMismatchResult, comparison_table, conclude, run_domain_mismatch
from .shift import (
    ARCH,
    SOURCES,
    TARGETS,
    domain_embedding,
    missing_targets,
    domain_samples,
    shift_correlation,
    shift_table,
    shift_vs_drop,
    source_model,
    source_overlap,
    targets_for,
)
from ..feature_extraction.arms import missing_line

__all__ = [
    "ARCH",
    "SOURCES",
    "TARGETS",
    "targets_for",
    "missing_targets",
    "missing_line",
    "REMEDY_PAIRS",
    "BUDGETS",
    "PER_CLASS",
    "FEW_LABEL_STEPS",
    "VAL_FRACTION",
    "FIXED_LR",
    "STRATEGIES",
    "CORAL_WEIGHT",
    "UNSUPERVISED",
    "METHODS",
    "source_model",
    "domain_samples",
    "shift_vs_drop",
    "shift_correlation",
    "source_overlap",
    "domain_embedding",
    "shift_table",
    "unsupervised_remedies",
    "label_runs",
    "saturation_runs",
    "rerun",
    "remedy_frame",
    "remedy_gains",
    "comparison_table",
    "DomainMismatchResult",
    "conclude",
    "run_domain_mismatch",
]
