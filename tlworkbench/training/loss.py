"""The loss hook of :func:`~tlworkbench.training.fit`: how one training step turns a batch into a loss.

The default, :class:`TrainingLoss`, is the cross-entropy of the model's logits. A method that
needs more than the labelled batch (Deep CORAL reads a batch of unlabelled target images at each
step and compares feature statistics) subclasses it and overrides :meth:`TrainingLoss.__call__`;
``fit`` still owns everything around the step: the optimizer and schedule, mixed precision and
its gradient scaler, gradient clipping, the divergence checks, checkpoints and the history.

Example:
    >>> class Smoothed(TrainingLoss):
    ...     def __call__(self, model, x, y):
    ...         logits = model(x)
    ...         loss = F.cross_entropy(logits.float(), y, label_smoothing=0.1)
    ...         return StepOutput(loss, logits, {"entropy": -(logits.softmax(1) * logits.log_softmax(1)).sum(1).mean()})
    >>> fit(model, train, loss=Smoothed())   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["StepContext", "StepOutput", "TrainingLoss"]


@dataclass(frozen=True)
class StepContext:
    """What a training loss may need to know about the run, given once by :meth:`TrainingLoss.start`.

    Attributes:
        device: where the batches live.
        batch_size: examples per step of the training data.
        seed: the run's seed (shuffles of any extra data should derive from it).
        channels_last: whether image batches go to the model channels-last.
        label_smoothing: ``fit``'s ``label_smoothing``.
    """

    device: torch.device
    batch_size: int
    seed: int
    channels_last: bool
    label_smoothing: float


@dataclass
class StepOutput:
    """The result of one training step's forward pass.

    Attributes:
        loss: the scalar to minimise.
        logits: the logits of the labelled batch ``(n, C)``; the history's accuracy comes from them.
        metrics: further scalars of the step (detached or not), averaged over the epoch's
            examples into history columns of the same names.
    """

    loss: torch.Tensor
    logits: torch.Tensor
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)


class TrainingLoss:
    """The loss of one training step; the base class is the plain cross-entropy.

    ``fit`` calls :meth:`start` once before training, :meth:`steps_per_epoch` to size each epoch,
    :meth:`start_epoch` before each epoch, and the instance itself at each step, inside the
    run's mixed-precision context (a subclass that needs float32 arithmetic opens
    ``torch.autocast(device_type, enabled=False)`` around it). With the base class, a phase that
    trains the head alone runs on cached backbone features; with any subclass the whole model
    runs at every step, because the loss may read more than the head's input.
    """

    def start(self, context: StepContext) -> None:
        """Called once before the first epoch (and again when a run resumes)."""
        self.context = context

    def steps_per_epoch(self) -> int | None:
        """Steps in an epoch; ``None`` means one pass over the training data.

        A number makes the training batches cycle: an epoch then ends after that many steps
        and the next one continues where the training data stopped.
        """
        return None

    def start_epoch(self, epoch: int) -> None:
        """Called before each epoch (from 1), also the first one after a resume."""

    def __call__(self, model: nn.Module, x: Any, y: torch.Tensor) -> StepOutput:
        """The loss of a batch.

        Args:
            model: what maps ``x`` to logits (the head alone while it trains on cached features).
            x: the batch, already on the device.
            y: its labels.
        """
        logits = model(x)
        label_smoothing = getattr(getattr(self, "context", None), "label_smoothing", 0.0)
        return StepOutput(F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing), logits)
