"""The learning-rate range test: :func:`lr_find` and its :class:`LRFindResult`.

Smith, "Cyclical Learning Rates for Training Neural Networks" (WACV 2017), section 3.3: train for
a few dozen steps while the learning rate grows exponentially from tiny to huge and record the
loss; the loss falls once the rate is large enough to learn and climbs once it is too large. A
good rate lies where the loss falls fastest, well before its minimum. The model is trained for
real during the test, so its weights, BatchNorm statistics and modes are put back afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_choice, check_float, check_int, check_optional, check_type
from ..config import Profile, get_device, get_profile, resolve_progress
from ..errors import TrainingDivergedError
from ..features import prepare_data, to_model_input
from ..zoo import TransferModel
from .optim import make_optimizer, param_groups
from .strategies import plan, set_trainable

__all__ = ["LRFindResult", "lr_find", "suggest_lr"]


def suggest_lr(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate of steepest descent of the smoothed loss against ``log10(lr)``, before its minimum.

    Where the minimum comes within the first three rates there is no descent to speak of, and
    the rule falls back to a tenth of the rate at the minimum.
    """
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    low = int(np.argmin(losses))
    if low < 2:
        return float(lrs[low] / 10)
    slope = np.gradient(losses[:low + 1], np.log10(lrs[:low + 1]))
    return float(lrs[int(np.argmin(slope))])


@dataclass
class LRFindResult:
    """What :func:`lr_find` measured.

    Attributes:
        lrs: the learning rate of each step.
        losses: the training loss after each step, smoothed (exponential moving average,
            bias-corrected).
        raw_losses: the loss of each step's batch.
        suggestion: the rate of steepest descent of ``losses`` (see :func:`suggest_lr`).
        lr_min: a tenth of the rate at the minimum of ``losses`` (a safer, smaller choice).
        diverged: the test stopped early because the loss exploded.
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float
    lr_min: float
    diverged: bool

    def plot(self, ax: Any = None) -> Any:
        """The loss against the learning rate, with the suggestion marked; returns the Axes."""
        from ..plots import plot_lr_find  # matplotlib is only needed when a plot is asked for

        return plot_lr_find(self.lrs, self.losses, suggestion=self.suggestion, ax=ax)

    def __repr__(self) -> str:
        return (f"LRFindResult(suggestion={self.suggestion:.3g}, lr_min={self.lr_min:.3g}, steps={len(self.lrs)}"
                f"{', diverged' if self.diverged else ''})")


def lr_find(model: TransferModel, train: Any, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 100, batch_size: int | None = None, optimizer: str = "adamw",
            weight_decay: float | None = None, from_group: int | str | None = None, smooth: float = 0.98,
            diverge: float = 4.0, seed: int = 0, device: str | torch.device | None = None,
            progress: bool | None = None, profile: str | Profile | None = None) -> LRFindResult:
    """Run the learning-rate range test (Smith 2017) and put the model back as it was.

    The rate grows exponentially from ``start_lr`` to ``end_lr`` over ``num_steps`` mini-batch
    steps of the cross-entropy on ``train``, with the parameters that are trainable now (or every
    group from ``from_group`` up), each group at ``lr * multiplier`` as in
    :func:`~tlworkbench.training.fit`. The test stops early when the smoothed loss exceeds
    ``diverge`` times its minimum. The suggestion is the rate where the smoothed loss falls
    fastest (steepest descent in ``log10(lr)``, before its minimum); ``lr_min``, a tenth of the
    rate at the minimum, is the more cautious classic.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel`; its weights, BatchNorm statistics,
            ``requires_grad`` flags and mode are the same afterwards.
        train: the training data set (read through the model's transforms when it has none).
        start_lr: the first learning rate.
        end_lr: the last learning rate (greater than ``start_lr``).
        num_steps: optimiser steps (the data are cycled through when they run out).
        batch_size: examples per step (default: the profile's).
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"``.
        weight_decay: as in :func:`~tlworkbench.training.fit`.
        from_group: train this group and every group above it (``None``: what is trainable now).
        smooth: the factor of the moving average of the loss, in ``[0, 1)``.
        diverge: stop once the smoothed loss is this many times its minimum.
        seed: seeds the order of the batches and dropout.
        device: where to run (default: :func:`~tlworkbench.config.get_device`).
        progress: a progress bar (``None``: in Jupyter only).
        profile: run profile for the default batch size.

    Returns:
        An :class:`LRFindResult`; ``result.plot()`` draws the curve.

    Raises:
        InvalidParameterError: bad numbers, ``end_lr <= start_lr``, or an unknown optimizer.
        TrainingDivergedError: the loss was not finite from the first steps on.
        DataError: data that cannot train the model.

    Example:
        >>> found = lr_find(model, train)                   # doctest: +SKIP
        >>> fit(model, train, lr=found.suggestion)           # doctest: +SKIP
    """
    func = "lr_find"
    check_type(model, "model", func, TransferModel, "a TransferModel from tlw.load_model")
    start_lr = check_float(start_lr, "start_lr", func, minimum=0.0, include_min=False)
    end_lr = check_float(end_lr, "end_lr", func, minimum=start_lr, include_min=False)
    num_steps = check_int(num_steps, "num_steps", func, minimum=2)
    batch_size = check_int(get_profile(profile).batch_size if batch_size is None else batch_size, "batch_size",
                           func, minimum=1)
    optimizer = check_choice(optimizer, "optimizer", func, ("adamw", "adam", "sgd"))
    weight_decay = check_optional(weight_decay, check_float, "weight_decay", func, minimum=0.0)
    smooth = check_float(smooth, "smooth", func, minimum=0.0, maximum=1.0, include_max=False)
    diverge = check_float(diverge, "diverge", func, minimum=1.0, include_min=False)
    seed = check_int(seed, "seed", func)
    progress = resolve_progress(progress)
    train = prepare_data(model, train, param="train", min_classes=2)
    phases, _ = plan(model, "fine_tune", 1, from_group=from_group, head_epochs=1, features=False)
    names = phases[0].names

    device = get_device(device)
    model.to(device)
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    modes = {m: m.training for m in model.modules()}
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    raw: list[float] = []
    smoothed: list[float] = []
    diverged = False
    try:
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            set_trainable(model, names)
            model.train()
            opt = make_optimizer(optimizer, param_groups(model, names, start_lr, dict(model.lr_mult)),
                                 lr=start_lr, weight_decay=weight_decay)
            peaks = [g["lr"] / start_lr for g in opt.param_groups]
            size = min(batch_size, len(train))
            loader = train.loader(size, shuffle=True, seed=seed, device=device, drop_last=True)
            avg = 0.0
            from tqdm.auto import tqdm

            for step in tqdm(range(num_steps), desc="lr_find", disable=not progress):
                if step % len(loader) == 0:
                    loader.epoch = step // len(loader)
                    batches = iter(loader)
                x, y = next(batches)
                for g, mult in zip(opt.param_groups, peaks):
                    g["lr"] = lrs[step] * mult
                loss = F.cross_entropy(model(to_model_input(x, channels_last=False)), y)
                value = float(loss.detach())
                if not math.isfinite(value):
                    diverged = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                avg = smooth * avg + (1 - smooth) * value
                raw.append(value)
                smoothed.append(avg / (1 - smooth ** (step + 1)))
                if step > 0 and smoothed[-1] > diverge * min(smoothed):
                    diverged = True
                    break
    finally:
        model.load_state_dict(saved)
        for n, p in model.named_parameters():
            p.requires_grad_(flags.get(n, p.requires_grad))
        for m, mode in modes.items():
            m.training = mode
    if len(smoothed) < 2:
        raise TrainingDivergedError(f"The loss diverged at the first learning rate of lr_find ({start_lr:g}). "
                                    f"Lower start_lr (for example start_lr={start_lr / 100:g}).")
    rates, losses = lrs[:len(smoothed)], np.asarray(smoothed)
    return LRFindResult(lrs=rates, losses=losses, raw_losses=np.asarray(raw), suggestion=suggest_lr(rates, losses),
                        lr_min=float(rates[int(np.argmin(losses))] / 10), diverged=diverged)
