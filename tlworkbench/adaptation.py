"""Unsupervised domain adaptation: a model trained on a source domain, adapted to unlabelled target data.

Two methods, each starting from a :class:`~tlworkbench.zoo.TransferModel` trained on the source:

* :func:`adapt_batchnorm` (AdaBN; Li et al., 2016): keep every weight, re-estimate the BatchNorm
  running statistics on the target images. No labels and no gradient step; one pass over the
  target. It undoes shifts of intensity and contrast that the first layers turn into shifted
  activation statistics; it cannot undo a change of shape. It needs BatchNorm layers (the
  small CNNs, the ResNets and the EfficientNets of the zoo have them).
* :func:`fit_deep_coral` (Deep CORAL; Sun & Saenko, 2016): train on labelled source batches with
  the cross-entropy plus a CORAL term, the distance between the covariances of the source and
  target batch features (:func:`coral_loss`), so that the backbone learns features whose
  second-order statistics agree across the domains.

Deep CORAL is written here rather than taken from a domain-adaptation library: it is a few lines
on top of a :class:`~tlworkbench.zoo.TransferModel` (the loss reads the backbone's pooled
features, or the head's logits, through the model's own ``backbone``/``head`` split), it reads the
workbench's in-memory data sets and their transforms directly, and it adds no dependency.

References:
    Y. Li, N. Wang, J. Shi, J. Liu, X. Hou. "Revisiting Batch Normalization For Practical Domain
    Adaptation." ICLR Workshop 2017 (arXiv:1603.04779, 2016).
    B. Sun, K. Saenko. "Deep CORAL: Correlation Alignment for Deep Domain Adaptation." ECCV 2016
    Workshops (arXiv:1607.01719).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .config import Profile, get_device, get_profile, use_amp
from .errors import DataError, TrainingDivergedError
from .features import prepare_data
from .training import History
from .zoo import TransferModel

__all__ = ["coral_loss", "batchnorm_layers", "adapt_batchnorm", "fit_deep_coral", "CORAL_LAYERS"]

#: Where :func:`fit_deep_coral` aligns the two domains: the backbone's pooled features or the logits.
CORAL_LAYERS = ("features", "logits")


def _check_model(model: Any, func: str) -> TransferModel:
    if not isinstance(model, TransferModel):
        raise TypeError(f"The 'model' parameter of {func} must be a TransferModel from tlw.load_model. "
                        f"Got {type(model).__name__} instead.")
    return model


def _check_positive_int(value: Any, param: str, func: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"The {param!r} parameter of {func} must be an int >= {minimum}. Got {value!r} instead.")
    return value


def _check_positive_float(value: Any, param: str, func: str, *, allow_zero: bool = False) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value >= 0 if allow_zero else value > 0))
    if not ok:
        what = "a finite number >= 0" if allow_zero else "a positive finite number"
        raise ValueError(f"The {param!r} parameter of {func} must be {what}. Got {value!r} instead.")
    return float(value)


# --- the CORAL loss ------------------------------------------------------------------------------


def _covariance(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(dim=0, keepdim=True)
    return centred.T @ centred / (len(x) - 1)


def coral_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The CORAL loss ``||C_s - C_t||_F^2 / (4 d^2)`` between two batches of features.

    ``C`` is the unbiased (``n - 1``) covariance of a batch ``(n, d)``, as in Sun & Saenko (2016)
    and :func:`tlworkbench.diagnostics.coral_distance`; the loss is differentiable in both batches.

    Args:
        source: source features ``(n, d)``, ``n >= 2``.
        target: target features ``(m, d)``, ``m >= 2``.

    Returns:
        A scalar tensor (float32).

    Raises:
        DataError: a batch is not 2-D, has fewer than 2 rows, or the widths differ.

    Example:
        >>> a = torch.tensor([[0.0], [2.0]])
        >>> float(coral_loss(a, 2 * a))
        9.0
    """
    for name, x in (("source", source), ("target", target)):
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or len(x) < 2:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise DataError(f"The {name!r} parameter of coral_loss must be a (n, d) tensor with n >= 2. "
                            f"Got {shape} instead.")
    if source.shape[1] != target.shape[1]:
        raise DataError(f"coral_loss needs features of one width; got {source.shape[1]} (source) and "
                        f"{target.shape[1]} (target).")
    d = source.shape[1]
    diff = _covariance(source.float()) - _covariance(target.float())
    return (diff * diff).sum() / (4.0 * d * d)


# --- AdaBN --------------------------------------------------------------------------------------


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``model`` that keep running statistics, in order."""
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def adapt_batchnorm(model: TransferModel, data: Any, *, batch_size: int = 256,
                    device: str | torch.device | None = None, progress: bool = False) -> TransferModel:
    """AdaBN: replace every BatchNorm layer's running statistics by those of ``data`` (in place).

    The statistics are reset, then re-estimated in one pass over ``data`` as in training: each
    batch is normalised with its own statistics, and each layer's running mean and variance become
    the plain average of the batches' (momentum ``None``). Every other layer stays in eval mode
    (dropout off) and no weight changes. Labels are not read: pass the target's unlabelled
    training images. To keep the source model, adapt a copy (``copy.deepcopy(model)``).

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel` with BatchNorm layers.
        data: target images (a data set from :func:`~tlworkbench.datasets.load_dataset` or
            :func:`~tlworkbench.shifts.shift_dataset`); one without a transform is read through the
            model's.
        batch_size: images per forward pass; larger batches give statistics closer to those of
            the whole set.
        device: where to run (default: where the model is).
        progress: show a progress bar.

    Returns:
        The model, in eval mode.

    Raises:
        TypeError: ``model`` is not a TransferModel.
        ValueError: the model has no BatchNorm layer with running statistics, or a bad ``batch_size``.
        DataError: the data is empty or does not fit the model.

    Example:
        >>> adapted = adapt_batchnorm(copy.deepcopy(model), target_train)   # doctest: +SKIP
        >>> tlw.evaluate(adapted, target_test).accuracy                      # doctest: +SKIP
    """
    func = "adapt_batchnorm"
    model = _check_model(model, func)
    batch_size = _check_positive_int(batch_size, "batch_size", func)
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"{model.name!r} has no BatchNorm layer with running statistics, so {func} (AdaBN) has "
                         "nothing to re-estimate. Use a model with BatchNorm, such as 'small_cnn'.")
    data = prepare_data(model, data, param="data")
    if device is None:
        device = next(model.parameters()).device
    else:
        device = get_device(device)
        model.to(device)
    momenta = [m.momentum for m in layers]
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: every batch counts the same
        m.train()
    from tqdm.auto import tqdm

    try:
        for x, _ in tqdm(data.loader(batch_size, shuffle=False, device=device), desc="AdaBN", leave=False,
                         disable=not progress):
            model.backbone(x)
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()
    return model


# --- Deep CORAL ---------------------------------------------------------------------------------


def _cycle(loader: Any) -> Iterator[tuple[Any, torch.Tensor]]:
    while True:
        yield from loader


def _cosine(step: int, total: int) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * step / max(1, total)))


def fit_deep_coral(model: TransferModel, source: Any, target: Any, *, epochs: int = 2, lr: float = 1e-3,
                   coral_weight: float = 1.0, layer: str = "features", batch_size: int | None = None,
                   weight_decay: float = 0.01, seed: int = 0, device: str | torch.device | None = None,
                   progress: bool = True, profile: str | Profile | None = None) -> History:
    """Deep CORAL: train on labelled source data while aligning source and target feature covariances.

    Each step reads a source batch (with labels) and a target batch (labels never read) and runs
    them through the model as one batch, so that BatchNorm normalises both domains with shared
    statistics (its running statistics become a mix of the two), then minimises::

        cross_entropy(source logits, source labels) + coral_weight * coral_loss(z_source, z_target)

    where ``z`` is the backbone's pooled features (``layer="features"``) or the logits
    (``layer="logits"``, the last layer as in Sun & Saenko). With ``coral_weight=0`` the same loop
    trains on the source alone while BatchNorm still sees target batches: the baseline that tells
    what the CORAL term itself adds.

    An epoch is one pass over the target data; the source batches cycle. AdamW with a cosine decay
    of ``lr`` over all steps trains every parameter that requires a gradient. Start from a model
    trained on the source (fine-tuning it, as in the paper); no target label is used, so the
    weights of the last step are kept.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel` whose head outputs the source classes.
        source: labelled source data set.
        target: target data set (its labels are not used).
        epochs: passes over the target data.
        lr: peak learning rate.
        coral_weight: weight of the CORAL term (0 trains on the source alone, for comparison).
        layer: ``"features"`` or ``"logits"``.
        batch_size: examples per domain per step (default: the profile's).
        weight_decay: AdamW weight decay.
        seed: seeds the shuffles of both domains and dropout; the global RNG is left as it was.
        device: where to train (default: :func:`~tlworkbench.config.get_device`).
        progress: a progress bar over the steps.
        profile: run profile for the default batch size.

    Returns:
        A :class:`~tlworkbench.training.History` (strategy ``"deep_coral"``) with one ``train`` row
        per epoch: ``loss`` (the total), ``accuracy`` (on the source batches), ``coral`` (the CORAL
        term, unweighted), ``lr``, ``seconds`` and ``trainable_params``. The model is left in eval mode.

    Raises:
        TypeError: ``model`` is not a TransferModel.
        ValueError: a bad ``epochs``, ``lr``, ``coral_weight``, ``layer`` or ``batch_size``, or no
            trainable parameter.
        DataError: a data set is empty, has fewer than 2 examples, or does not fit the model.
        TrainingDivergedError: the loss became NaN or infinite.

    Example:
        >>> model = tlw.load_model("small_cnn", weights="tlw:font_digits")        # doctest: +SKIP
        >>> fit_deep_coral(model, fonts_train, mnist_train, epochs=2)            # doctest: +SKIP
        >>> tlw.evaluate(model, mnist_test).accuracy                             # doctest: +SKIP
    """
    func = "fit_deep_coral"
    model = _check_model(model, func)
    epochs = _check_positive_int(epochs, "epochs", func)
    lr = _check_positive_float(lr, "lr", func)
    coral_weight = _check_positive_float(coral_weight, "coral_weight", func, allow_zero=True)
    weight_decay = _check_positive_float(weight_decay, "weight_decay", func, allow_zero=True)
    if layer not in CORAL_LAYERS:
        raise ValueError(f"The 'layer' parameter of {func} must be one of {CORAL_LAYERS}. Got {layer!r} instead.")
    batch_size = _check_positive_int(get_profile(profile).batch_size if batch_size is None else batch_size,
                                     "batch_size", func, minimum=2)
    source = prepare_data(model, source, param="source")
    target = prepare_data(model, target, param="target")
    for name, ds in (("source", source), ("target", target)):
        if len(ds) < 2:
            raise DataError(f"The {name!r} data set of {func} needs at least 2 examples (a covariance); "
                            f"{getattr(ds, 'name', name)!r} has {len(ds)}.")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"Every parameter of {model.name!r} is frozen, so {func} has nothing to train. "
                         "Unfreeze groups first (tlw.unfreeze(model)).")
    trainable = sum(p.numel() for p in params)
    device = get_device(device)
    model.to(device)
    amp = use_amp(device)
    # both domains need full batches: the last, smaller one of an epoch is dropped
    bs_src, bs_tgt = min(batch_size, len(source)), min(batch_size, len(target))
    src_loader = source.loader(bs_src, shuffle=True, seed=seed, device=device, drop_last=True)
    tgt_loader = target.loader(bs_tgt, shuffle=True, seed=seed + 7919, device=device, drop_last=True)
    steps = len(tgt_loader)
    total = epochs * steps
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    rows: list[dict[str, Any]] = []
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="Deep CORAL", disable=not progress)
    try:
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(int(seed))
            opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
            src_batches = _cycle(src_loader)
            step = 0
            for epoch in range(1, epochs + 1):
                model.train()
                t0 = time.perf_counter()
                sums = {"loss": 0.0, "coral": 0.0, "correct": 0, "seen": 0, "lr": 0.0}
                for xt, _ in tgt_loader:
                    xs, ys = next(src_batches)
                    factor = _cosine(step, total)
                    for g in opt.param_groups:
                        g["lr"] = lr * factor
                    with torch.autocast(device.type, enabled=amp):
                        feats = model.backbone(torch.cat([xs, xt]))
                        logits = model.head(feats)
                    z = (feats if layer == "features" else logits).float()
                    ns = len(ys)
                    ce = F.cross_entropy(logits[:ns].float(), ys)
                    coral = coral_loss(z[:ns], z[ns:])
                    loss = ce + coral_weight * coral
                    if not torch.isfinite(loss):
                        raise TrainingDivergedError(
                            f"The Deep CORAL loss became {float(loss)} at step {step + 1} (epoch {epoch}) with lr "
                            f"{lr * factor:.3g}. Lower lr (for example lr={lr / 10:g}) or coral_weight.")
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    step += 1
                    sums["loss"] += float(loss.detach()) * ns
                    sums["coral"] += float(coral.detach()) * ns
                    sums["correct"] += int((logits[:ns].argmax(1) == ys).sum())
                    sums["seen"] += ns
                    sums["lr"] += lr * factor
                    bar.update(1)
                seen = max(1, sums["seen"])
                rows.append({"epoch": epoch, "split": "train", "loss": sums["loss"] / seen,
                             "accuracy": sums["correct"] / seen, "coral": sums["coral"] / seen,
                             "lr": sums["lr"] / max(1, steps), "seconds": time.perf_counter() - t0,
                             "trainable_params": trainable})
    finally:
        bar.close()
        model.eval()
    return History("deep_coral", pd.DataFrame(rows), best_epoch=epochs if rows else None)
