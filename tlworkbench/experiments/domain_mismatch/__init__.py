"""Notebook 03, domain mismatch: the same digit task in another domain (transductive transfer).

A small CNN pretrained by the workbench on one source (digits rendered from fonts, or MNIST
handwriting) is tested on targets of growing shift: MNIST at another resolution (OpenCV's
``digits.png`` holds the same digits at 20 px), printed digits, 8x8 scans and MNIST under an
elastic distortion, blur, colour and inversion. The shift is measured on the source model's features
(MMD with a permutation test, the proxy A-distance) beside the accuracy drop, and three remedies
are compared: re-estimating BatchNorm statistics on the target (AdaBN), Deep CORAL, and
fine-tuning on a few target labels, against a model trained from scratch on the same labels.

* :mod:`.shift`: the source models, the domains, and the shift against the accuracy drop;
* :mod:`.remedy`: the remedies and the label-efficiency curve;
* :mod:`.result`: :class:`DomainMismatchResult`, :func:`conclude` and :func:`run_domain_mismatch`.
"""

from .remedy import BUDGETS, CORAL_WEIGHT, METHODS, REMEDY_PAIRS, label_efficiency, remedies, remedy_gains, remedy_table
from .result import DomainMismatchResult, conclude, run_domain_mismatch
from .shift import (
    ARCH,
    SOURCES,
    TARGETS,
    domain_embedding,
    domain_samples,
    shift_correlation,
    shift_table,
    shift_vs_drop,
    source_model,
)

__all__ = [
    "ARCH",
    "SOURCES",
    "TARGETS",
    "REMEDY_PAIRS",
    "BUDGETS",
    "CORAL_WEIGHT",
    "METHODS",
    "source_model",
    "domain_samples",
    "shift_vs_drop",
    "shift_correlation",
    "domain_embedding",
    "remedies",
    "remedy_gains",
    "label_efficiency",
    "shift_table",
    "remedy_table",
    "DomainMismatchResult",
    "conclude",
    "run_domain_mismatch",
]
