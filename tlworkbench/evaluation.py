"""Evaluation: predictions, per-example losses and the metrics computed from them.

:func:`evaluate` runs any classifier over a data set once and keeps everything a notebook asks
afterwards (accuracy, balanced accuracy, macro-F1, a per-class table, the confusion matrix, the
examples it gets most wrong), so no second pass is needed. The model and the data are duck-typed:
a module that maps a batch to logits, and a data set with ``get_batch``/``loader`` (or a pair of
tensors, or an iterable of ``(x, y)`` batches).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_int, param_error
from .config import get_device, use_amp
from .errors import DataError

__all__ = ["Evaluation", "evaluate", "evaluate_features", "evaluation_from_logits"]


@dataclass(eq=False)
class Evaluation:
    """Predictions of a classifier on a data set, with the metrics computed from them.

    Attributes:
        y_true: true labels ``(N,)``.
        y_pred: predicted labels ``(N,)``.
        probabilities: softmax outputs ``(N, C)``.
        loss: per-example cross-entropy ``(N,)``.
        classes: the class names, index = label.
        name: the data set's name.
        accuracy: fraction of correct predictions.
        balanced_accuracy: mean recall over the classes present in ``y_true``.
        macro_f1: unweighted mean F1 over all classes.
        per_class: one row per class: ``class``, ``support``, ``accuracy`` (the recall),
            ``precision``, ``f1``.
        confusion: the confusion matrix ``(C, C)``, rows true, columns predicted.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray
    loss: np.ndarray
    classes: list[str]
    name: str = ""
    accuracy: float = field(init=False)
    balanced_accuracy: float = field(init=False)
    macro_f1: float = field(init=False)
    per_class: pd.DataFrame = field(init=False, repr=False)
    confusion: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from sklearn import metrics

        labels = np.arange(len(self.classes))
        self.accuracy = float(metrics.accuracy_score(self.y_true, self.y_pred))
        with warnings.catch_warnings():
            # classes predicted but absent from y_true are expected on small test sets
            warnings.simplefilter("ignore", UserWarning)
            self.balanced_accuracy = float(metrics.balanced_accuracy_score(self.y_true, self.y_pred))
        self.macro_f1 = float(metrics.f1_score(self.y_true, self.y_pred, labels=labels, average="macro",
                                               zero_division=0))
        precision, recall, f1, support = metrics.precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=labels, zero_division=0)
        self.per_class = pd.DataFrame({"class": self.classes, "support": support.astype(int),
                                       "accuracy": recall, "precision": precision, "f1": f1})
        self.confusion = metrics.confusion_matrix(self.y_true, self.y_pred, labels=labels)

    def __repr__(self) -> str:
        return (f"Evaluation({self.name!r}, n={len(self.y_true)}, accuracy={self.accuracy:.4f}, "
                f"balanced_accuracy={self.balanced_accuracy:.4f}, macro_f1={self.macro_f1:.4f})")

    @property
    def mean_loss(self) -> float:
        """Mean cross-entropy over the examples."""
        return float(self.loss.mean())

    def worst(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` examples with the highest loss, highest first.

        Returns:
            Columns ``index`` (position in the data set), ``y_true``, ``y_pred``, ``true``,
            ``pred`` (class names), ``loss`` and ``confidence`` (probability of the prediction).
        """
        k = check_int(k, "k", "Evaluation.worst", minimum=1)
        order = np.argsort(-self.loss, kind="stable")[:k]
        names = np.asarray(self.classes, dtype=object)
        return pd.DataFrame({
            "index": order, "y_true": self.y_true[order], "y_pred": self.y_pred[order],
            "true": names[self.y_true[order]], "pred": names[self.y_pred[order]], "loss": self.loss[order],
            "confidence": self.probabilities[order, self.y_pred[order]],
        })

    def summary(self) -> pd.DataFrame:
        """One row: ``data``, ``n``, ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``loss``."""
        return pd.DataFrame([{"data": self.name, "n": len(self.y_true), "accuracy": self.accuracy,
                              "balanced_accuracy": self.balanced_accuracy, "macro_f1": self.macro_f1,
                              "loss": self.mean_loss}])


def evaluation_from_logits(logits: torch.Tensor, labels: torch.Tensor, *, classes: Sequence[str] | None = None,
                           name: str = "") -> Evaluation:
    """An :class:`Evaluation` from logits ``(N, C)`` and labels ``(N,)``.

    Raises:
        DataError: no examples, or labels outside ``[0, C)``.
    """
    logits = logits.detach().float().cpu()
    labels = torch.as_tensor(labels).long().cpu()
    n_out = logits.shape[1]
    _check_labels(labels, n_out, name)
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n_out)]
    if len(names) < n_out:
        names += [str(i) for i in range(len(names), n_out)]
    loss = F.cross_entropy(logits, labels, reduction="none")
    probs = logits.softmax(dim=1)
    return Evaluation(labels.numpy(), logits.argmax(1).numpy(), probs.numpy(), loss.numpy(), names[:n_out],
                      name=name)


def _check_labels(labels: torch.Tensor, n_out: int, name: str) -> None:
    name = name or "data"
    if labels.numel() == 0:
        raise DataError(f"The data {name!r} is empty: nothing to evaluate. Pass a data set with examples.")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= n_out:
        raise DataError(f"The labels of {name!r} lie in [{lo}, {hi}] but the model has {n_out} outputs. "
                        f"Evaluate with a model whose head has at least {hi + 1} outputs.")


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _batches(data: Any, batch_size: int, device: torch.device) -> Iterator[tuple[Any, torch.Tensor]]:
    if hasattr(data, "loader"):
        yield from data.loader(batch_size, shuffle=False, device=device)
    elif hasattr(data, "get_batch"):
        for start in range(0, len(data), batch_size):
            x, y = data.get_batch(torch.arange(start, min(start + batch_size, len(data))))
            yield _to(x, device), _to(y, device)
    elif isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        x_all, y_all = data
        for start in range(0, len(x_all), batch_size):
            stop = start + batch_size
            yield _to(x_all[start:stop], device), _to(torch.as_tensor(y_all[start:stop]), device)
    elif isinstance(data, Iterable):
        for x, y in data:
            yield _to(x, device), _to(torch.as_tensor(y), device)
    else:
        raise param_error("data", "evaluate", "a data set, a pair (x, y) of tensors or an iterable of (x, y) "
                          "batches", data)


def _to(x: Any, device: torch.device) -> Any:
    if isinstance(x, dict):
        return {k: _to(v, device) for k, v in x.items()}
    return x.to(device, non_blocking=True) if isinstance(x, torch.Tensor) else x


def _read_through_model(model: nn.Module, data: Any) -> Any:
    # a data set without a transform is read through the model's, as training reads it
    if (getattr(data, "transform", "absent") is None and getattr(model, "transforms", None) is not None
            and hasattr(data, "with_transform")):
        return data.with_transform(model)
    return data


def evaluate(model: nn.Module, data: Any, *, batch_size: int = 256,
             device: str | torch.device | None = None) -> Evaluation:
    """Run ``model`` over ``data`` once and compute the metrics.

    The model runs in eval mode without gradients (mixed precision on CUDA); its training mode
    is restored afterwards. A data set without a transform is read through the model's
    ``transforms``.

    Args:
        model: a classifier: ``model(x)`` gives logits ``(N, C)``.
        data: a data set (``loader``/``get_batch``, ``targets``), a pair ``(x, y)`` of tensors, or
            an iterable of ``(x, y)`` batches.
        batch_size: examples per forward pass.
        device: where to run; ``None`` keeps the model where it is (``"auto"`` picks with
            :func:`~tlworkbench.config.get_device`).

    Returns:
        The :class:`Evaluation`.

    Raises:
        DataError: the data is empty, or has labels outside the model's outputs.
        InvalidParameterError: ``batch_size`` is not a positive int, or ``data`` is of no kind
            listed above.

    Example:
        >>> ev = evaluate(model, test)              # doctest: +SKIP
        >>> ev.accuracy, ev.per_class, ev.worst(5)  # doctest: +SKIP
    """
    data = _read_through_model(model, data)
    name = str(getattr(data, "name", ""))
    logits, labels = _predict(model, data, batch_size=batch_size, device=device, name=name, func="evaluate")
    classes = getattr(data, "classes", None) or getattr(model, "classes", None)
    return evaluation_from_logits(logits, labels, classes=classes, name=name)


def _predict(model: nn.Module, data: Any, *, batch_size: int, device: str | torch.device | None, name: str,
             func: str) -> tuple[torch.Tensor, torch.Tensor]:
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    if device is None:
        device = _model_device(model)
    else:
        device = get_device(None if device == "auto" else device)
        model.to(device)
    if hasattr(data, "__len__") and len(data) == 0:
        raise DataError(f"The data {name!r} is empty: nothing to evaluate. Pass a data set with examples.")
    # channels-last batches make convolutions faster on CPUs and GPUs alike
    channels_last = any(isinstance(m, nn.Conv2d) for m in model.modules())
    amp = use_amp(device)
    was_training = model.training
    model.eval()
    logits, labels = [], []
    try:
        with torch.no_grad():
            for x, y in _batches(data, batch_size, device):
                if channels_last and isinstance(x, torch.Tensor) and x.ndim == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, enabled=amp):
                    out = model(x)
                logits.append(out.float().cpu())
                labels.append(y.cpu())
    finally:
        model.train(was_training)
    if not logits:
        raise DataError(f"The data {name or 'given'!r} is empty: nothing to evaluate. Pass a data set with examples.")
    return torch.cat(logits), torch.cat(labels)


def evaluate_features(head: nn.Module, features: torch.Tensor, labels: torch.Tensor, *,
                      classes: Sequence[str] | None = None, batch_size: int = 4096,
                      device: str | torch.device | None = None, name: str = "features") -> Evaluation:
    """Evaluate a head on precomputed features (from :func:`~tlworkbench.features.extract_features`).

    Args:
        head: maps features ``(N, D)`` to logits (a model's ``.head``).
        features: ``(N, D)`` float tensor.
        labels: ``(N,)`` int tensor.
        classes: class names (default: ``"0"``, ``"1"``...).
        batch_size: rows per forward pass.
        device: where to run; ``None`` keeps the head where it is.
        name: what the evaluation is called in its summary.

    Raises:
        DataError: no rows, labels outside the head's outputs, or features and labels of
            different lengths.
    """
    labels = torch.as_tensor(labels)
    if len(features) != len(labels):
        raise DataError(f"{len(features)} feature rows but {len(labels)} labels. Pass the labels that "
                        "extract_features returned with the features.")
    logits, y = _predict(head, (features, labels), batch_size=batch_size, device=device, name=name,
                         func="evaluate_features")
    return evaluation_from_logits(logits, y, classes=classes, name=name)
