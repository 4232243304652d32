"""Backbone features of every example, computed in eval mode and kept in the feature cache."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from .._validate import check_int, check_optional
from ..config import get_device, resolve_progress, use_amp
from .cache import FeatureCache, _resolve_cache, fingerprint_model
from .checks import prepare_data

__all__ = ["extract_features", "to_model_input", "inference_batch_size"]


def _has_conv(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def to_model_input(x: Any, *, channels_last: bool) -> Any:
    """Channels-last image batches (faster convolutions on CPUs and tensor cores alike)."""
    if channels_last and isinstance(x, torch.Tensor) and x.ndim == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def inference_batch_size(device: str | torch.device) -> int:
    """Examples per forward pass without gradients: 256 on CUDA, 64 elsewhere.

    On CPUs, 64 images at a time ran faster than 256 here (EfficientNet-Lite0, 64 px: the
    activations of a smaller batch stay in cache); GPUs want larger batches.
    """
    return 256 if torch.device(device).type == "cuda" else 64


def extract_features(model: nn.Module, dataset: Any, *, depth: str | None = None, batch_size: int | None = None,
                     device: str | torch.device | None = None, cache: bool | FeatureCache | None = True,
                     cache_dir: str | os.PathLike | None = None,
                     progress: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Backbone features of every example, in order, computed once per model, data and depth.

    The backbone runs in eval mode without gradients (mixed precision on CUDA); the model's
    training mode is restored afterwards. A data set without a transform is read through the
    model's transforms.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel` (anything with ``.features(x, depth)``).
        dataset: an image or text data set.
        depth: stop after this group (``None``: the full backbone, pooled).
        batch_size: examples per forward pass (default: :func:`inference_batch_size`).
        device: where the backbone runs (default: :func:`~tlworkbench.config.get_device`); the
            model is moved there.
        cache: ``True`` (the process-wide :func:`default_cache`), ``False`` (compute, keep
            nothing) or a :class:`FeatureCache`.
        cache_dir: also keep the features on disk in this folder (default: ``TLW_FEATURE_CACHE``
            when set).
        progress: show a progress bar (``None``: in Jupyter only).

    Returns:
        ``(features, labels)``: float32 ``(N, D)`` and int64 ``(N,)`` tensors on the CPU, shared
        with the cache (do not modify them in place).

    Raises:
        DataError: the data set is empty or does not fit the model (see :func:`check_data`).
        InvalidParameterError: ``batch_size`` is not a positive int, or ``cache`` is not a cache.

    Example:
        >>> feats, labels = extract_features(model, train)      # doctest: +SKIP
    """
    batch_size = check_optional(batch_size, check_int, "batch_size", "extract_features", minimum=1)
    progress = resolve_progress(progress)
    dataset = prepare_data(model, dataset)
    store = _resolve_cache(cache)
    weights = fingerprint_model(model) if store is not None else None
    key = store.key(model, dataset, depth=depth, weights=weights) if store is not None else None
    if store is not None:
        found = store.get(key, directory=cache_dir)
        if found is not None:
            return found
        store.misses += 1
    device = get_device(device)
    batch_size = batch_size or inference_batch_size(device)
    model.to(device)
    channels_last = _has_conv(model)
    amp = use_amp(device)
    was_training = model.training
    model.eval()
    chunks: list[torch.Tensor] = []
    from tqdm.auto import tqdm

    loader = dataset.loader(batch_size, shuffle=False, device=device)
    try:
        with torch.no_grad():
            for x, _ in tqdm(loader, desc=f"features {getattr(dataset, 'name', '')}", leave=False,
                             disable=not progress):
                x = to_model_input(x, channels_last=channels_last)
                with torch.autocast(device.type, enabled=amp):
                    f = model.features(x, depth) if hasattr(model, "features") else model(x)
                chunks.append(f.float().cpu())
    finally:
        model.train(was_training)
    features = torch.cat(chunks)
    labels = torch.as_tensor(dataset.targets).clone()
    if store is not None:
        return store.put(key, features, labels, directory=cache_dir, model=model, weights=weights)
    return features, labels
