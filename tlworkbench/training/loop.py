"""The training loop: :func:`fit`.

One loop serves every strategy (:mod:`.strategies`) and every loss (:mod:`.loss`). At each phase
the ``requires_grad`` flags are set, the optimizer is rebuilt over the trainable parameters only
(:mod:`.optim`; the state of parameters that stay is carried over), and the schedule restarts.
While only the head trains on the plain cross-entropy, the head trains on features computed once
(:mod:`tlworkbench.features`) rather than running the backbone every epoch; the backbone is then
read in eval mode, as for a linear probe.

``fit`` changes weights, not the freezing one has set: the ``requires_grad`` flags are restored
when it returns; the history records what was trained.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._validate import (check_choice, check_float, check_fraction, check_int, check_optional, check_type,
                         param_error)
from ..config import Profile, get_device, get_profile, resolve_progress
from ..data.augment import augmented
from ..data.sampling import validation_split
from ..errors import InvalidParameterError, UnknownNameError, UnknownStrategyError
from ..features import FeatureCache, prepare_data
from ..zoo import TransferModel
from .batchnorm import BN_STATS
from .budget import DEFAULT_MIN_STEPS, epochs_for_steps
from .checkpoint import load_checkpoint, resume_path
from .history import History
from .loss import TrainingLoss
from .optim import DEFAULT_LR, OPTIMIZERS, SCHEDULES
from .probe import probe_linear
from .run import Run
from .strategies import STRATEGIES, plan, reinitialize

__all__ = ["fit"]


def fit(model: TransferModel, train: Any, val: Any = None, *, strategy: str = "fine_tune",
        epochs: int | None = None, lr: float | None = None, batch_size: int | None = None,
        optimizer: str | Callable[..., torch.optim.Optimizer] | None = None, weight_decay: float | None = None,
        schedule: str | None = "onecycle", warmup: float | None = None, from_group: int | str | None = None,
        lr_mult: dict[str, float] | None = None, head_epochs: int = 1, patience: int | None = None,
        seed: int = 0, device: str | torch.device | None = None, label_smoothing: float = 0.0,
        max_grad_norm: float | None = None, cache: bool | FeatureCache = True,
        cache_dir: str | os.PathLike | None = None, checkpoint: str | os.PathLike | None = None,
        resume: bool | str | os.PathLike = False,
        callbacks: Sequence[Callable[[int, History], Any]] = (), progress: bool | None = None,
        profile: str | Profile | None = None, loss: TrainingLoss | None = None, min_steps: int | None = None,
        bn_stats: str = "epoch", augment: Callable[[torch.Tensor], torch.Tensor] | str | bool | None = None,
        val_fraction: float | None = None) -> History:
    """Train ``model`` on ``train`` with a transfer-learning strategy.

    Strategies:
        ``linear_probe``: the backbone is frozen and the head trains on features computed once
        (and cached). ``fine_tune``: trains the groups that are trainable now (all of a freshly
        loaded model; what :func:`~tlworkbench.freezing.freeze` or the FreezePanel left), or
        every group from ``from_group`` up. ``gradual_unfreeze``: the head in epoch 1, then one
        more group each epoch, from the top (ULMFiT). ``two_stage``: the head for
        ``head_epochs``, then every chosen group for ``epochs``, ``head_epochs + epochs`` in all
        (fastai's ``fine_tune(epochs, freeze_epochs=head_epochs)``). ``scratch``: the same
        architecture re-initialised from ``seed`` (:func:`reinitialize`), then trained as
        ``fine_tune``.

    Small data get enough steps: every strategy but ``linear_probe`` takes at least
    ``min_steps`` optimiser steps in the phase that trains the backbone, as
    :func:`~tlworkbench.training.epochs_for_steps` counts them (1,000 images in batches of 64
    make 16 steps an epoch; 100 images make 2, and 3 epochs would be 6 steps).

    BatchNorm, by measurement. EfficientNet-Lite0 (ImageNet, 64 px) on ``animal_mnist`` with
    100 labels per class, ``two_stage`` at lr 2e-3, batch 64, 1,000 test images: with PyTorch's
    moving average of the statistics (the layers' momentum is 0.01), 1 + 2 epochs reached .436
    and 1 + 3 epochs .434, because after 32 to 48 steps the running statistics are still mostly
    ImageNet's while the weights read the target's batch statistics; the same weights with their
    statistics recomputed over the training images reached .890 and .928. So each epoch's
    BatchNorm layers that train keep the average of that epoch's batch statistics
    (``bn_stats="epoch"``, :mod:`~tlworkbench.training.batchnorm`), at no extra cost: .929 for
    1 + 3 epochs. The model's BatchNorm policy stays ``"frozen"`` (frozen layers keep ImageNet's
    statistics and eval mode, so the head phase trains on cached features): ``"train"`` reached
    the same .929 and took 30% longer. On the same tensors a plain PyTorch loop with this recipe
    (and the moving average) reached .54 to .75 with its dropout draw, fastai's ``fine_tune``
    .417 and a linear probe .904 (``bench/bench_fine_tuning.py`` runs them side by side).

    The optimizer holds trainable parameters only, one parameter group per layer group with
    learning rate ``lr * multiplier`` (``model.lr_mult``, updated by ``lr_mult``). With
    validation data, the weights of the epoch with the best validation accuracy are loaded at
    the end. On CUDA: mixed precision (bfloat16 where supported, else float16 with a gradient
    scaler), channels-last convolutions, pinned asynchronous copies. On the CPU a run is
    deterministic for a given ``seed`` (the global RNG is left as it was).

    A KeyboardInterrupt (Jupyter's stop button) ends training cleanly: the best weights so far
    are loaded and the history returned with ``interrupted=True``. With ``checkpoint``, every
    epoch is saved atomically and ``resume`` continues to the same result as an uninterrupted run.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel`.
        train: the training data set; one without a transform is read through the model's.
        val: validation data (best weights, early stopping, the ``val`` rows of the history).
        strategy: one of :data:`STRATEGIES`.
        epochs: passes over ``train`` (default: the profile's); for ``two_stage``, the epochs
            after the ``head_epochs`` of the head. Raised for small data by ``min_steps``.
        lr: base learning rate (default: 2e-3 for Adam(W), 1e-2 for SGD, 1 for L-BFGS; see
            :data:`~tlworkbench.training.optim.DEFAULT_LR` for the measurements).
        batch_size: examples per step (default: the profile's).
        optimizer: ``"adamw"``, ``"adam"``, ``"sgd"`` (momentum 0.9), ``"lbfgs"`` (linear probe
            with the plain cross-entropy only: full-batch on the features, up to 20 iterations
            per epoch, no schedule; a head that is one linear layer), or
            ``factory(param_groups) -> Optimizer``. Default: ``"lbfgs"`` for ``linear_probe``
            without ``loss`` on a linear head (the probe of :mod:`tlworkbench.training.probe`, a
            regularised logistic regression on the features, as accurate as scikit-learn's),
            ``"adamw"`` otherwise.
        weight_decay: default 0.01 for AdamW, 1e-3 for L-BFGS (``wd / 2 * |w|^2`` added to the
            mean loss, on features scaled to unit mean variance, see
            :mod:`~tlworkbench.training.probe`), 0 otherwise.
        schedule: ``"onecycle"`` (:class:`~torch.optim.lr_scheduler.OneCycleLR`), ``"cosine"``
            (linear warm-up, then cosine decay to zero) or ``None``; it restarts at each phase.
        warmup: fraction of a phase's steps spent warming up (default 0.25 for one-cycle, which
            needs some, 0.1 for cosine).
        from_group: train this group (name or index) and every group above it.
        lr_mult: learning-rate multipliers by group name, over ``model.lr_mult``.
        head_epochs: epochs of the head phase of ``two_stage``, before its ``epochs``.
        patience: stop when validation accuracy has not improved for this many epochs.
        seed: seeds shuffling, dropout and (``scratch``) the initialisation.
        device: where to train (default: :func:`~tlworkbench.config.get_device`); the model is
            moved there and stays.
        label_smoothing: passed to the cross-entropy.
        max_grad_norm: clip the gradient norm of the trainable parameters.
        cache: feature cache for head-only phases: ``True`` (the process-wide cache), ``False``,
            or a :class:`~tlworkbench.features.FeatureCache`.
        cache_dir: keep features on disk too (default: ``TLW_FEATURE_CACHE`` when set).
        checkpoint: a file written atomically after each epoch.
        resume: a checkpoint file to continue from (and to keep writing, unless ``checkpoint``
            names another), or ``True`` for ``checkpoint`` when it exists.
        callbacks: ``callback(epoch, history)`` after each epoch (after the checkpoint); a
            callback that returns ``True`` stops training.
        progress: progress bars for epochs and batches (``None``: in Jupyter only).
        profile: run profile for the defaults (``None``: ``TLW_PROFILE``).
        loss: the loss hook, a :class:`~tlworkbench.training.TrainingLoss` (``None``: the
            cross-entropy). It turns each batch into a loss and may read more data at each step
            (Deep CORAL, :func:`tlworkbench.adaptation.fit_deep_coral`, reads unlabelled target
            images); everything else of the run stays with ``fit``. Its per-batch metrics
            become history columns.
        min_steps: the fewest optimiser steps of the phase that trains the backbone (all of the
            run but for ``two_stage``'s head phase; ``linear_probe`` is exempt): ``epochs``
            rises to ``ceil(min_steps / batches per epoch)`` when that is more. ``0`` asks for
            ``epochs`` exactly. Default (``None``): :data:`~tlworkbench.training.budget.DEFAULT_MIN_STEPS`.
        bn_stats: ``"epoch"``: BatchNorm layers that train hold the average of the current
            epoch's batch statistics at the end of each epoch; ``"running"``: PyTorch's moving
            average with each layer's own momentum (see above).
        augment: augmentation of the training batches of the phases that run the backbone
            (:mod:`tlworkbench.data.augment`): ``"light"``, ``"standard"``, ``True`` (the
            profile's default: ``"light"`` in the quick profile, ``"standard"`` in the full
            one), a callable on one uint8 ``(C, H, W)`` image (a ``torchvision.transforms.v2``
            pipeline), or ``None`` (default: none). A phase that trains the head on cached
            features reads the plain images; validation never sees augmentation.
        val_fraction: carve a stratified validation split of this share of each class out of
            ``train`` (:func:`~tlworkbench.data.validation_split`, drawn with ``seed``) when
            ``val`` is not given; the best epoch is then chosen on it.

    Returns:
        The :class:`History`; the model holds the best (or last) weights, in eval mode.

    Raises:
        UnknownStrategyError: an unknown strategy (with the closest name).
        UnknownNameError: an unknown ``from_group``, ``lr_mult`` group, optimizer or schedule.
        InvalidParameterError: ``lr <= 0``, ``epochs < 1``, ``head_epochs < 1``, ``min_steps < 0``
            and other bad numbers, an unknown ``bn_stats``, or options
            that do not go together (both ``ValueError`` and ``TypeError``).
        DataError: empty data, training data with fewer than 2 classes, labels outside the head's
            outputs, text for an image model, or images with a channel count the backbone does not read.
        TrainingDivergedError: the loss became NaN or infinite or grew over 1e4 times the first
            epoch's, or a weight or buffer (a BatchNorm running variance) overflowed; the model is
            back at its weights from the end of the last good epoch.

    Example:
        >>> history = fit(model, train, val, strategy="two_stage", epochs=3, lr=2e-3)   # doctest: +SKIP
        >>> history.frame.tail()                                                        # doctest: +SKIP
    """
    func = "fit"
    check_type(model, "model", func, TransferModel, "a TransferModel from tlw.load_model")
    strategy = check_choice(strategy, "strategy", func, STRATEGIES, error=UnknownStrategyError)
    check_optional(loss, check_type, "loss", func, TrainingLoss, "a TrainingLoss or None")
    prof = get_profile(profile)
    epochs = check_int(prof.epochs if epochs is None else epochs, "epochs", func, minimum=1)
    batch_size = check_int(prof.batch_size if batch_size is None else batch_size, "batch_size", func, minimum=1)
    linear_head = probe_linear(model.head) is not None
    if optimizer is None:
        optimizer = "lbfgs" if strategy == "linear_probe" and loss is None and linear_head else "adamw"
    if not callable(optimizer):
        optimizer = check_choice(optimizer, "optimizer", func, OPTIMIZERS,
                                 what="a callable factory(param_groups) or one of")
    if optimizer == "lbfgs" and (strategy != "linear_probe" or loss is not None or not linear_head):
        raise InvalidParameterError(
            f"optimizer='lbfgs' trains a linear head full-batch on cached features with the cross-entropy: use "
            f"it with strategy='linear_probe', no loss and a head that is one nn.Linear. Got strategy={strategy!r}"
            f"{'' if loss is None else f' and loss={type(loss).__name__}'}"
            f"{'' if linear_head else f' and a head {type(model.head).__name__} of several layers'}.")
    lr = check_float(DEFAULT_LR.get(optimizer, 1e-3) if lr is None else lr, "lr", func, minimum=0.0,
                     include_min=False)
    schedule = check_choice(schedule, "schedule", func, SCHEDULES)
    warmup = check_float((0.25 if schedule == "onecycle" else 0.1) if warmup is None else warmup, "warmup",
                         func, minimum=0.0, maximum=1.0, include_min=schedule != "onecycle", include_max=False)
    head_epochs = check_int(head_epochs, "head_epochs", func, minimum=1)
    min_steps = check_int(DEFAULT_MIN_STEPS if min_steps is None else min_steps, "min_steps", func, minimum=0)
    bn_stats = check_choice(bn_stats, "bn_stats", func, BN_STATS)
    if from_group is not None and strategy == "linear_probe":
        raise InvalidParameterError("The 'from_group' parameter does not apply to strategy='linear_probe' (it trains "
                                    "the head only). Use strategy='fine_tune' with from_group.")
    patience = check_optional(patience, check_int, "patience", func, minimum=1)
    if patience is not None and val is None:
        raise InvalidParameterError(f"Early stopping (patience={patience}) watches the validation data: pass val.")
    weight_decay = check_optional(weight_decay, check_float, "weight_decay", func, minimum=0.0)
    max_grad_norm = check_optional(max_grad_norm, check_float, "max_grad_norm", func, minimum=0.0,
                                   include_min=False)
    label_smoothing = check_float(label_smoothing, "label_smoothing", func, minimum=0.0, maximum=1.0)
    seed = check_int(seed, "seed", func)
    if not isinstance(cache, (bool, FeatureCache)):
        raise param_error("cache", func, "True, False or a FeatureCache", cache)
    progress = resolve_progress(progress)
    mults = dict(model.lr_mult)
    for g, m in (lr_mult or {}).items():
        check_choice(g, "lr_mult", func, list(model.groups), error=UnknownNameError, what="a dict keyed by")
        mults[g] = check_float(m, f"lr_mult[{g!r}]", func, minimum=0.0)
    val_fraction = check_optional(val_fraction, check_fraction, "val_fraction", func)
    if val_fraction is not None:
        if val is not None:
            raise InvalidParameterError("Pass either val or val_fraction to fit, not both: val_fraction carves the "
                                        "validation data out of train.")
        train, val = validation_split(train, fraction=val_fraction, seed=seed)
    train = prepare_data(model, train, param="train", min_classes=2)
    val = prepare_data(model, val, param="val") if val is not None else None
    batch_data = augmented(train, augment, profile=prof) if augment is not None else train
    asked = epochs
    epochs = _total_epochs(strategy, asked, head_epochs, min_steps, -(-len(train) // batch_size), batch_size)
    phases, note = plan(model, strategy, epochs, from_group=from_group, head_epochs=head_epochs,
                        features=loss is None)
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    resume_from = resume_path(resume, checkpoint)
    if checkpoint is None and resume_from is not None:
        checkpoint = resume_from  # a resumed run keeps its checkpoint current

    device = get_device(device)
    model.to(device)
    entry_flags = {n: p.requires_grad for n, p in model.named_parameters()}
    # a set that augments its own batches (a rank's shard, tlw.distributed.shard) records its recipe
    recorded = augment if augment is not None else getattr(train, "batch_augment", None)
    config = {"strategy": strategy, "model": model.name, "epochs": epochs, "lr": lr, "batch_size": batch_size,
              "optimizer": optimizer if isinstance(optimizer, str) else "custom", "schedule": schedule,
              "seed": seed, "from_group": from_group, "head_epochs": head_epochs, "train": getattr(train, "name", ""),
              "n_train": len(train), "loss": "cross_entropy" if loss is None else type(loss).__name__,
              "min_steps": min_steps, "bn_stats": bn_stats,
              "augment": recorded if recorded is None or isinstance(recorded, (str, bool)) else "custom",
              "val_fraction": val_fraction}
    run = Run(model=model, train=train, val=val, strategy=strategy, phases=phases, epochs=epochs, lr=lr,
              batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
              warmup=warmup, mults=mults, patience=patience, seed=seed, device=device,
              label_smoothing=label_smoothing, max_grad_norm=max_grad_norm, cache=cache, cache_dir=cache_dir,
              checkpoint=Path(checkpoint) if checkpoint is not None else None, callbacks=list(callbacks),
              progress=progress, config=config, step_loss=loss if loss is not None else TrainingLoss(),
              bn_stats=bn_stats, batch_data=batch_data)
    if run.epoch_steps is not None:  # the loss hook sets the length of an epoch
        epochs = _total_epochs(strategy, asked, head_epochs, min_steps, run.epoch_steps, batch_size)
        run.epochs = config["epochs"] = epochs
        run.phases, _ = plan(model, strategy, epochs, from_group=from_group, head_epochs=head_epochs,
                             features=False)
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            if resume_from is not None:
                load_checkpoint(run, resume_from)
            elif strategy == "scratch":
                reinitialize(model)
            run.loop()
    finally:
        for n, p in model.named_parameters():
            p.requires_grad_(entry_flags.get(n, p.requires_grad))
        model.eval()
    if run.interrupted:
        where = f"the weights of epoch {run.history.best_epoch}" if run.history.best_epoch else "its initial weights"
        again = f" Continue with fit(..., resume={str(checkpoint)!r})." if checkpoint is not None else ""
        warnings.warn(f"Training was interrupted after {run.history.epochs} complete epoch(s) of {epochs}; the "
                      f"model holds {where}.{again}", UserWarning, stacklevel=2)
    return run.history


def _total_epochs(strategy: str, epochs: int, head_epochs: int, min_steps: int, per_epoch: int,
                  batch_size: int) -> int:
    """Epochs of the whole run: ``epochs`` raised to ``min_steps`` steps of ``per_epoch`` batches
    (not for the L-BFGS epochs of a linear probe), after ``head_epochs`` for ``two_stage``."""
    if strategy != "linear_probe" and min_steps:  # small data: enough steps, not only epochs
        # budget's rule, over an epoch of `per_epoch` full batches
        epochs = epochs_for_steps(per_epoch * batch_size, steps=min_steps, batch_size=batch_size, min_epochs=epochs)
    # two_stage as fastai's fine_tune: the head, then `epochs` of every chosen group
    return epochs + head_epochs if strategy == "two_stage" else epochs
