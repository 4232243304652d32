"""A small convolutional autoencoder trained on unlabelled images, its learning rate and epoch
chosen on the reconstruction loss of held-out images, and the codes it gives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._validate import check_fraction, check_int, check_sequence, param_error
from ..config import resolve_progress
from ..errors import DataError
from ..training import LR_GRID, choose_on_validation
from ._arrays import _Shown

__all__ = ["ConvAutoencoder", "AutoencoderFit", "train_autoencoder", "encode_images"]


class ConvAutoencoder(nn.Module):
    """A small convolutional autoencoder for one-channel images whose sides are multiples of 4.

    Two strided convolutions (16 and 32 channels) and a linear layer encode an image into
    ``code_size`` numbers; the mirror image decodes them into logits of the pixels.

    Example:
        >>> model = ConvAutoencoder(code_size=8)
        >>> model.encode(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 8])
    """

    def __init__(self, code_size: int = 32, *, image_size: int = 28) -> None:
        super().__init__()
        code_size = check_int(code_size, "code_size", "ConvAutoencoder", minimum=1)
        image_size = check_int(image_size, "image_size", "ConvAutoencoder", minimum=4)
        if image_size % 4:
            raise param_error("image_size", "ConvAutoencoder", "a multiple of 4", image_size)
        s = image_size // 4
        self.code_size, self.image_size = code_size, image_size
        self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                                     nn.Flatten(), nn.Linear(32 * s * s, code_size))
        self.decoder = nn.Sequential(nn.Linear(code_size, 32 * s * s), nn.ReLU(), nn.Unflatten(1, (32, s, s)),
                                     nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of a float batch (N, 1, H, W) in [0, 1]."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel logits of the reconstruction of ``x``."""
        return self.decoder(self.encoder(x))


def _as_unit_images(images: Any, func: str, image_size: int | None = None, min_images: int = 2) -> torch.Tensor:
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != x.shape[3] or x.shape[2] % 4 or len(x) < min_images:
        raise param_error("images", func, f"a batch (N >= {min_images}, 1, H, H) of one-channel square images, "
                          "H a multiple of 4",
                          _Shown(f"a tensor of shape {tuple(x.shape)}"))
    if image_size is not None and x.shape[2] != image_size:
        raise param_error("images", func, f"images of {image_size} px, as the model was built for",
                          _Shown(f"{x.shape[2]} px images"))
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


@dataclass
class AutoencoderFit:
    """Outcome of :func:`train_autoencoder`.

    Attributes:
        model: the chosen autoencoder (weights of its best validation epoch), in eval mode.
        lr: the learning rate chosen on validation.
        val_loss: its validation reconstruction loss (binary cross-entropy per pixel).
        table: one row per learning rate: ``lr``, ``val_score`` (the negated loss), ``chosen``.
        n_train, n_val: images trained on and held out.
    """

    model: ConvAutoencoder
    lr: float
    val_loss: float
    table: pd.DataFrame
    n_train: int
    n_val: int


def train_autoencoder(images: Any, *, lr_grid: Sequence[float] = LR_GRID, epochs: int = 15, batch_size: int = 64,
                      code_size: int = 32, val_fraction: float = 0.2, seed: int = 0,
                      progress: bool | None = None) -> AutoencoderFit:
    """Train a :class:`ConvAutoencoder` on unlabelled images, choosing lr and epoch on held-out ones.

    A random ``val_fraction`` of the images is held out. For each learning rate (Adam) the model
    trains ``epochs`` epochs and keeps the weights of its lowest validation loss; the learning
    rate with the lowest of those is chosen (:func:`~tlworkbench.training.choose_on_validation`).

    Args:
        images: (N, 1, H, H) uint8 (0-255) or float (0-1) images, H a multiple of 4.
        lr_grid: learning rates to choose from.
        epochs: epochs per learning rate (>= 1).
        batch_size: images per step (>= 1).
        code_size: numbers per code (>= 1).
        val_fraction: share held out, in (0, 1).
        seed: seed of the split, the initialisation and the batches.
        progress: a progress bar over the grid (``None``: in Jupyter only).

    Returns:
        An :class:`AutoencoderFit`.

    Raises:
        InvalidParameterError: bad images or settings.

    Example:
        >>> fit = train_autoencoder(torch.rand(40, 1, 8, 8), lr_grid=(1e-3,), epochs=1, code_size=4)
        >>> fit.model.encode(torch.rand(3, 1, 8, 8)).shape
        torch.Size([3, 4])
    """
    func = "train_autoencoder"
    x = _as_unit_images(images, func)
    grid = check_sequence(lr_grid, "lr_grid", func)
    epochs = check_int(epochs, "epochs", func, minimum=1)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    code_size = check_int(code_size, "code_size", func, minimum=1)
    val_fraction = check_fraction(val_fraction, "val_fraction", func)
    seed = check_int(seed, "seed", func, minimum=0)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(round(val_fraction * len(x))))
    val, train = x[order[:n_val]], x[order[n_val:]]
    if not len(train):
        raise DataError(f"{func} has no training images left after holding out {n_val}; give more images.")
    loss_fn = nn.functional.binary_cross_entropy_with_logits

    def run(lr: float) -> tuple[float, tuple[ConvAutoencoder, float]]:
        torch.manual_seed(seed)
        model = ConvAutoencoder(code_size, image_size=x.shape[2])
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        best, best_state = float("inf"), None
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(len(train), generator=gen)
            for i in range(0, len(train), batch_size):
                batch = train[perm[i:i + batch_size]]
                loss = loss_fn(model(batch), batch)
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(model(val), val))
            if val_loss < best:  # a NaN loss never replaces a finite one
                best, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
        if best_state is None:
            return float("nan"), (model.eval(), best)
        model.load_state_dict(best_state)
        return -best, (model.eval(), best)

    choice = choose_on_validation(run, [float(v) for v in grid], name="lr", progress=resolve_progress(progress))
    model, loss = choice.output
    return AutoencoderFit(model, float(choice.best), float(loss), choice.table, len(train), len(val))


@torch.no_grad()
def encode_images(model: ConvAutoencoder, images: Any, *, batch_size: int = 512) -> np.ndarray:
    """Codes of ``images`` ((N, 1, H, H), uint8 or float in [0, 1]) as an (N, code_size) array.

    Example:
        >>> encode_images(ConvAutoencoder(code_size=4), torch.zeros(2, 1, 28, 28)).shape
        (2, 4)
    """
    func = "encode_images"
    if not isinstance(model, ConvAutoencoder):
        raise param_error("model", func, "a ConvAutoencoder", type(model).__name__)
    x = _as_unit_images(images, func, model.image_size, min_images=1)
    batch_size = check_int(batch_size, "batch_size", func, minimum=1)
    model.eval()
    return torch.cat([model.encode(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()
