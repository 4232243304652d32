"""Optimizers over trainable parameters only, one group per layer group, and learning-rate schedules.

Each layer group of a :class:`~tlworkbench.zoo.TransferModel` becomes one parameter group with
learning rate ``lr * multiplier`` (Lightning's rule: the optimizer only ever sees parameters that
train). The schedules are PyTorch's own: ``"onecycle"`` is :class:`~torch.optim.lr_scheduler.OneCycleLR`
(cosine up from ``lr / 25`` over the warm-up, cosine down to ``lr / 10**4``, momentum left alone)
and ``"cosine"`` a linear warm-up (:class:`~torch.optim.lr_scheduler.LinearLR`) followed by
:class:`~torch.optim.lr_scheduler.CosineAnnealingLR` down to zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

from ..freezing import group_of_parameters
from ..zoo import TransferModel

__all__ = ["OPTIMIZERS", "SCHEDULES", "DEFAULT_LR", "param_groups", "make_optimizer", "frozen_in",
           "make_scheduler"]

#: Optimizers by name (a callable ``factory(param_groups)`` is accepted too).
OPTIMIZERS = ("adamw", "adam", "sgd", "lbfgs")
#: Learning-rate schedules by name; ``None`` keeps the learning rate constant.
SCHEDULES = ("onecycle", "cosine", None)
#: The learning rate each optimizer starts from when none is given. Adam(W)'s 2e-3 is fastai's
#: ``fine_tune`` default and was measured: EfficientNet-Lite0 (64 px), 1,000 ``animal_mnist``
#: images, ``two_stage`` 1 + 3 epochs, batch 64, one-cycle: test accuracy .834 at 5e-4, .875 at
#: 1e-3, .929 at 2e-3, .941 at 3e-3 and .922 at 5e-3 (one seed; 1,000 test images).
DEFAULT_LR = {"adamw": 2e-3, "adam": 2e-3, "sgd": 1e-2, "lbfgs": 1.0}

# OneCycleLR's start and end as fractions of the peak: lr / 25 up, lr / 10**4 at the end.
_ONECYCLE_DIV = 25.0
_ONECYCLE_FINAL = 1e-4


def param_groups(model: TransferModel, names: frozenset[str], lr: float,
                 mults: dict[str, float]) -> list[dict[str, Any]]:
    """One parameter group per layer group holding parameters in ``names``.

    Each group carries ``name``, ``lr_mult`` and ``lr = lr * lr_mult``; parameters outside every
    layer group form the group ``"other"``.
    """
    group_of = group_of_parameters(model)
    groups: dict[str, list[nn.Parameter]] = {}
    for n, p in model.named_parameters():
        if n in names:
            groups.setdefault(group_of.get(id(p), "other"), []).append(p)
    return [{"params": ps, "lr": lr * mults.get(g, 1.0), "name": g, "lr_mult": mults.get(g, 1.0)}
            for g, ps in groups.items()]


def make_optimizer(optimizer: str | Callable[..., torch.optim.Optimizer], groups: list[dict[str, Any]], *,
                   lr: float, weight_decay: float | None) -> torch.optim.Optimizer:
    """Build the optimizer over ``groups``.

    ``"adamw"`` (weight decay 0.01 unless given), ``"adam"``, ``"sgd"`` (momentum 0.9) or
    ``"lbfgs"`` (one group, up to 20 iterations with a strong-Wolfe line search per step); a
    callable receives the groups.
    """
    if callable(optimizer):
        return optimizer(groups)
    if optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr, weight_decay=0.01 if weight_decay is None else weight_decay)
    if optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay or 0.0)
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=weight_decay or 0.0)
    params = [p for g in groups for p in g["params"]]
    return torch.optim.LBFGS([{"params": params, "lr": lr, "name": groups[0]["name"], "lr_mult": 1.0}], lr=lr,
                             max_iter=20, history_size=10, line_search_fn="strong_wolfe")


def frozen_in(optimizer: torch.optim.Optimizer, model: nn.Module) -> list[str]:
    """Names of parameters that ``optimizer`` holds although they do not require a gradient."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [names.get(id(p), "?") for g in optimizer.param_groups for p in g["params"] if not p.requires_grad]


def make_scheduler(schedule: str | None, optimizer: torch.optim.Optimizer, peaks: Sequence[float], *,
                   total: int, warmup: float) -> lr_scheduler.LRScheduler | None:
    """The schedule of one phase of ``total`` steps; each group's learning rate peaks at ``peaks[i]``.

    Call ``step()`` after each optimizer step. The learning rate of step ``s`` (from 0) is the
    peak times:

    * ``"onecycle"``: ``1/25 + (1 - 1/25) (1 - cos(pi s / W)) / 2`` while ``s < W = warmup * total``,
      then ``1e-4 + (1 - 1e-4) (1 + cos(pi (s - W) / (total - W))) / 2``. OneCycleLR peaks at step
      ``pct_start * total_steps - 1`` and reaches its floor at the last step; asking it for
      ``total + 1`` steps with ``pct_start = (W + 1) / (total + 1)`` puts the peak at ``W`` and
      leaves the floor one step after the last, as this formula has it.
    * ``"cosine"``: ``(s + 1) / n`` for the first ``n = ceil(warmup * total)`` steps, then
      ``(1 + cos(pi (s - n) / (total - n))) / 2``.

    Args:
        schedule: ``"onecycle"``, ``"cosine"`` or ``None`` (no scheduler: the peaks stay).
        optimizer: the optimizer; every group's ``lr`` is set to its peak first.
        peaks: the peak learning rate of each parameter group.
        total: steps in the phase.
        warmup: fraction of the steps spent warming up (``> 0`` for ``"onecycle"``).
    """
    for g, peak in zip(optimizer.param_groups, peaks):
        g["lr"] = peak
    if schedule is None:
        return None
    total = max(1, int(total))
    if schedule == "onecycle":
        warm = warmup * total
        return lr_scheduler.OneCycleLR(
            optimizer, max_lr=list(peaks), total_steps=total + 1, pct_start=(warm + 1) / (total + 1),
            anneal_strategy="cos", cycle_momentum=False, div_factor=_ONECYCLE_DIV,
            final_div_factor=1 / (_ONECYCLE_DIV * _ONECYCLE_FINAL))
    # a product like 0.1 * 70 lands a hair above the whole number it means
    n = math.ceil(warmup * total - 1e-9)
    decay = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - n))
    if n == 0:
        return decay
    rise = lr_scheduler.LinearLR(optimizer, start_factor=1 / n, end_factor=1.0, total_iters=n - 1)
    return lr_scheduler.SequentialLR(optimizer, [rise, decay], milestones=[n])
