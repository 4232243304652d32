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
  second-order statistics agree across the domains. It is a loss hook, :class:`DeepCoralLoss`,
  run by :func:`~tlworkbench.training.fit`, which keeps the optimizer, the schedule, mixed
  precision, the divergence checks and checkpoints.

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

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_choice, check_float, check_int, check_type, param_error
from .config import Profile, get_device, get_profile, resolve_progress
from .errors import DataError, InvalidParameterError
from .features import prepare_data, to_model_input
from .training import History, StepContext, StepOutput, TrainingLoss, fit
from .zoo import TransferModel

__all__ = ["coral_loss", "batchnorm_layers", "adapt_batchnorm", "DeepCoralLoss", "fit_deep_coral", "CORAL_LAYERS"]

#: Where Deep CORAL aligns the two domains: the backbone's pooled features or the logits.
CORAL_LAYERS = ("features", "logits")

_MODEL = "a TransferModel from tlw.load_model"


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
                    device: str | torch.device | None = None, progress: bool | None = None) -> TransferModel:
    """AdaBN: replace every BatchNorm layer's running statistics by those of ``data`` (in place).

    The statistics are reset, then re-estimated in one pass over ``data`` as in training: each
    batch is normalised with its own statistics, and each layer's running mean and variance become
    the plain average of the batches' (momentum ``None``). Every other layer stays in eval mode
    (dropout off) and no weight changes. Labels are not read: pass the target's unlabelled
    training images. To keep the source model, adapt a copy (``copy.deepcopy(model)``).

    PyTorch's :func:`torch.optim.swa_utils.update_bn` does the same reset and cumulative average
    but switches the whole network to train mode, so dropout and stochastic depth (torchvision's
    EfficientNets and ConvNeXts have it inside the backbone) would perturb the very activations
    whose statistics are measured: on EfficientNet-B0 the running variances it gives differ from
    this pass by up to 38 %, on a ResNet-18 (no such layer) they agree exactly. AdaBN wants the
    statistics of the network as it runs at inference, hence this short pass of its own.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel` with BatchNorm layers.
        data: target images (a data set from :func:`~tlworkbench.data.load_dataset` or
            :func:`~tlworkbench.data.shifts.shift_dataset`); one without a transform is read through the
            model's.
        batch_size: images per forward pass; larger batches give statistics closer to those of
            the whole set.
        device: where to run (default: where the model is).
        progress: show a progress bar (``None``: in Jupyter only).

    Returns:
        The model, in eval mode.

    Raises:
        InvalidParameterError: ``model`` is not a TransferModel, has no BatchNorm layer with
            running statistics, or a bad ``batch_size``.
        DataError: the data is empty or does not fit the model.

    Example:
        >>> adapted = adapt_batchnorm(copy.deepcopy(model), target_train)   # doctest: +SKIP
        >>> tlw.evaluate(adapted, target_test).accuracy                      # doctest: +SKIP
    """
    func = "adapt_batchnorm"
    check_type(model, "model", func, TransferModel, _MODEL)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    progress = resolve_progress(progress)
    layers = batchnorm_layers(model)
    if not layers:
        raise param_error("model", func, "a model with BatchNorm layers", model.name,
                          hint=f"{model.name!r} has no BatchNorm layer with running statistics, so AdaBN has "
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


class DeepCoralLoss(TrainingLoss):
    """Deep CORAL as a loss hook of :func:`~tlworkbench.training.fit`.

    Each step reads the labelled source batch that ``fit`` gives and the next batch of ``target``
    (labels never read) and runs both through the model as one batch, so that BatchNorm
    normalises both domains with shared statistics (its running statistics become a mix of the
    two); the loss is::

        cross_entropy(source logits, source labels) + weight * coral_loss(z_source, z_target)

    where ``z`` is the backbone's pooled features (``layer="features"``) or the logits
    (``layer="logits"``). An epoch is one pass over the target's full batches; the source batches
    cycle. The history gets a ``coral`` column (the term, unweighted).

    Args:
        target: target data set, ready for the model (see :func:`~tlworkbench.features.prepare_data`),
            with at least 2 examples.
        weight: weight of the CORAL term (0 trains on the source alone while BatchNorm still sees
            target batches).
        layer: ``"features"`` or ``"logits"``.
    """

    def __init__(self, target: Any, *, weight: float = 1.0, layer: str = "features") -> None:
        self.target = target
        self.weight = check_float(weight, "weight", "DeepCoralLoss", minimum=0.0)
        self.layer = check_choice(layer, "layer", "DeepCoralLoss", CORAL_LAYERS, error=InvalidParameterError)

    def start(self, context: StepContext) -> None:
        super().start(context)
        # both domains need full batches: the last, smaller one of an epoch is dropped
        size = min(context.batch_size, len(self.target))
        self.loader = self.target.loader(size, shuffle=True, seed=context.seed + 7919, device=context.device,
                                         drop_last=True)

    def steps_per_epoch(self) -> int:
        return len(self.loader)

    def start_epoch(self, epoch: int) -> None:
        self.loader.epoch = epoch - 1  # the target's shuffle depends on the epoch only, as on resume
        self.batches = iter(self.loader)

    def __call__(self, model: nn.Module, x: Any, y: torch.Tensor) -> StepOutput:
        xt, _ = next(self.batches)
        feats = model.backbone(to_model_input(torch.cat([x, xt]), channels_last=self.context.channels_last))
        logits = model.head(feats)
        ns = len(y)
        with torch.autocast(feats.device.type, enabled=False):  # covariances in float32
            z = (feats if self.layer == "features" else logits).float()
            ce = F.cross_entropy(logits[:ns].float(), y, label_smoothing=self.context.label_smoothing)
            coral = coral_loss(z[:ns], z[ns:])
        return StepOutput(ce + self.weight * coral, logits[:ns], {"coral": coral.detach()})


def fit_deep_coral(model: TransferModel, source: Any, target: Any, *, epochs: int = 2, lr: float = 1e-3,
                   coral_weight: float = 1.0, layer: str = "features", batch_size: int | None = None,
                   weight_decay: float = 0.01, seed: int = 0, device: str | torch.device | None = None,
                   progress: bool | None = None, profile: str | Profile | None = None,
                   checkpoint: str | os.PathLike | None = None,
                   resume: bool | str | os.PathLike = False) -> History:
    """Deep CORAL: train on labelled source data while aligning source and target feature covariances.

    :func:`~tlworkbench.training.fit` trains every parameter that requires a gradient
    (``strategy="fine_tune"``) with AdamW and a cosine decay of ``lr`` over all steps, no
    warm-up, and :class:`DeepCoralLoss` as its loss. With ``coral_weight=0`` the same run trains
    on the source alone while BatchNorm still sees target batches: the baseline that tells what
    the CORAL term itself adds. Start from a model trained on the source (fine-tuning it, as in
    the paper); no target label is used, so the weights of the last step are kept.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel` whose head outputs the source classes.
        source: labelled source data set.
        target: target data set (its labels are not used).
        epochs: passes over the target data (the source batches cycle).
        lr: peak learning rate.
        coral_weight: weight of the CORAL term (0 trains on the source alone, for comparison).
        layer: ``"features"`` or ``"logits"``.
        batch_size: examples per domain per step (default: the profile's).
        weight_decay: AdamW weight decay.
        seed: seeds the shuffles of both domains and dropout; the global RNG is left as it was.
        device: where to train (default: :func:`~tlworkbench.config.get_device`).
        progress: progress bars (``None``: in Jupyter only).
        profile: run profile for the default batch size.
        checkpoint: a file written atomically after each epoch.
        resume: a checkpoint to continue from, or ``True`` for ``checkpoint`` when it exists.

    Returns:
        A :class:`~tlworkbench.training.History` (strategy ``"deep_coral"``) with one ``train`` row
        per epoch: ``loss`` (the total), ``accuracy`` (on the source batches), ``coral`` (the CORAL
        term, unweighted), ``lr``, ``seconds`` and ``trainable_params``. The model is left in eval mode.

    Raises:
        InvalidParameterError: ``model`` is not a TransferModel, a bad ``epochs``, ``lr``,
            ``coral_weight``, ``layer`` or ``batch_size``, or no trainable parameter.
        DataError: a data set is empty, has fewer than 2 examples, or does not fit the model.
        TrainingDivergedError: the loss became NaN or infinite.

    Example:
        >>> model = tlw.load_model("small_cnn", weights="tlw:font_digits")        # doctest: +SKIP
        >>> fit_deep_coral(model, fonts_train, mnist_train, epochs=2)            # doctest: +SKIP
        >>> tlw.evaluate(model, mnist_test).accuracy                             # doctest: +SKIP
    """
    func = "fit_deep_coral"
    check_type(model, "model", func, TransferModel, _MODEL)
    epochs = check_int(epochs, "epochs", func, minimum=1)
    lr = check_float(lr, "lr", func, minimum=0.0, include_min=False)
    coral_weight = check_float(coral_weight, "coral_weight", func, minimum=0.0)
    weight_decay = check_float(weight_decay, "weight_decay", func, minimum=0.0)
    layer = check_choice(layer, "layer", func, CORAL_LAYERS, error=InvalidParameterError)
    batch_size = check_int(get_profile(profile).batch_size if batch_size is None else batch_size,
                           "batch_size", func, minimum=2)
    source = prepare_data(model, source, param="source")
    target = prepare_data(model, target, param="target")
    for name, ds in (("source", source), ("target", target)):
        if len(ds) < 2:
            raise DataError(f"The {name!r} data set of {func} needs at least 2 examples (a covariance); "
                            f"{getattr(ds, 'name', name)!r} has {len(ds)}.")
    if not any(p.requires_grad for p in model.parameters()):
        raise param_error("model", func, "a model with trainable parameters", model.name,
                          hint="Every parameter is frozen, so there is nothing to train. Unfreeze groups first "
                               "(tlw.unfreeze(model)).")
    history = fit(model, source, strategy="fine_tune", epochs=epochs, lr=lr, batch_size=batch_size,
                  optimizer="adamw", weight_decay=weight_decay, schedule="cosine", warmup=0.0, seed=seed,
                  device=device, progress=progress, checkpoint=checkpoint, resume=resume, min_steps=0,
                  loss=DeepCoralLoss(target, weight=coral_weight, layer=layer))
    history.strategy = "deep_coral"
    return history
