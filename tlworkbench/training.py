"""Training with a transfer-learning strategy: :func:`fit` and its :class:`History`.

One loop serves every strategy. A strategy is a plan of *phases*: runs of epochs that train the
same set of parameters. ``linear_probe`` is one phase that trains the head; ``fine_tune`` and
``scratch`` one phase that trains the chosen groups; ``two_stage`` a head phase then a phase over
all chosen groups (fastai's ``fine_tune``); ``gradual_unfreeze`` adds one group per epoch from the
top (ULMFiT). At each phase the ``requires_grad`` flags are set, the optimizer is rebuilt over the
trainable parameters only (one parameter group per layer group, with its learning-rate
multiplier; the state of parameters that stay is carried over), and the schedule restarts.

While only the head trains, the backbone's output does not change, so such a phase trains the
head on features computed once (:mod:`tlworkbench.features`) rather than running the backbone
every epoch. The backbone is then read in eval mode, as for a linear probe.

``fit`` changes weights, not the freezing one has set: the ``requires_grad`` flags are restored
when it returns; the history records what was trained.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .config import Profile, get_device, get_profile, use_amp
from .errors import TrainingDivergedError, UnknownNameError, UnknownStrategyError, did_you_mean
from .features import FeatureCache, extract_features, inference_batch_size, prepare_data, to_model_input
from .freezing import group_of_parameters
from .weights import load_state_dict, save_state_dict
from .zoo import TransferModel

__all__ = ["History", "fit", "reinitialize", "STRATEGIES", "SCHEDULES", "OPTIMIZERS"]

STRATEGIES = ("linear_probe", "fine_tune", "gradual_unfreeze", "two_stage", "scratch")
SCHEDULES = ("onecycle", "cosine", None)
OPTIMIZERS = ("adamw", "adam", "sgd", "lbfgs")
_DEFAULT_LR = {"adamw": 1e-3, "adam": 1e-3, "sgd": 1e-2, "lbfgs": 1.0}
_CHECKPOINT_FORMAT = 1


# --- History -----------------------------------------------------------------------------------


class History:
    """What happened during :func:`fit`, one row per epoch and split.

    Attributes:
        frame: columns ``epoch`` (from 1), ``split`` (``"train"``/``"val"``), ``loss``,
            ``accuracy``, ``lr`` (mean over the epoch's steps, train rows only), ``lr_<group>``
            (when the groups' multipliers differ), ``seconds`` and ``trainable_params``.
        strategy: the strategy trained with.
        best_epoch: the epoch whose weights the model holds at the end (best validation
            accuracy; the last complete epoch without validation data).
        best_accuracy: the validation accuracy of that epoch (``None`` without validation data).
        interrupted: training was stopped by a KeyboardInterrupt (Jupyter's stop button).
        stopped_early: training stopped because validation accuracy stopped improving.
    """

    def __init__(self, strategy: str, frame: pd.DataFrame | None = None, *, best_epoch: int | None = None,
                 best_accuracy: float | None = None, interrupted: bool = False, stopped_early: bool = False) -> None:
        self.strategy = strategy
        self.frame = frame if frame is not None else pd.DataFrame(
            columns=["epoch", "split", "loss", "accuracy", "lr", "seconds", "trainable_params"])
        self.best_epoch = best_epoch
        self.best_accuracy = best_accuracy
        self.interrupted = interrupted
        self.stopped_early = stopped_early

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return int(self.frame["epoch"].max()) if len(self.frame) else 0

    def __repr__(self) -> str:
        best = "" if self.best_accuracy is None else f", best_accuracy={self.best_accuracy:.4f}"
        flags = ", interrupted" if self.interrupted else ", stopped early" if self.stopped_early else ""
        return f"History({self.strategy!r}, epochs={self.epochs}, best_epoch={self.best_epoch}{best}{flags})"

    def _repr_html_(self) -> str:
        return f"<p><code>{self!r}</code></p>" + self.frame.to_html(index=False, float_format="{:.4g}".format)

    def plot(self, ax: Any = None, metric: str = "loss") -> Any:
        """Learning curves through :func:`tlworkbench.plots.plot_history`; returns the Axes."""
        from . import plots  # matplotlib is only needed when a plot is asked for

        return plots.plot_history(self.frame, metric=metric, ax=ax, label=self.strategy)


# --- validation --------------------------------------------------------------------------------


def _check_positive_int(value: Any, param: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"The {param!r} parameter of fit must be an int >= {minimum}. Got {value!r} instead.")
    return value


def _check_strategy(strategy: Any, func: str = "fit") -> str:
    if strategy not in STRATEGIES:
        hint = did_you_mean(str(strategy), STRATEGIES)
        raise UnknownStrategyError(f"Unknown strategy {strategy!r} for {func}.{hint} "
                                   f"Strategies: {', '.join(STRATEGIES)}.")
    return strategy


def _group_index(model: TransferModel, from_group: int | str) -> int:
    names = list(model.groups)
    if isinstance(from_group, str):
        if from_group not in names:
            raise UnknownNameError(f"Unknown group {from_group!r} for the 'from_group' parameter of fit."
                                   f"{did_you_mean(from_group, names)} Groups of {model.name!r}: {names}.")
        return names.index(from_group)
    if isinstance(from_group, bool) or not isinstance(from_group, int) or not -len(names) <= from_group < len(names):
        raise ValueError(f"The 'from_group' parameter of fit must be a group name or an index in "
                         f"[{-len(names)}, {len(names) - 1}]. Got {from_group!r} instead. Groups: {names}.")
    return from_group % len(names)


# --- strategy plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phase:
    first: int  # first epoch (from 1)
    last: int
    names: frozenset[str]  # parameters trained
    features: bool  # train the head on cached features

    def to_state(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last, "names": sorted(self.names), "features": self.features}


def _plan(model: TransferModel, strategy: str, epochs: int, *, from_group: int | str | None,
          head_epochs: int) -> tuple[list[_Phase], str | None]:
    """The phases of a strategy, and a warning when every parameter was frozen."""
    named = dict(model.named_parameters())
    head = frozenset(f"head.{n}" for n, _ in model.head.named_parameters())
    if not head:
        raise ValueError(f"The head of {model.name!r} has no parameters; every strategy trains the head. "
                         "Give the model a head: model.replace_head(num_classes).")
    group_of = group_of_parameters(model)
    by_group: dict[str, list[str]] = {g: [] for g in model.groups}
    for n, p in named.items():
        by_group.setdefault(group_of.get(id(p), "other"), []).append(n)
    note = None
    if strategy == "linear_probe":
        target = head
    elif from_group is not None:
        keep = list(model.groups)[_group_index(model, from_group):]
        target = frozenset(n for g in keep for n in by_group[g])
    else:
        target = frozenset(n for n, p in named.items() if p.requires_grad)
        if not target:
            note = (f"Every parameter of {model.name!r} is frozen, so the {strategy!r} strategy, which trains the "
                    "backbone, would train nothing; it trains the head only. Unfreeze groups first "
                    "(tlw.unfreeze(model)) or pass from_group=0 to train every group.")
            target = head
    # the backbone's output stays fixed while only the head trains, unless BatchNorm is told to adapt
    bn_adapts = getattr(model, "bn_policy", "frozen") == "train"

    def phase(first: int, last: int, names: frozenset[str]) -> _Phase:
        feats = strategy == "linear_probe" or (names <= head and not bn_adapts)
        return _Phase(first, last, names, feats)

    if strategy == "two_stage":
        return [phase(1, head_epochs, head), phase(head_epochs + 1, epochs, target)], note
    if strategy == "gradual_unfreeze":
        # from the head down; parameters outside every group (an unused pooler) come last
        ranked = list(reversed(list(model.groups))) + [g for g in by_group if g not in model.groups]
        order = [g for g in ranked if any(n in target for n in by_group[g])]
        phases: list[_Phase] = []
        active: set[str] = set()
        for epoch in range(1, epochs + 1):
            if order:
                active |= {n for n in by_group[order.pop(0)] if n in target}
            if phases and phases[-1].names == active:
                phases[-1] = phase(phases[-1].first, epoch, frozenset(active))
            else:
                phases.append(phase(epoch, epoch, frozenset(active)))
        return phases, note
    return [phase(1, epochs, target)], note


# --- re-initialisation -------------------------------------------------------------------------


def reinitialize(model: nn.Module, *, seed: int | None = None) -> nn.Module:
    """Re-initialise every parameter (and BatchNorm statistics) of ``model`` in place.

    Each submodule's own ``reset_parameters`` is used (PyTorch's default initialisation);
    parameters that no submodule resets (class tokens, position embeddings) are drawn from a
    truncated normal with std 0.02, biases set to zero.

    Args:
        model: the module.
        seed: seeds the draw (the global RNG is left as it was); ``None`` uses the global RNG.

    Returns:
        The model.
    """
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(int(seed))
        covered: set[int] = set()
        for m in model.modules():
            reset = getattr(m, "reset_parameters", None) or getattr(m, "_reset_parameters", None)
            own = list(m.parameters(recurse=False))
            if callable(reset) and (own or hasattr(m, "reset_running_stats")):
                reset()
                covered.update(id(p) for p in own)
            elif hasattr(m, "reset_running_stats"):
                m.reset_running_stats()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if id(p) in covered:
                    continue
                if name.endswith("bias"):
                    p.zero_()
                else:
                    nn.init.trunc_normal_(p, std=0.02)
    return model


# --- schedules and optimizers ------------------------------------------------------------------


def _lr_factor(schedule: str | None, step: int, total: int, warmup: float) -> float:
    if schedule is None:
        return 1.0
    t = step / max(1, total)
    if schedule == "onecycle":  # cosine up from lr/25, cosine down to lr/1e4 (PyTorch's OneCycleLR)
        start, final = 1 / 25, 1e-4
        if t < warmup:
            return start + (1 - start) * (1 - math.cos(math.pi * t / warmup)) / 2
        u = (t - warmup) / max(1e-12, 1 - warmup)
        return final + (1 - final) * (1 + math.cos(math.pi * u)) / 2
    warm_steps = warmup * total
    if step < warm_steps:
        return (step + 1) / warm_steps
    u = (step - warm_steps) / max(1e-12, total - warm_steps)
    return (1 + math.cos(math.pi * u)) / 2


def _param_groups(model: TransferModel, names: frozenset[str], lr: float,
                  mults: dict[str, float]) -> list[dict[str, Any]]:
    group_of = group_of_parameters(model)
    groups: dict[str, list[nn.Parameter]] = {}
    for n, p in model.named_parameters():
        if n in names:
            groups.setdefault(group_of.get(id(p), "other"), []).append(p)
    return [{"params": ps, "lr": lr * mults.get(g, 1.0), "name": g, "lr_mult": mults.get(g, 1.0)}
            for g, ps in groups.items()]


def _make_optimizer(optimizer: str | Callable[..., torch.optim.Optimizer], groups: list[dict[str, Any]], *,
                    lr: float, weight_decay: float | None) -> torch.optim.Optimizer:
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


def _frozen_in(optimizer: torch.optim.Optimizer, model: nn.Module) -> list[str]:
    names = {id(p): n for n, p in model.named_parameters()}
    return [names.get(id(p), "?") for g in optimizer.param_groups for p in g["params"] if not p.requires_grad]


# --- the loop ----------------------------------------------------------------------------------


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A snapshot of what training can change: trainable parameters and buffers are copied,
    frozen parameters are kept by reference (copying a frozen backbone every epoch would cost
    more than a linear probe's whole epoch). Call :func:`_materialize` before a frozen parameter
    starts to train."""
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    return {k: v.detach() if k in frozen else v.detach().clone() for k, v in model.state_dict().items()}


def _materialize(state: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor] | None:
    """Turn every reference in a snapshot into a copy."""
    return None if state is None else {k: v.clone() for k, v in state.items()}


def _set_trainable(model: nn.Module, names: frozenset[str]) -> int:
    count = 0
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
        count += p.numel() if n in names else 0
    return count


def fit(model: TransferModel, train: Any, val: Any = None, *, strategy: str = "fine_tune",
        epochs: int | None = None, lr: float | None = None, batch_size: int | None = None,
        optimizer: str | Callable[..., torch.optim.Optimizer] | None = None, weight_decay: float | None = None,
        schedule: str | None = "onecycle", warmup: float | None = None, from_group: int | str | None = None,
        lr_mult: dict[str, float] | None = None, head_epochs: int = 1, patience: int | None = None,
        seed: int = 0, device: str | torch.device | None = None, label_smoothing: float = 0.0,
        max_grad_norm: float | None = None, cache: bool | FeatureCache = True,
        cache_dir: str | os.PathLike | None = None, checkpoint: str | os.PathLike | None = None,
        resume: bool | str | os.PathLike = False,
        callbacks: Sequence[Callable[[int, History], Any]] = (), progress: bool = True,
        profile: str | Profile | None = None) -> History:
    """Train ``model`` on ``train`` with a transfer-learning strategy.

    Strategies:
        ``linear_probe``: the backbone is frozen and the head trains on features computed once
        (and cached). ``fine_tune``: trains the groups that are trainable now (all of a freshly
        loaded model; what :func:`~tlworkbench.freezing.freeze` or the FreezePanel left), or
        every group from ``from_group`` up. ``gradual_unfreeze``: the head in epoch 1, then one
        more group each epoch, from the top (ULMFiT). ``two_stage``: the head for
        ``head_epochs``, then every chosen group (fastai's ``fine_tune``). ``scratch``: the same
        architecture re-initialised from ``seed`` (:func:`reinitialize`), then trained as
        ``fine_tune``.

    The optimizer holds trainable parameters only, one parameter group per layer group with
    learning rate ``lr * multiplier`` (``model.lr_mult``, updated by ``lr_mult``). With
    validation data, the weights of the epoch with the best validation accuracy are loaded at
    the end. On CUDA: mixed precision, channels-last convolutions, pinned asynchronous copies.
    On the CPU a run is deterministic for a given ``seed`` (the global RNG is left as it was).

    A KeyboardInterrupt (Jupyter's stop button) ends training cleanly: the best weights so far
    are loaded and the history returned with ``interrupted=True``. With ``checkpoint``, every
    epoch is saved atomically and ``resume`` continues to the same result as an uninterrupted run.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel`.
        train: the training data set; one without a transform is read through the model's.
        val: validation data (best weights, early stopping, the ``val`` rows of the history).
        strategy: one of :data:`STRATEGIES`.
        epochs: passes over ``train`` (default: the profile's).
        lr: base learning rate (default: 1e-3 for Adam(W), 1e-2 for SGD, 1 for L-BFGS).
        batch_size: examples per step (default: the profile's).
        optimizer: ``"adamw"``, ``"adam"``, ``"sgd"`` (momentum 0.9), ``"lbfgs"`` (linear probe
            only: full-batch on the features, up to 20 iterations per epoch, no schedule), or
            ``factory(param_groups) -> Optimizer``. Default: ``"lbfgs"`` for ``linear_probe``
            (a regularised logistic regression on the features, as accurate as scikit-learn's
            and as fast), ``"adamw"`` otherwise.
        weight_decay: default 0.01 for AdamW, 1e-3 for L-BFGS (added to the mean loss as
            ``wd / 2 * |w|^2``), 0 otherwise.
        schedule: ``"onecycle"``, ``"cosine"`` (with linear warm-up) or ``None``; it restarts at
            each phase.
        warmup: fraction of a phase's steps spent warming up (default 0.25 for one-cycle, 0.1
            for cosine).
        from_group: train this group (name or index) and every group above it.
        lr_mult: learning-rate multipliers by group name, over ``model.lr_mult``.
        head_epochs: epochs of the head phase of ``two_stage``.
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
        progress: progress bars for epochs and batches.
        profile: run profile for the defaults (``None``: ``TLW_PROFILE``).

    Returns:
        The :class:`History`; the model holds the best (or last) weights, in eval mode.

    Raises:
        UnknownStrategyError: an unknown strategy (with the closest name).
        UnknownNameError: an unknown ``from_group`` name.
        ValueError: ``lr <= 0``, ``epochs < 1`` and other bad numbers, or options that do not
            go together.
        DataError: empty data, labels outside the head's outputs, text for an image model, or
            images with a channel count the backbone does not read.
        TrainingDivergedError: the loss became NaN or infinite; the model is back at its
            weights from the end of the last good epoch.

    Example:
        >>> history = fit(model, train, val, strategy="two_stage", epochs=4, lr=1e-3)   # doctest: +SKIP
        >>> history.frame.tail()                                                        # doctest: +SKIP
    """
    # --- arguments
    if not isinstance(model, TransferModel):
        raise TypeError(f"The 'model' parameter of fit must be a TransferModel from tlw.load_model. "
                        f"Got {type(model).__name__} instead.")
    strategy = _check_strategy(strategy)
    prof = get_profile(profile)
    epochs = _check_positive_int(prof.epochs if epochs is None else epochs, "epochs")
    batch_size = _check_positive_int(prof.batch_size if batch_size is None else batch_size, "batch_size")
    if optimizer is None:
        optimizer = "lbfgs" if strategy == "linear_probe" else "adamw"
    if not (callable(optimizer) or optimizer in OPTIMIZERS):
        raise ValueError(f"The 'optimizer' parameter of fit must be one of {OPTIMIZERS} or a callable "
                         f"factory(param_groups). Got {optimizer!r} instead.{did_you_mean(str(optimizer), OPTIMIZERS)}")
    if optimizer == "lbfgs" and strategy != "linear_probe":
        raise ValueError(f"optimizer='lbfgs' trains full-batch on cached features: use it with "
                         f"strategy='linear_probe'. Got strategy={strategy!r}.")
    lr = _DEFAULT_LR.get(optimizer, 1e-3) if lr is None else lr
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"The 'lr' parameter of fit must be a positive finite number. Got {lr!r} instead.")
    lr = float(lr)
    if schedule not in SCHEDULES:
        raise ValueError(f"The 'schedule' parameter of fit must be one of {SCHEDULES}. Got {schedule!r} instead."
                         f"{did_you_mean(str(schedule), ['onecycle', 'cosine'])}")
    warmup = (0.25 if schedule == "onecycle" else 0.1) if warmup is None else float(warmup)
    if not 0 <= warmup < 1:
        raise ValueError(f"The 'warmup' parameter of fit must lie in [0, 1). Got {warmup!r} instead.")
    if strategy == "two_stage":
        if epochs < 2:
            raise ValueError(f"strategy='two_stage' needs epochs >= 2 (head_epochs={head_epochs} for the head, "
                             f"then the rest). Got epochs={epochs}.")
        if isinstance(head_epochs, bool) or not isinstance(head_epochs, int) or not 1 <= head_epochs < epochs:
            raise ValueError(f"The 'head_epochs' parameter of fit must be an int in [1, epochs - 1] = "
                             f"[1, {epochs - 1}]. Got {head_epochs!r} instead.")
    if from_group is not None and strategy == "linear_probe":
        raise ValueError("The 'from_group' parameter does not apply to strategy='linear_probe' (it trains the "
                         "head only). Use strategy='fine_tune' with from_group.")
    if patience is not None:
        _check_positive_int(patience, "patience")
        if val is None:
            raise ValueError(f"Early stopping (patience={patience}) watches the validation data: pass val.")
    if weight_decay is not None and not weight_decay >= 0:
        raise ValueError(f"The 'weight_decay' parameter of fit must be >= 0. Got {weight_decay!r} instead.")
    if max_grad_norm is not None and not max_grad_norm > 0:
        raise ValueError(f"The 'max_grad_norm' parameter of fit must be > 0. Got {max_grad_norm!r} instead.")
    mults = dict(model.lr_mult)
    for g, m in (lr_mult or {}).items():
        if g not in model.groups:
            raise UnknownNameError(f"Unknown group {g!r} in the 'lr_mult' parameter of fit."
                                   f"{did_you_mean(g, list(model.groups))} Groups: {list(model.groups)}.")
        if not float(m) >= 0:
            raise ValueError(f"The multiplier of group {g!r} in 'lr_mult' must be >= 0. Got {m!r} instead.")
        mults[g] = float(m)
    train = prepare_data(model, train, param="train")
    val = prepare_data(model, val, param="val") if val is not None else None
    phases, note = _plan(model, strategy, epochs, from_group=from_group, head_epochs=head_epochs)
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    resume_path = _resume_path(resume, checkpoint)
    if checkpoint is None and resume_path is not None:
        checkpoint = resume_path  # a resumed run keeps its checkpoint current

    device = get_device(device)
    model.to(device)
    entry_flags = {n: p.requires_grad for n, p in model.named_parameters()}
    config = {"strategy": strategy, "model": model.name, "epochs": epochs, "lr": lr, "batch_size": batch_size,
              "optimizer": optimizer if isinstance(optimizer, str) else "custom", "schedule": schedule,
              "seed": seed, "from_group": from_group, "head_epochs": head_epochs, "train": getattr(train, "name", ""),
              "n_train": len(train)}
    run = _Run(model=model, train=train, val=val, strategy=strategy, phases=phases, epochs=epochs, lr=lr,
               batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
               warmup=warmup, mults=mults, patience=patience, seed=seed, device=device,
               label_smoothing=label_smoothing, max_grad_norm=max_grad_norm, cache=cache, cache_dir=cache_dir,
               checkpoint=Path(checkpoint) if checkpoint is not None else None, callbacks=list(callbacks),
               progress=progress, config=config)
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(int(seed))
            if resume_path is not None:
                run.load(resume_path)
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


def _resume_path(resume: bool | str | os.PathLike, checkpoint: str | os.PathLike | None) -> Path | None:
    if resume is False or resume is None:
        return None
    if resume is True:
        if checkpoint is None:
            raise ValueError("resume=True continues from the 'checkpoint' file: pass checkpoint=path too.")
        return Path(checkpoint) if Path(checkpoint).is_file() else None
    path = Path(resume)
    if not path.is_file():
        from .errors import MissingAssetError

        raise MissingAssetError(f"The checkpoint {str(path)!r} given as 'resume' does not exist. Pass a file "
                                "written by fit(..., checkpoint=path), or resume=True to start when it is missing.")
    return path


class _Run:
    """The state of one :func:`fit` call (what a checkpoint holds)."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)
        self.history = History(self.strategy)
        self.rows: list[dict[str, Any]] = []
        self.done = 0  # epochs completed
        self.step = 0  # optimizer steps since the start
        self.phase_step = 0  # steps since the current phase began
        self.phase: _Phase | None = None
        self.opt: torch.optim.Optimizer | None = None
        self.best: dict[str, Any] = {"accuracy": None, "loss": None, "epoch": None, "state": None}
        self.bad_epochs = 0
        self.stopped = False
        self.interrupted = False
        self.warned_frozen = False
        self.amp = use_amp(self.device)
        self.amp_dtype = (torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        conv = any(isinstance(m, nn.Conv2d) for m in self.model.modules())
        # channels-last convolutions pay off on tensor cores; on CPUs they help inference only
        self.channels_last_train = conv and self.device.type == "cuda"
        self.channels_last_eval = conv
        if self.channels_last_train:
            self.model.to(memory_format=torch.channels_last)
        self.feats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        multi = {self.mults.get(g, 1.0) for g in self.model.groups if g != "other"}
        self.lr_columns = len(multi) > 1

    # --- phases and optimizer
    def _enter(self, phase: _Phase) -> None:
        old = self.opt
        self.phase = phase
        self.trainable = _set_trainable(self.model, phase.names)
        self.model.train()  # re-applies the BatchNorm policy to the new frozen set
        groups = _param_groups(self.model, phase.names, self.lr, self.mults)
        self.opt = _make_optimizer(self.optimizer, groups, lr=self.lr, weight_decay=self.weight_decay)
        frozen = _frozen_in(self.opt, self.model)
        if frozen and not self.warned_frozen:
            self.warned_frozen = True
            # stack: _enter <- loop or load <- fit <- the caller of fit
            warnings.warn(f"The optimizer holds frozen parameters ({', '.join(frozen[:4])}"
                          f"{' ...' if len(frozen) > 4 else ''}); they take no step but cost memory. "
                          "Build it from the param_groups the factory receives.", UserWarning, stacklevel=4)
        if old is not None:  # parameters that keep training keep their moments
            for p, s in old.state.items():
                if any(p is q for g in self.opt.param_groups for q in g["params"]):
                    self.opt.state[p] = s
        self.phase_step = 0

    def _phase_of(self, epoch: int) -> _Phase:
        return next(p for p in self.phases if p.first <= epoch <= p.last)

    def _features(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        if split not in self.feats:
            data = self.train if split == "train" else self.val
            f, y = extract_features(self.model, data, device=self.device,
                                    cache=self.cache, cache_dir=self.cache_dir, progress=self.progress)
            self.feats[split] = (f.to(self.device), y.to(self.device))
        return self.feats[split]

    # --- the epochs
    def loop(self) -> None:
        from tqdm.auto import tqdm

        bar = tqdm(total=self.epochs, initial=self.done, desc=f"{self.strategy}", disable=not self.progress)
        # the weights at the end of the last complete epoch: where a diverged or interrupted run returns
        last_good = _clone_state(self.model)
        try:
            for epoch in range(self.done + 1, self.epochs + 1):
                if self.stopped:
                    break
                phase = self._phase_of(epoch)
                if phase != self.phase:
                    # parameters that were frozen may train from now on: snapshots must own them
                    last_good = _materialize(last_good)
                    self.best["state"] = _materialize(self.best["state"])
                    self._enter(phase)
                self.rows.append(self._train_epoch(epoch, last_good))
                last_good = _clone_state(self.model)
                if self.val is not None:
                    val_row = self._validate(epoch)
                    self.rows.append(val_row)
                    self._track_best(epoch, val_row, last_good)
                else:
                    self.best.update(epoch=epoch)
                self.done = epoch
                self._sync_history()
                if self.checkpoint is not None:
                    self.save(self.checkpoint)
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in self.rows[-1].items() if k in ("loss", "accuracy")})
                for cb in self.callbacks:
                    if cb(epoch, self.history) is True:
                        self.stopped = True
        except KeyboardInterrupt:
            self.interrupted = True
            if self.best["state"] is None:  # no validation: the last complete epoch is the best known
                self.model.load_state_dict(last_good)
        finally:
            bar.close()
        if self.best["state"] is not None:
            self.model.load_state_dict(self.best["state"])
        self._sync_history()

    def _track_best(self, epoch: int, row: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
        acc, loss = row["accuracy"], row["loss"]
        b = self.best
        if b["accuracy"] is None or acc > b["accuracy"] or (acc == b["accuracy"] and loss < b["loss"]):
            self.best = {"accuracy": acc, "loss": loss, "epoch": epoch, "state": state}
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
            if self.patience is not None and self.bad_epochs >= self.patience:
                self.stopped = True
                self.history.stopped_early = True

    def _sync_history(self) -> None:
        h = self.history
        h.frame = pd.DataFrame(self.rows) if self.rows else h.frame
        h.best_epoch = self.best["epoch"]
        h.best_accuracy = self.best["accuracy"]
        h.interrupted = self.interrupted

    def _batches(self, epoch: int) -> tuple[int, Any]:
        if self.phase.features:
            f, y = self._features("train")
            n = len(y)
            g = torch.Generator().manual_seed(self.seed * 100_003 + epoch - 1)  # as BatchLoader shuffles
            order = torch.randperm(n, generator=g).to(self.device)
            starts = range(0, n, self.batch_size)
            return len(starts), ((f[order[s:s + self.batch_size]], y[order[s:s + self.batch_size]]) for s in starts)
        loader = self.train.loader(self.batch_size, shuffle=True, seed=self.seed, device=self.device)
        loader.epoch = epoch - 1  # the shuffle depends on the epoch only, so a resumed run sees the same order
        return len(loader), iter(loader)

    def _train_epoch(self, epoch: int, last_good: dict[str, torch.Tensor]) -> dict[str, Any]:
        from tqdm.auto import tqdm

        model, opt = self.model, self.opt
        model.train()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t0 = time.perf_counter()
        if isinstance(opt, torch.optim.LBFGS):
            return self._lbfgs_epoch(epoch, t0)
        features = self.phase.features
        forward = model.head if features else model
        n_steps, batches = self._batches(epoch)
        total = (self.phase.last - self.phase.first + 1) * n_steps
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = taken = 0
        factors = 0.0
        pending: list[torch.Tensor] = []
        check_every = 1 if self.device.type == "cpu" else 16  # each check waits for the GPU
        params = [p for g in opt.param_groups for p in g["params"]]
        inner = tqdm(batches, total=n_steps, desc=f"epoch {epoch}", leave=False, disable=not self.progress)
        b = 0
        for b, (x, y) in enumerate(inner):
            if len(y) == 1 and n_steps > 1 and not features:
                continue  # a lone last example breaks BatchNorm in train mode
            factor = _lr_factor(self.schedule, self.phase_step, total, self.warmup)
            for g in opt.param_groups:
                g["lr"] = self.lr * g.get("lr_mult", 1.0) * factor
            if not features:
                x = to_model_input(x, channels_last=self.channels_last_train)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp and not features):
                out = forward(x)
            loss = F.cross_entropy(out.float(), y, label_smoothing=self.label_smoothing)
            pending.append(loss.detach())
            if len(pending) >= check_every:
                self._check_finite(pending, epoch, b, self.step + 1, last_good)
                pending = []
            opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.max_grad_norm is not None:
                self.scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            self.scaler.step(opt)
            self.scaler.update()
            loss_sum += loss.detach() * len(y)
            correct += (out.detach().argmax(1) == y).sum()
            seen += len(y)
            taken += 1
            factors += factor
            self.step += 1
            self.phase_step += 1
        if pending:
            self._check_finite(pending, epoch, b, self.step, last_good)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - t0
        return self._row(epoch, "train", float(loss_sum) / max(1, seen), float(correct) / max(1, seen), seconds,
                         factors / max(1, taken))

    def _lbfgs_epoch(self, epoch: int, t0: float) -> dict[str, Any]:
        f, y = self._features("train")
        head, opt = self.model.head, self.opt
        head.eval()  # a line search needs the same function at every evaluation: no dropout
        wd = 1e-3 if self.weight_decay is None else self.weight_decay

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(head(f), y, label_smoothing=self.label_smoothing)
            if wd:
                loss = loss + 0.5 * wd * sum((p * p).sum() for p in head.parameters() if p.requires_grad)
            loss.backward()
            return loss

        opt.step(closure)
        self.step += 1
        with torch.no_grad():
            out = head(f)
            loss = F.cross_entropy(out, y)
        if not torch.isfinite(loss):
            raise TrainingDivergedError(f"The training loss became {float(loss)} in epoch {epoch} (L-BFGS, lr "
                                        f"{self.lr:g}). Lower lr (for example lr={self.lr / 10:g}).")
        return self._row(epoch, "train", float(loss), float((out.argmax(1) == y).float().mean()),
                         time.perf_counter() - t0, 1.0)

    def _check_finite(self, pending: list[torch.Tensor], epoch: int, last_batch: int, last_step: int,
                      last_good: dict[str, torch.Tensor]) -> None:
        """Raise when a pending loss is not finite; ``last_*`` number the last pending one (steps from 1)."""
        losses = torch.stack(pending)
        bad = ~torch.isfinite(losses)
        if not bool(bad.any()):
            return
        first = int(bad.nonzero()[0])
        back = len(pending) - 1 - first
        step, batch = last_step - back, last_batch - back
        lrs = ", ".join(f"{g.get('name', i)} {g['lr']:.3g}" for i, g in enumerate(self.opt.param_groups))
        self.model.load_state_dict(last_good)
        self._sync_history()
        where = f"the end of epoch {epoch - 1}" if epoch > 1 else "the start of training"
        err = TrainingDivergedError(
            f"The training loss became {float(losses[first])} at step {step} (epoch {epoch}, batch {batch + 1}) "
            f"with learning rate {lrs}. The model is back at its weights from {where}. Lower lr (for example "
            f"lr={self.lr / 10:g}) or pass max_grad_norm=1.0.")
        err.history = self.history  # type: ignore[attr-defined]
        raise err

    def _validate(self, epoch: int) -> dict[str, Any]:
        model = self.model
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        model.eval()
        with torch.no_grad():
            if self.phase.features:
                f, y = self._features("val")
                batches = ((f[s:s + 4096], y[s:s + 4096]) for s in range(0, len(y), 4096))
                forward = model.head
            else:
                batches = iter(self.val.loader(inference_batch_size(self.device), device=self.device))
                forward = model
            for x, y in batches:
                if not self.phase.features:
                    x = to_model_input(x, channels_last=self.channels_last_eval)
                with torch.autocast(self.device.type, dtype=self.amp_dtype,
                                    enabled=self.amp and not self.phase.features):
                    out = forward(x)
                loss_sum += F.cross_entropy(out.float(), y, reduction="sum")
                correct += (out.argmax(1) == y).sum()
        model.train()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        n = len(self.val)
        return self._row(epoch, "val", float(loss_sum) / n, float(correct) / n, time.perf_counter() - t0, None)

    def _row(self, epoch: int, split: str, loss: float, accuracy: float, seconds: float,
             factor: float | None) -> dict[str, Any]:
        row: dict[str, Any] = {"epoch": epoch, "split": split, "loss": loss, "accuracy": accuracy,
                               "lr": self.lr * factor if factor is not None else float("nan")}
        if self.lr_columns:
            active = {g["name"]: g.get("lr_mult", 1.0) for g in self.opt.param_groups}
            for g in self.model.groups:
                ok = factor is not None and g in active
                row[f"lr_{g}"] = self.lr * active[g] * factor if ok else float("nan")
        row.update(seconds=seconds, trainable_params=self.trainable)
        return row

    # --- checkpoints
    def save(self, path: Path) -> None:
        cuda_rng = [torch.cuda.get_rng_state(self.device)] if self.device.type == "cuda" else []
        save_state_dict({
            "format": _CHECKPOINT_FORMAT, "config": self.config, "epoch": self.done, "step": self.step,
            "phase_step": self.phase_step, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
            "scheduler": {"schedule": self.schedule, "phase_step": self.phase_step, "warmup": self.warmup},
            "scaler": self.scaler.state_dict(), "phases": [p.to_state() for p in self.phases],
            "history": self.rows, "best": self.best, "bad_epochs": self.bad_epochs,
            "stopped": self.stopped, "rng": {"cpu": torch.get_rng_state(), "cuda": cuda_rng},
        }, path)

    def load(self, path: Path) -> None:
        ck = load_state_dict(path, what="checkpoint")
        if ck.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(f"The checkpoint {str(path)!r} has format {ck.get('format')!r}; this version reads "
                             f"{_CHECKPOINT_FORMAT}. Start a new run without resume.")
        old = ck["config"]
        for key in ("strategy", "model"):
            if old[key] != self.config[key]:
                raise ValueError(f"The checkpoint {str(path)!r} was written with {key}={old[key]!r}, not "
                                 f"{self.config[key]!r}. Resume with the same {key}, or start without resume.")
        changed = [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in self.config.items() if old.get(k) != v]
        if changed:
            warnings.warn(f"Resuming {str(path)!r} with other settings ({'; '.join(changed)}); the result will "
                          "differ from an uninterrupted run.", UserWarning, stacklevel=3)
        self.phases = [_Phase(p["first"], p["last"], frozenset(p["names"]), p["features"]) for p in ck["phases"]]
        self.model.load_state_dict(ck["model"])
        self.done, self.step = ck["epoch"], ck["step"]
        self.rows, self.best, self.bad_epochs, self.stopped = ck["history"], ck["best"], ck["bad_epochs"], ck["stopped"]
        if self.best["state"] is not None:
            self.best["state"] = {k: v.to(self.device) for k, v in self.best["state"].items()}
        self.history.stopped_early = bool(ck["stopped"]) and self.patience is not None
        if self.done >= 1:
            self._enter(self._phase_of(self.done))
            self.opt.load_state_dict(ck["optimizer"])
            self.phase_step = ck["phase_step"]
        if ck["scaler"]:
            self.scaler.load_state_dict(ck["scaler"])
        torch.set_rng_state(ck["rng"]["cpu"])
        if ck["rng"]["cuda"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(ck["rng"]["cuda"][0], self.device)
        self._sync_history()
