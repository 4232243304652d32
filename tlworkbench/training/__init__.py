"""Training with a transfer-learning strategy: :func:`fit` and its :class:`History`.

* :mod:`.strategies`: the strategies as plans of phases, and :func:`reinitialize`;
* :mod:`.optim`: optimizers over trainable parameters with per-group learning rates, and the
  schedules;
* :mod:`.loss`: the loss hook, :class:`TrainingLoss`;
* :mod:`.probe`: the linear probe, :func:`fit_probe` and :func:`probe_accuracy`;
* :mod:`.budget`: epochs for a number of optimiser steps, :func:`epochs_for_steps`;
* :mod:`.loop` and :mod:`.run`: :func:`fit` and the state of a run;
* :mod:`.batchnorm`: each epoch's BatchNorm statistics;
* :mod:`.lr_find`: the learning-rate range test, :func:`lr_find`;
* :mod:`.checkpoint`: checkpoints and resuming;
* :mod:`.tuning`: choices made on validation data, :func:`choose_on_validation`;
* :mod:`.history`: :class:`History`.
"""

from .budget import epochs_for_steps
from .history import History
from .loop import fit
from .lr_find import LRFindResult, lr_find
from .loss import StepContext, StepOutput, TrainingLoss
from .optim import OPTIMIZERS, SCHEDULES
from .probe import fit_probe, probe_accuracy
from .strategies import STRATEGIES, reinitialize
from .tuning import LR_GRID, WEIGHT_DECAY_GRID, GridChoice, choose_on_validation

__all__ = ["History", "fit", "reinitialize", "STRATEGIES", "SCHEDULES", "OPTIMIZERS", "TrainingLoss",
           "StepContext", "StepOutput", "epochs_for_steps", "fit_probe", "probe_accuracy", "lr_find",
           "LRFindResult", "LR_GRID", "WEIGHT_DECAY_GRID", "GridChoice", "choose_on_validation"]
