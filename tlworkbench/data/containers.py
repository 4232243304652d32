"""In-memory data sets: images as one uint8 tensor, texts as a list, labels as int64.

Every image set is held in memory as one uint8 tensor ``(N, C, H, W)``: the sets are small enough,
and indexing a tensor is what keeps the loader far ahead of the model on a CPU. Images are
resized to a model's input size once per data set object (the resized pixels are shared by every
view of the set), then normalised batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._validate import param_error
from ..errors import DataError
from ..zoo.transforms import ImageTransform
from .loader import BatchLoader

__all__ = ["ImageDataset", "TextDataset"]

# Images are resized in chunks so that the float intermediate stays small for big sets.
RESIZE_CHUNK = 2048


def _labels(targets: Any, n: int, classes: Sequence[str], name: str, what: str) -> torch.Tensor:
    """``targets`` as int64, checked against the number of examples and of classes."""
    targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    if len(targets) != n:
        raise DataError(f"{n} {what} but {len(targets)} targets in {name!r}.")
    if len(targets) and (targets.min() < 0 or targets.max() >= len(classes)):
        raise DataError(f"Labels of {name!r} must lie in [0, {len(classes) - 1}]; "
                        f"got {int(targets.min())}..{int(targets.max())}.")
    return targets


class _Labelled(torch.utils.data.Dataset):
    """What image and text sets share: classes, counts and a loader."""

    targets: torch.Tensor
    classes: list[str]

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.classes)

    def loader(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
               device: str | torch.device | None = "cpu", drop_last: bool = False) -> BatchLoader:
        """A :class:`~tlworkbench.data.loader.BatchLoader` over this data set."""
        return BatchLoader(self, batch_size, shuffle=shuffle, seed=seed, device=device, drop_last=drop_last)

    def class_counts(self) -> pd.Series:
        """Examples per class name."""
        counts = torch.bincount(self.targets, minlength=len(self.classes)).numpy()
        return pd.Series(counts, index=self.classes, name="count")


def _resize_all(transform: ImageTransform, images: torch.Tensor) -> torch.Tensor:
    """``transform.resize`` over a whole set, in chunks (the float intermediate stays small)."""
    n, c, h, w = images.shape
    if c == transform.channels and (h, w) == (transform.size, transform.size):
        return images
    out = torch.empty((n, transform.channels, transform.size, transform.size), dtype=torch.uint8)
    for start in range(0, n, RESIZE_CHUNK):
        out[start:start + RESIZE_CHUNK] = transform.resize(images[start:start + RESIZE_CHUNK])
    return out


class ImageDataset(_Labelled):
    """Images and labels held in memory.

    Attributes:
        images: uint8 tensor ``(N, C, H, W)``.
        targets: int64 tensor ``(N,)``.
        classes: class names, index = label.
        name: the data set's name (with its split).
        domain: the domain the images come from (``"mnist"``, ``"fonts"``...).
        transform: what ``__getitem__`` and batches apply (``None``: float images in [0, 1]).

    Raises:
        DataError: images that are not a uint8 ``(N, C, H, W)`` tensor, or labels that do not
            match them or the classes.

    Example:
        >>> ds = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), [0, 1, 0, 1], ["a", "b"])
        >>> ds.with_transform(ImageTransform(size=64, channels=3))[0][0].shape
        torch.Size([3, 64, 64])
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor | np.ndarray | Sequence[int],
                 classes: Sequence[str], *, name: str = "images", domain: str | None = None,
                 transform: ImageTransform | None = None) -> None:
        images = torch.as_tensor(images)
        if images.ndim == 3:
            images = images.unsqueeze(1)
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise DataError(f"images must be a uint8 tensor (N, C, H, W). Got {images.dtype} {tuple(images.shape)}.")
        self.images = images
        self.targets = _labels(targets, len(images), classes, name, "images")
        self.classes = list(classes)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform
        # resized pixels per (size, channels), and copies kept on a device: shared between views
        self._resized: dict[tuple[int, int], torch.Tensor] = {}
        self._on_device: dict[tuple[int, int, str], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return (f"ImageDataset({self.name!r}, n={len(self)}, classes={len(self.classes)}, "
                f"image={c}x{h}x{w}, domain={self.domain!r})")

    @property
    def modality(self) -> str:
        """``"image"``."""
        return "image"

    def all_pixels(self) -> torch.Tensor:
        """Every image at the transform's size and channels, uint8 (resized once, then cached)."""
        t = self.transform
        if t is None:
            return self.images
        key = (t.size, t.channels)
        if key not in self._resized:
            self._resized[key] = _resize_all(t, self.images)
        return self._resized[key]

    def finish(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 pixels (on any device) -> what the model reads."""
        if self.transform is not None:
            return self.transform.normalize(pixels)
        return pixels.float().div_(255.0)

    def get_pixels(self, idx: torch.Tensor) -> torch.Tensor:
        """The uint8 images at ``idx``, at the transform's size and channels (not normalised)."""
        return self.all_pixels()[idx]

    def get_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The transformed images and labels at ``idx``."""
        return self.finish(self.get_pixels(idx)), self.targets[idx]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = self.get_batch(torch.tensor([int(i)]))
        return x[0], int(y[0])

    def with_transform(self, transform: Any) -> ImageDataset:
        """The same images read through ``transform``.

        Args:
            transform: an :class:`ImageTransform`, a model that has ``.transforms`` (its size,
                channels and normalisation are used: grayscale becomes 3 channels for a model
                that reads 3), or ``None`` for float images in [0, 1].

        Returns:
            A view sharing the images and the cache of resized pixels (computed once).

        Raises:
            InvalidParameterError: ``transform`` is neither an ImageTransform nor an image model.
        """
        transform = getattr(transform, "transforms", transform)
        if transform is not None and not isinstance(transform, ImageTransform):
            raise param_error("transform", "with_transform", "an ImageTransform or an image model (with "
                              ".transforms)", type(transform).__name__, hint="A text model cannot read an image set.")
        out = ImageDataset(self.images, self.targets, self.classes, name=self.name, domain=self.domain,
                           transform=transform)
        out._resized = self._resized
        out._on_device = self._on_device
        return out

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor, *, name: str | None = None) -> ImageDataset:
        """The examples at ``indices`` (same classes, domain and transform)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        out = ImageDataset(self.images[idx], self.targets[idx], self.classes, name=name or self.name,
                           domain=self.domain, transform=self.transform)
        for key, px in self._resized.items():
            out._resized[key] = px[idx]
        return out


class TextDataset(_Labelled):
    """Texts and labels; batches are tokenised by ``transform`` (a model's TextTransform).

    Raises:
        DataError: labels that do not match the texts or the classes.
    """

    def __init__(self, texts: Sequence[str], targets: Sequence[int] | np.ndarray, classes: Sequence[str], *,
                 name: str = "texts", domain: str | None = None, transform: Callable | None = None) -> None:
        self.texts = [str(t) for t in texts]
        self.targets = _labels(targets, len(self.texts), classes, name, "texts")
        self.classes = list(classes)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"TextDataset({self.name!r}, n={len(self)}, classes={len(self.classes)})"

    @property
    def modality(self) -> str:
        """``"text"``."""
        return "text"

    def get_batch(self, idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """The texts at ``idx`` (tokenised when there is a transform) and their labels."""
        texts = [self.texts[int(i)] for i in idx]
        x = self.transform(texts) if self.transform is not None else texts
        return x, self.targets[idx]

    def __getitem__(self, i: int) -> tuple[str, int]:
        return self.texts[i], int(self.targets[i])

    def with_transform(self, transform: Any) -> TextDataset:
        """The same texts tokenised by ``transform`` (a TextTransform or a text model).

        Raises:
            InvalidParameterError: ``transform`` is an image transform (an image model).
        """
        transform = getattr(transform, "transforms", transform)
        if isinstance(transform, ImageTransform):
            raise param_error("transform", "with_transform", "a text model or TextTransform for a text set",
                              transform, hint="Pass a text model such as load_model('minilm').")
        return TextDataset(self.texts, self.targets, self.classes, name=self.name, domain=self.domain,
                           transform=transform)

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor, *, name: str | None = None) -> TextDataset:
        """The examples at ``indices`` (same classes, domain and transform)."""
        idx = np.asarray(indices, dtype=int)
        return TextDataset([self.texts[i] for i in idx], self.targets[torch.as_tensor(idx)], self.classes,
                           name=name or self.name, domain=self.domain, transform=self.transform)
